import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "../common/clock.js";
import { DEFAULT_POLICY_ID, durationMs, enforcedRestrictions, restrictionsFrom, type PolicyDocument, type PolicyShorthand } from "./appPolicy.js";

/**
 * The one directory behind the token endpoint, the authorize page and Graph: tenants, app
 * registrations with their password credentials, service principals, consent grants, the tenant
 * app management policy and the access tokens this emulator issued.
 */
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const GRAPH_RESOURCE = "https://graph.microsoft.com";
/**
 * Microsoft Graph's resource identifier in each cloud (national cloud deployments page:
 * https://learn.microsoft.com/graph/deployments). A token is issued for the Graph of the cloud the
 * authority belongs to; asking another cloud's Graph fails with AADSTS500011.
 */
export const GRAPH_CLOUD_RESOURCES: readonly string[] = [
  "https://graph.microsoft.com",
  "https://graph.microsoft.us",
  "https://dod-graph.microsoft.us",
  "https://microsoftgraph.chinacloudapi.cn",
];
export const DEFAULT_REQUIRED_SCOPES = ["openid", "profile", "email", "User.Read"];
const YEAR_MS = 365 * 86_400_000;
const TOKEN_LIFETIME_S = 3599;

/** Real IDs of Microsoft Graph delegated permissions (published in the Graph permissions reference). */
const GRAPH_SCOPE_IDS: Record<string, string> = {
  openid: "37f7f235-527c-4136-accd-4a02d197296e",
  profile: "14dad69e-099b-42c9-810b-d002981feec1",
  email: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
  offline_access: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
  "user.read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
};

export interface Tenant {
  tenantId: string;
  customDomain?: string;
  displayName: string;
}

export interface StoredPassword {
  keyId: string;
  displayName: string | null;
  hint: string;
  startDateTime: string;
  endDateTime: string;
  customKeyIdentifier: null;
  /** Held only inside the emulator; Graph reads return null as the real service does. */
  secretText: string;
  /** Emulator-clock time from which the token endpoint accepts it. */
  replicatedAtMs: number;
}

export interface StoredApplication {
  tenantId: string;
  id: string;
  appId: string;
  displayName: string;
  signInAudience: string;
  createdDateTime: string;
  web: {
    redirectUris: string[];
    implicitGrantSettings: { enableIdTokenIssuance: boolean; enableAccessTokenIssuance: boolean };
  };
  isFallbackPublicClient: boolean | null;
  requiredResourceAccess: { resourceAppId: string; resourceAccess: { id: string; type: "Scope" | "Role" }[] }[];
  passwordCredentials: StoredPassword[];
  /** The appManagementPolicy assigned to the app (at most one), by ID. */
  appManagementPolicyId?: string;
}

export interface SeedAssignment {
  principalType?: "User" | "Group" | "ServicePrincipal";
  principalId?: string;
  principalDisplayName?: string;
}

export interface StoredAssignment {
  id: string;
  appRoleId: string;
  createdDateTime: string;
  principalType: "User" | "Group" | "ServicePrincipal";
  principalId: string;
  principalDisplayName: string;
  resourceId: string;
  resourceDisplayName: string;
}

export interface StoredServicePrincipal {
  tenantId: string;
  id: string;
  appId: string;
  displayName: string;
  appRoleAssignmentRequired: boolean;
  assignments: StoredAssignment[];
}

export interface StoredGrant {
  id: string;
  tenantId: string;
  clientId: string;
  consentType: "AllPrincipals" | "Principal";
  principalId: string | null;
  resourceId: string;
  scope: string;
}

/**
 * Graph refuses a write to an app that arrives while an earlier one is still being applied:
 * 400 Request_BadRequest "Error due to concurrent requests being made to the tenant. Please wait
 * briefly and retry." (as Infisical's Azure client secret rotation handles it; 409
 * Directory_ConcurrencyViolation is the other reported form).
 */
export interface ConcurrentWriteFault {
  /** A write (addPassword/removePassword) within this many wall-clock ms of the last accepted write to the same app is refused. */
  windowMs: number;
  /** Pessimistic variant for tests: the refused addPassword is applied anyway (the client must not create a second). */
  applyRefusedAddPassword?: boolean;
}

export interface IssuedToken {
  appId: string;
  tenantId: string;
  audience: string;
  /** Wall-clock expiry: SDK token caches run on real time, so an advanced test clock must not expire them. */
  expiresAtWallMs: number;
}

export interface SeedApplicationInput {
  tenantId: string;
  appId?: string;
  objectId?: string;
  displayName: string;
  redirectUris?: string[];
  enableIdTokenIssuance?: boolean;
  isFallbackPublicClient?: boolean | null;
  requiredScopes?: string[];
  signInAudience?: string;
  /** Default: now (emulator clock). Decides which policy restrictions apply (restrictForAppsCreatedAfterDateTime). */
  createdDateTime?: string;
}

export interface SeedPasswordInput {
  displayName: string | null;
  endDateTime: string;
  startDateTime?: string;
  secretText?: string;
  /** false: not accepted at the token endpoint until the replication delay has passed. */
  replicated?: boolean;
}

export interface SeedServicePrincipalInput {
  appRoleAssignmentRequired?: boolean;
  assignments?: SeedAssignment[];
}

/** What addPassword and seedPassword hand back: the Graph shape plus the one-time secretText. */
export interface CreatedPassword {
  customKeyIdentifier: null;
  displayName: string | null;
  endDateTime: string;
  hint: string;
  keyId: string;
  secretText: string;
  startDateTime: string;
}

export class EntraEmulatorError extends Error {
  constructor(
    readonly kind: "policyBlocked" | "policyLifetime" | "badRequest" | "notFound" | "concurrentRequests",
    message: string,
  ) {
    super(message);
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.~-";

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** A secret shaped like the ones Entra issues today: 40 chars, a 3-char hint, then the `8Q~` marker. */
export function generateSecretText(): string {
  const bytes = randomBytes(37);
  let out = "";
  for (let i = 0; i < 37; i++) out += SECRET_ALPHABET[bytes[i]! % SECRET_ALPHABET.length];
  return `${out.slice(0, 3)}8Q~${out.slice(3, 37)}`;
}

function scopeId(scope: string): string {
  const known = GRAPH_SCOPE_IDS[scope.toLowerCase()];
  if (known) return known;
  // Stable made-up ID for scopes we have no published ID for.
  const h = createHash("sha256").update(`graph-scope:${scope.toLowerCase()}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class EntraState {
  private readonly tenants = new Map<string, Tenant>();
  private readonly applications = new Map<string, StoredApplication>();
  private readonly servicePrincipals = new Map<string, StoredServicePrincipal>();
  private readonly grants: StoredGrant[] = [];
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly secretsEverIssued: string[] = [];
  /** The tenant default (tenantAppManagementPolicy); disabled and empty until a test sets it. */
  defaultPolicy: PolicyDocument = { id: DEFAULT_POLICY_ID, displayName: "Default app management tenant policy", description: "", isEnabled: false, passwordCredentials: [] };
  private readonly appPolicies = new Map<string, PolicyDocument>();
  private concurrentWrites: ConcurrentWriteFault | undefined;
  private readonly lastWriteWallMs = new Map<string, number>();

  /** Turns the concurrent-write refusal on (writes made before count for nothing) or off. */
  setConcurrentWrites(fault: ConcurrentWriteFault | undefined): void {
    this.concurrentWrites = fault;
    this.lastWriteWallMs.clear();
  }
  replicationDelayMs: number;
  /** The Graph resource of the cloud this directory lives in (`https://graph.microsoft.us` for US Government). */
  graphResource = GRAPH_RESOURCE;

  constructor(
    readonly clock: Clock,
    replicationDelayMs = 0,
  ) {
    this.replicationDelayMs = replicationDelayMs;
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  // ---- tenants -------------------------------------------------------------------------------

  seedTenant(input: { tenantId: string; customDomain?: string; displayName?: string }): Tenant {
    if (!isGuid(input.tenantId)) throw new EntraEmulatorError("badRequest", `tenantId must be a GUID, got '${input.tenantId}'`);
    const tenant: Tenant = {
      tenantId: input.tenantId.toLowerCase(),
      ...(input.customDomain ? { customDomain: input.customDomain.toLowerCase() } : {}),
      displayName: input.displayName ?? input.customDomain ?? "Default Directory",
    };
    this.tenants.set(tenant.tenantId, tenant);
    // Every tenant has Microsoft Graph's own service principal: consent grants point at it.
    if (!this.findServicePrincipal(tenant.tenantId, GRAPH_APP_ID)) {
      this.addServicePrincipal(tenant.tenantId, GRAPH_APP_ID, "Microsoft Graph", {});
    }
    return { ...tenant };
  }

  /** By GUID or by custom domain, case-insensitively. */
  resolveTenant(ref: string): Tenant | undefined {
    const key = ref.toLowerCase();
    const byId = this.tenants.get(key);
    if (byId) return byId;
    for (const t of this.tenants.values()) if (t.customDomain === key) return t;
    return undefined;
  }

  private requireTenant(ref: string): Tenant {
    const t = this.resolveTenant(ref);
    if (!t) throw new EntraEmulatorError("notFound", `tenant '${ref}' is not seeded; call seedTenant first`);
    return t;
  }

  // ---- applications --------------------------------------------------------------------------

  seedApplication(input: SeedApplicationInput): StoredApplication {
    const tenant = this.requireTenant(input.tenantId);
    const scopes = input.requiredScopes ?? DEFAULT_REQUIRED_SCOPES;
    const app: StoredApplication = {
      tenantId: tenant.tenantId,
      id: (input.objectId ?? randomUUID()).toLowerCase(),
      appId: (input.appId ?? randomUUID()).toLowerCase(),
      displayName: input.displayName,
      signInAudience: input.signInAudience ?? "AzureADMyOrg",
      createdDateTime: input.createdDateTime ? new Date(input.createdDateTime).toISOString() : this.clock.now().toISOString(),
      web: {
        redirectUris: [...(input.redirectUris ?? [])],
        implicitGrantSettings: { enableIdTokenIssuance: input.enableIdTokenIssuance ?? false, enableAccessTokenIssuance: false },
      },
      isFallbackPublicClient: input.isFallbackPublicClient ?? null,
      requiredResourceAccess:
        scopes.length === 0
          ? []
          : [{ resourceAppId: GRAPH_APP_ID, resourceAccess: scopes.map((s) => ({ id: scopeId(s), type: "Scope" as const })) }],
      passwordCredentials: [],
    };
    if (this.applications.has(app.id)) throw new EntraEmulatorError("badRequest", `an application with object ID ${app.id} exists`);
    if (this.findApplication(tenant.tenantId, app.appId)) {
      throw new EntraEmulatorError("badRequest", `an application with appId ${app.appId} exists in tenant ${tenant.tenantId}`);
    }
    this.applications.set(app.id, app);
    return app;
  }

  getApplication(objectId: string): StoredApplication | undefined {
    return this.applications.get(objectId.toLowerCase());
  }

  findApplication(tenantId: string, appId: string): StoredApplication | undefined {
    const a = appId.toLowerCase();
    for (const app of this.applications.values()) if (app.tenantId === tenantId && app.appId === a) return app;
    return undefined;
  }

  /** For `/common` and `/organizations`, where the tenant is not known from the URL. */
  findApplicationAnyTenant(appId: string): StoredApplication | undefined {
    const a = appId.toLowerCase();
    for (const app of this.applications.values()) if (app.appId === a) return app;
    return undefined;
  }

  listApplications(tenantId: string): StoredApplication[] {
    return [...this.applications.values()].filter((a) => a.tenantId === tenantId);
  }

  private requireApplication(objectId: string): StoredApplication {
    const app = this.getApplication(objectId);
    if (!app) throw new EntraEmulatorError("notFound", `application ${objectId} does not exist`);
    return app;
  }

  // ---- password credentials ------------------------------------------------------------------

  /** A secret made by hand (portal, CLI): exempt from the tenant policy, replicated at once unless told otherwise. */
  seedPassword(objectId: string, input: SeedPasswordInput): CreatedPassword {
    const app = this.requireApplication(objectId);
    const start = input.startDateTime ?? this.clock.now().toISOString();
    return this.storePassword(app, {
      displayName: input.displayName,
      startDateTime: start,
      endDateTime: input.endDateTime,
      secretText: input.secretText ?? generateSecretText(),
      replicatedAtMs: input.replicated === false ? this.nowMs() + this.replicationDelayMs : Number.NEGATIVE_INFINITY,
    });
  }

  /** Graph `addPassword`: policy-checked, and only accepted by the token endpoint after replication. */
  addPassword(
    objectId: string,
    input: { displayName?: string | null; startDateTime?: string; endDateTime?: string },
  ): CreatedPassword {
    const app = this.requireApplication(objectId);
    const refused = this.refuseConcurrentWrite(app);
    const restrictions = enforcedRestrictions(app, this.defaultPolicy, this.appPolicyOf(app));
    if (restrictions.some((r) => r.restrictionType === "passwordAddition")) {
      throw new EntraEmulatorError("policyBlocked", "Credential type not allowed as per assigned policy.");
    }
    const now = this.nowMs();
    const startMs = input.startDateTime ? Date.parse(input.startDateTime) : now;
    const endMs = input.endDateTime ? Date.parse(input.endDateTime) : startMs + 2 * YEAR_MS;
    if (Number.isNaN(startMs) || Number.isNaN(endMs)) {
      throw new EntraEmulatorError("badRequest", "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.");
    }
    if (endMs <= startMs) {
      throw new EntraEmulatorError("badRequest", "Key credential end date must be later than its start date.");
    }
    for (const r of restrictions.filter((x) => x.restrictionType === "passwordLifetime")) {
      const cap = r.maxLifetime ? durationMs(r.maxLifetime) : undefined;
      if (cap !== undefined && endMs - startMs > cap) {
        throw new EntraEmulatorError("policyLifetime", "Credential lifetime exceeds the max value allowed as per assigned policy.");
      }
    }
    if (refused && !this.concurrentWrites?.applyRefusedAddPassword) throw refused;
    const created = this.storePassword(app, {
      displayName: input.displayName ?? null,
      startDateTime: new Date(startMs).toISOString(),
      endDateTime: new Date(endMs).toISOString(),
      secretText: generateSecretText(),
      replicatedAtMs: now + this.replicationDelayMs,
    });
    if (refused) throw refused;
    this.lastWriteWallMs.set(app.id, Date.now());
    return created;
  }

  /** The concurrent-write refusal for this write, or undefined when it may proceed. */
  private refuseConcurrentWrite(app: StoredApplication): EntraEmulatorError | undefined {
    const window = this.concurrentWrites?.windowMs;
    const last = this.lastWriteWallMs.get(app.id);
    if (window === undefined || last === undefined || Date.now() - last >= window) return undefined;
    return new EntraEmulatorError("concurrentRequests", "Error due to concurrent requests being made to the tenant. Please wait briefly and retry.");
  }

  // ---- app management policies ---------------------------------------------------------------

  /** Replaces the tenant default policy (tenantAppManagementPolicy). */
  setDefaultPolicy(s: PolicyShorthand): PolicyDocument {
    const restrictions = restrictionsFrom(s);
    this.defaultPolicy = { ...this.defaultPolicy, isEnabled: s.isEnabled ?? restrictions.length > 0, passwordCredentials: restrictions };
    return this.defaultPolicy;
  }

  /** Creates an appManagementPolicy and assigns it to the app (replacing any earlier one); null unassigns. */
  assignAppPolicy(objectId: string, s: PolicyShorthand | null): PolicyDocument | undefined {
    const app = this.requireApplication(objectId);
    if (s === null) {
      delete app.appManagementPolicyId;
      return undefined;
    }
    const doc: PolicyDocument = {
      id: randomUUID(),
      displayName: `Credential policy for ${app.displayName}`,
      description: "Assigned by the emulator's seeding API",
      isEnabled: s.isEnabled ?? true,
      passwordCredentials: restrictionsFrom(s),
    };
    this.appPolicies.set(doc.id, doc);
    app.appManagementPolicyId = doc.id;
    return doc;
  }

  appPolicyOf(app: StoredApplication): PolicyDocument | undefined {
    return app.appManagementPolicyId ? this.appPolicies.get(app.appManagementPolicyId) : undefined;
  }

  private storePassword(
    app: StoredApplication,
    p: { displayName: string | null; startDateTime: string; endDateTime: string; secretText: string; replicatedAtMs: number },
  ): CreatedPassword {
    const stored: StoredPassword = {
      keyId: randomUUID(),
      displayName: p.displayName,
      hint: p.secretText.slice(0, 3),
      startDateTime: new Date(p.startDateTime).toISOString(),
      endDateTime: new Date(p.endDateTime).toISOString(),
      customKeyIdentifier: null,
      secretText: p.secretText,
      replicatedAtMs: p.replicatedAtMs,
    };
    app.passwordCredentials.push(stored);
    this.secretsEverIssued.push(p.secretText);
    return {
      customKeyIdentifier: null,
      displayName: stored.displayName,
      endDateTime: stored.endDateTime,
      hint: stored.hint,
      keyId: stored.keyId,
      secretText: stored.secretText,
      startDateTime: stored.startDateTime,
    };
  }

  /** Returns false when the keyId is not on the app. */
  removePassword(objectId: string, keyId: string): boolean {
    const app = this.requireApplication(objectId);
    const refused = this.refuseConcurrentWrite(app);
    if (refused) throw refused;
    const before = app.passwordCredentials.length;
    app.passwordCredentials = app.passwordCredentials.filter((p) => p.keyId !== keyId.toLowerCase());
    if (app.passwordCredentials.length === before) return false;
    this.lastWriteWallMs.set(app.id, Date.now());
    return true;
  }

  /** The outcome the token endpoint reaches for this secret. */
  checkSecret(app: StoredApplication, secret: string): "accepted" | "invalid" | "expired" | "notReplicated" | "notYetValid" {
    const now = this.nowMs();
    const match = app.passwordCredentials.find((p) => p.secretText === secret);
    if (!match) return "invalid";
    if (Date.parse(match.endDateTime) <= now) return "expired";
    if (Date.parse(match.startDateTime) > now) return "notYetValid";
    if (match.replicatedAtMs > now) return "notReplicated";
    return "accepted";
  }

  isSecretAccepted(tenantRef: string, clientId: string, secret: string): boolean {
    const tenant = this.resolveTenant(tenantRef);
    const app = tenant && this.findApplication(tenant.tenantId, clientId);
    return app ? this.checkSecret(app, secret) === "accepted" : false;
  }

  issuedSecrets(): string[] {
    return [...this.secretsEverIssued];
  }

  // ---- service principals, assignments, consent ---------------------------------------------

  seedServicePrincipal(appId: string, input: SeedServicePrincipalInput = {}): StoredServicePrincipal {
    const app = this.findApplicationAnyTenant(appId);
    if (!app) throw new EntraEmulatorError("notFound", `no application with appId ${appId}; seed it first`);
    const existing = this.findServicePrincipal(app.tenantId, app.appId);
    const sp = existing ?? this.addServicePrincipal(app.tenantId, app.appId, app.displayName, {});
    if (input.appRoleAssignmentRequired !== undefined) sp.appRoleAssignmentRequired = input.appRoleAssignmentRequired;
    for (const a of input.assignments ?? []) {
      sp.assignments.push({
        id: randomBytes(24).toString("base64url"),
        appRoleId: "00000000-0000-0000-0000-000000000000",
        createdDateTime: this.clock.now().toISOString(),
        principalType: a.principalType ?? "User",
        principalId: (a.principalId ?? randomUUID()).toLowerCase(),
        principalDisplayName: a.principalDisplayName ?? a.principalId ?? "Test User",
        resourceId: sp.id,
        resourceDisplayName: sp.displayName,
      });
    }
    return sp;
  }

  private addServicePrincipal(
    tenantId: string,
    appId: string,
    displayName: string,
    opts: { appRoleAssignmentRequired?: boolean },
  ): StoredServicePrincipal {
    const sp: StoredServicePrincipal = {
      tenantId,
      id: randomUUID(),
      appId,
      displayName,
      appRoleAssignmentRequired: opts.appRoleAssignmentRequired ?? false,
      assignments: [],
    };
    this.servicePrincipals.set(sp.id, sp);
    return sp;
  }

  findServicePrincipal(tenantId: string, appId: string): StoredServicePrincipal | undefined {
    const a = appId.toLowerCase();
    for (const sp of this.servicePrincipals.values()) if (sp.tenantId === tenantId && sp.appId === a) return sp;
    return undefined;
  }

  getServicePrincipal(id: string): StoredServicePrincipal | undefined {
    return this.servicePrincipals.get(id.toLowerCase());
  }

  listServicePrincipals(tenantId: string): StoredServicePrincipal[] {
    return [...this.servicePrincipals.values()].filter((s) => s.tenantId === tenantId);
  }

  /** Admin consent (AllPrincipals) for delegated Graph scopes; null removes it. Creates the client's service principal if missing. */
  seedConsent(appId: string, scopes: string[] | null): StoredGrant | undefined {
    const app = this.findApplicationAnyTenant(appId);
    if (!app) throw new EntraEmulatorError("notFound", `no application with appId ${appId}; seed it first`);
    const client = this.findServicePrincipal(app.tenantId, app.appId) ?? this.seedServicePrincipal(app.appId);
    const graph = this.findServicePrincipal(app.tenantId, GRAPH_APP_ID)!;
    for (let i = this.grants.length - 1; i >= 0; i--) {
      const g = this.grants[i]!;
      if (g.clientId === client.id && g.resourceId === graph.id && g.consentType === "AllPrincipals") this.grants.splice(i, 1);
    }
    if (scopes === null) return undefined;
    const grant: StoredGrant = {
      id: randomBytes(24).toString("base64url"),
      tenantId: app.tenantId,
      clientId: client.id,
      consentType: "AllPrincipals",
      principalId: null,
      resourceId: graph.id,
      scope: scopes.join(" "),
    };
    this.grants.push(grant);
    return grant;
  }

  listGrants(tenantId: string): StoredGrant[] {
    return this.grants.filter((g) => g.tenantId === tenantId);
  }

  // ---- tokens --------------------------------------------------------------------------------

  issueToken(appId: string, tenantId: string, audience: string): { accessToken: string; expiresIn: number } {
    const accessToken = `emu.${randomBytes(32).toString("base64url")}`;
    this.tokens.set(accessToken, { appId, tenantId, audience, expiresAtWallMs: Date.now() + TOKEN_LIFETIME_S * 1000 });
    return { accessToken, expiresIn: TOKEN_LIFETIME_S };
  }

  validateAccessToken(token: string): { appId: string; tenantId: string; audience: string } | undefined {
    const t = this.tokens.get(token);
    if (!t || t.expiresAtWallMs <= Date.now()) return undefined;
    return { appId: t.appId, tenantId: t.tenantId, audience: t.audience };
  }

  isKnownToken(token: string): boolean {
    return this.tokens.has(token);
  }
}
