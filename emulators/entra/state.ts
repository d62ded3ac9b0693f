import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "../common/clock.js";
import { DEFAULT_POLICY_ID, durationMs, enforcedRestrictions, restrictionsFrom, type PolicyDocument, type PolicyShorthand } from "./appPolicy.js";
import { acceptedAt, NO_REPLICATION_LAG, profileFor, REPLICATED, type ReplicationProfile, type ReplicationSettings } from "./replication.js";
import { TokenSigner, type JwtClaims } from "./signing.js";

/**
 * The one directory behind the token endpoint, the authorize page and Graph: tenants, app
 * registrations with their password credentials, service principals, consent grants, the tenant
 * app management policy and the access tokens this emulator issued.
 */
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const GRAPH_RESOURCE = "https://graph.microsoft.com";
const DEFAULT_REQUIRED_SCOPES = ["openid", "profile", "email", "User.Read"];
/** Azure Key Vault's data-plane resource and its first-party app ID: always known to the token endpoint. */
const KEY_VAULT_RESOURCES: readonly string[] = ["https://vault.azure.net", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"];
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
  /** When the token endpoint starts and settles accepting it (emulator clock). */
  replication: ReplicationProfile;
}

/** A removed credential that replicas may still accept until `acceptedUntilMs` (emulator clock). */
interface LingeringPassword {
  appObjectId: string;
  password: StoredPassword;
  acceptedUntilMs: number;
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
  /** Object IDs of the service principals that own the app (what Application.ReadWrite.OwnedBy is scoped to). */
  owners: string[];
}

interface SeedAssignment {
  principalType?: "User" | "Group" | "ServicePrincipal";
  principalId?: string;
  principalDisplayName?: string;
}

interface StoredAssignment {
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
  /** Microsoft Graph application permissions granted to this principal (admin-consented app roles), e.g. Application.ReadWrite.OwnedBy. */
  graphAppRoles: string[];
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

/** What Graph and the other emulators learn from a valid access token (its claims). */
export interface AccessTokenInfo {
  appId: string;
  tenantId: string;
  audience: string;
  /** The client's service principal object ID (`oid`). */
  objectId: string;
  /** App roles granted to the client on the token's resource (`roles`); empty when none. */
  roles: string[];
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
  /** Client IDs (appId) of apps whose service principals own this app (created if missing). */
  owners?: string[];
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
function generateSecretText(): string {
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
  /** Signs access tokens; its public key is the JWKS behind every discovery document. */
  readonly signer = new TokenSigner();
  private readonly secretsEverIssued: string[] = [];
  /** Removed credentials some replicas still accept (removalLagMs). */
  private lingering: LingeringPassword[] = [];
  /** Creation ordinal of credentials: the flap pattern's deterministic per-credential input. */
  private passwordOrdinal = 0;
  /** Resources (besides Graph, Key Vault and the tenant's own apps) the token endpoint issues tokens for. */
  private readonly extraResources = new Set<string>();
  /** The tenant default (tenantAppManagementPolicy); disabled and empty until a test sets it. */
  defaultPolicy: PolicyDocument = {
    id: DEFAULT_POLICY_ID,
    displayName: "Default app management tenant policy",
    description: "",
    isEnabled: false,
    passwordCredentials: [],
  };
  private readonly appPolicies = new Map<string, PolicyDocument>();
  private concurrentWrites: ConcurrentWriteFault | undefined;
  private readonly lastWriteWallMs = new Map<string, number>();

  /** Turns the concurrent-write refusal on (writes made before count for nothing) or off. */
  setConcurrentWrites(fault: ConcurrentWriteFault | undefined): void {
    this.concurrentWrites = fault;
    this.lastWriteWallMs.clear();
  }
  /** How new credentials replicate and removed ones linger; applies to credentials created (removed) from then on. */
  replication: ReplicationSettings;
  /** The Graph resource of the cloud this directory lives in (`https://graph.microsoft.us` for US Government). */
  graphResource = GRAPH_RESOURCE;

  constructor(
    readonly clock: Clock,
    replicationDelayMs = 0,
  ) {
    this.replication = { ...NO_REPLICATION_LAG, delayMs: replicationDelayMs };
  }

  /** The refusal-only part of the replication settings (kept for callers that only model a delay). */
  get replicationDelayMs(): number {
    return this.replication.delayMs;
  }

  set replicationDelayMs(ms: number) {
    this.replication = { ...this.replication, delayMs: ms };
  }

  private newProfile(): ReplicationProfile {
    return profileFor(this.replication, this.nowMs(), ++this.passwordOrdinal);
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
        scopes.length === 0 ? [] : [{ resourceAppId: GRAPH_APP_ID, resourceAccess: scopes.map((s) => ({ id: scopeId(s), type: "Scope" as const })) }],
      passwordCredentials: [],
      owners: [],
    };
    if (this.applications.has(app.id)) throw new EntraEmulatorError("badRequest", `an application with object ID ${app.id} exists`);
    if (this.findApplication(tenant.tenantId, app.appId)) {
      throw new EntraEmulatorError("badRequest", `an application with appId ${app.appId} exists in tenant ${tenant.tenantId}`);
    }
    this.applications.set(app.id, app);
    for (const owner of input.owners ?? []) this.addOwner(app.id, owner);
    return app;
  }

  /** Makes the service principal of client `ownerAppId` (same tenant; created if missing) an owner of the app. */
  addOwner(objectId: string, ownerAppId: string): StoredServicePrincipal {
    const app = this.requireApplication(objectId);
    const owner = this.findApplication(app.tenantId, ownerAppId);
    if (!owner) throw new EntraEmulatorError("notFound", `no application with appId ${ownerAppId} in tenant ${app.tenantId}; seed it first`);
    const sp = this.ensureServicePrincipal(owner);
    if (!app.owners.includes(sp.id)) app.owners.push(sp.id);
    return sp;
  }

  removeOwner(objectId: string, ownerAppId: string): void {
    const app = this.requireApplication(objectId);
    const sp = this.findServicePrincipal(app.tenantId, ownerAppId);
    if (sp) app.owners = app.owners.filter((id) => id !== sp.id);
  }

  /** Grants (replaces) the Microsoft Graph application permissions of a client; its service principal is created if missing. */
  setGraphAppRoles(appId: string, roles: string[]): StoredServicePrincipal {
    const app = this.findApplicationAnyTenant(appId);
    if (!app) throw new EntraEmulatorError("notFound", `no application with appId ${appId}; seed it first`);
    if (!Array.isArray(roles) || roles.some((r) => typeof r !== "string" || r.length === 0)) {
      throw new EntraEmulatorError("badRequest", "roles must be an array of permission names such as Application.ReadWrite.OwnedBy");
    }
    const sp = this.ensureServicePrincipal(app);
    sp.graphAppRoles = [...new Set(roles)];
    return sp;
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
      replication: input.replicated === false ? this.newProfile() : REPLICATED,
    });
  }

  /** Graph `addPassword`: policy-checked, and only accepted by the token endpoint after replication. */
  addPassword(objectId: string, input: { displayName?: string | null; startDateTime?: string; endDateTime?: string }): CreatedPassword {
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
      replication: this.newProfile(),
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
    p: { displayName: string | null; startDateTime: string; endDateTime: string; secretText: string; replication: ReplicationProfile },
  ): CreatedPassword {
    const stored: StoredPassword = {
      keyId: randomUUID(),
      displayName: p.displayName,
      hint: p.secretText.slice(0, 3),
      startDateTime: new Date(p.startDateTime).toISOString(),
      endDateTime: new Date(p.endDateTime).toISOString(),
      customKeyIdentifier: null,
      secretText: p.secretText,
      replication: p.replication,
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
    const removed = app.passwordCredentials.find((p) => p.keyId === keyId.toLowerCase());
    if (!removed) return false;
    app.passwordCredentials = app.passwordCredentials.filter((p) => p !== removed);
    // Graph stops listing it at once; replicas that have not seen the removal still accept it for a while.
    if (this.replication.removalLagMs > 0) {
      this.lingering.push({ appObjectId: app.id, password: removed, acceptedUntilMs: this.nowMs() + this.replication.removalLagMs });
    }
    this.lastWriteWallMs.set(app.id, Date.now());
    return true;
  }

  /** The credential a token request presenting this secret matches: a live one, or a removed one still lingering. */
  private credentialFor(app: StoredApplication, secret: string): StoredPassword | undefined {
    const live = app.passwordCredentials.find((p) => p.secretText === secret);
    if (live) return live;
    const now = this.nowMs();
    this.lingering = this.lingering.filter((l) => l.acceptedUntilMs > now);
    return this.lingering.find((l) => l.appObjectId === app.id && l.password.secretText === secret)?.password;
  }

  /** The keyId the token endpoint matched for this secret (live or lingering), for the sign-in log. */
  keyIdForSecret(app: StoredApplication, secret: string): string | undefined {
    return this.credentialFor(app, secret)?.keyId;
  }

  /** The outcome the token endpoint reaches for this secret. */
  checkSecret(app: StoredApplication, secret: string): "accepted" | "invalid" | "expired" | "notReplicated" | "notYetValid" {
    const now = this.nowMs();
    const match = this.credentialFor(app, secret);
    if (!match) return "invalid";
    if (Date.parse(match.endDateTime) <= now) return "expired";
    if (Date.parse(match.startDateTime) > now) return "notYetValid";
    if (!acceptedAt(match.replication, now)) return "notReplicated";
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
    const sp = this.ensureServicePrincipal(app);
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

  private addServicePrincipal(tenantId: string, appId: string, displayName: string, opts: { appRoleAssignmentRequired?: boolean }): StoredServicePrincipal {
    const sp: StoredServicePrincipal = {
      tenantId,
      id: randomUUID(),
      appId,
      displayName,
      appRoleAssignmentRequired: opts.appRoleAssignmentRequired ?? false,
      assignments: [],
      graphAppRoles: [],
    };
    this.servicePrincipals.set(sp.id, sp);
    return sp;
  }

  /**
   * The app's service principal in its tenant, created if missing: an app registered in the portal
   * gets one, and a client-credentials token (whose `oid` names it) needs one.
   */
  ensureServicePrincipal(app: StoredApplication): StoredServicePrincipal {
    return this.findServicePrincipal(app.tenantId, app.appId) ?? this.addServicePrincipal(app.tenantId, app.appId, app.displayName, {});
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

  // ---- resources and tokens ---------------------------------------------------------------

  /** Lets the token endpoint issue tokens for another resource (an API of the test's own). */
  registerResource(resource: string): void {
    this.extraResources.add(resource.toLowerCase().replace(/\/+$/, ""));
  }

  /**
   * Is there a resource principal for this identifier in the tenant? Microsoft Graph (of this
   * directory's cloud, by URI or app ID, and the emulator's own URL, which serves Graph locally),
   * Key Vault, the tenant's own apps (by appId or `api://appId`) and registered resources.
   * Anything else is AADSTS500011.
   */
  isKnownResource(tenantId: string, resource: string, localGraphUrl: string): boolean {
    const r = resource.toLowerCase().replace(/\/+$/, "");
    if (r === this.graphResource || r === GRAPH_APP_ID || r === localGraphUrl.toLowerCase()) return true;
    if (KEY_VAULT_RESOURCES.includes(r) || this.extraResources.has(r)) return true;
    const appId = r.startsWith("api://") ? r.slice("api://".length) : r;
    return isGuid(appId) && this.findApplication(tenantId, appId) !== undefined;
  }

  /**
   * A v1.0 access token as Entra issues one to a client-credentials caller for Graph or Key Vault
   * (both accept v1 tokens): RS256-signed, `iss` https://sts.windows.net/{tid}/, `oid` = `sub` = the
   * client's service principal, `roles` = the app roles granted on that resource (Graph only here).
   * Times are wall-clock: SDK token caches run on real time, so an advanced test clock must not
   * expire the tokens they hold.
   */
  issueToken(appId: string, tenantId: string, audience: string, roles: string[] = []): { accessToken: string; expiresIn: number } {
    const app = this.findApplication(tenantId, appId);
    if (!app) throw new EntraEmulatorError("notFound", `no application with appId ${appId} in tenant ${tenantId}`);
    const sp = this.ensureServicePrincipal(app);
    const iat = Math.floor(Date.now() / 1000);
    const issuer = `https://sts.windows.net/${tenantId}/`;
    const claims: JwtClaims = {
      aud: audience,
      iss: issuer,
      iat,
      nbf: iat,
      exp: iat + TOKEN_LIFETIME_S,
      app_displayname: app.displayName,
      appid: app.appId,
      appidacr: "1",
      idp: issuer,
      idtyp: "app",
      oid: sp.id,
      ...(roles.length > 0 ? { roles } : {}),
      sub: sp.id,
      tid: tenantId,
      uti: randomBytes(16).toString("base64url"),
      ver: "1.0",
    };
    return { accessToken: this.signer.sign(claims), expiresIn: TOKEN_LIFETIME_S };
  }

  /** The Graph app roles the client holds now (a token carries the roles granted when it was issued). */
  graphRolesOf(tenantId: string, appId: string): string[] {
    return [...(this.findServicePrincipal(tenantId, appId)?.graphAppRoles ?? [])];
  }

  /** Who a token this emulator signed was issued to, or undefined when it is not ours or has expired. */
  validateAccessToken(token: string): AccessTokenInfo | undefined {
    const c = this.signer.verify(token);
    if (!c || typeof c.exp !== "number" || c.exp * 1000 <= Date.now()) return undefined;
    return {
      appId: String(c.appid),
      tenantId: String(c.tid),
      audience: String(c.aud),
      objectId: String(c.oid),
      roles: Array.isArray(c.roles) ? c.roles.map(String) : [],
    };
  }

  /** Signed by this emulator (possibly expired). */
  isKnownToken(token: string): boolean {
    return this.signer.verify(token) !== undefined;
  }
}
