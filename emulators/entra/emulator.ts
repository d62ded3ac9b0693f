import { systemClock, type Clock } from "../common/clock.js";
import { EmulatorServer, ServedEmulator } from "../common/server.js";
import { sharedCertificateAuthority } from "../common/tls.js";
import { registerControlRoutes } from "./controlRoutes.js";
import { registerGraphRoutes } from "./graphRoutes.js";
import { registerLoginRoutes } from "./loginRoutes.js";
import { registerReportRoutes } from "./reportRoutes.js";
import { SignInLog, recordingSignIns } from "./signInLog.js";
import { validateReplication, type ReplicationSettings } from "./replication.js";
import {
  EntraState,
  type AccessTokenInfo,
  type ConcurrentWriteFault,
  type CreatedPassword,
  type SeedApplicationInput,
  type SeedPasswordInput,
  type SeedServicePrincipalInput,
  type StoredApplication,
  type StoredGrant,
  type Tenant,
} from "./state.js";
import type { PolicyDocument, PolicyShorthand } from "./appPolicy.js";

/** Graph's passwordCredential resource as the API lists it (no secretText), for tests' ground truth. */
export interface GraphPasswordCredential {
  keyId: string;
  displayName: string | null;
  hint: string | null;
  startDateTime: string;
  endDateTime: string;
}

export interface EntraEmulatorOptions {
  /** Decides secret expiry and replication (advance an OffsetClock instead of sleeping). */
  clock?: Clock;
  /** How long a secret made by addPassword is refused at the token endpoint (default 0). */
  replicationDelayMs?: number;
  verbose?: boolean;
  /** Graph collection page size (default 100); small values exercise `@odata.nextLink` paging. */
  graphPageSize?: number;
  /** The cloud's Graph resource (default `https://graph.microsoft.com`; `https://graph.microsoft.us` emulates US Government). */
  graphResource?: string;
}

/** An app registration as seeded (a copy; its password credentials are read with `passwordCredentials`). */
export interface SeededApplication {
  tenantId: string;
  id: string;
  appId: string;
  displayName: string;
  signInAudience: string;
  web: StoredApplication["web"];
  isFallbackPublicClient: boolean | null;
  requiredResourceAccess: StoredApplication["requiredResourceAccess"];
}

export interface SeededServicePrincipal {
  id: string;
  appId: string;
  appRoleAssignmentRequired: boolean;
  assignments: { principalType: "User" | "Group" | "ServicePrincipal"; principalId: string; principalDisplayName: string }[];
}

/**
 * Local Microsoft Entra ID + Microsoft Graph over HTTPS, one shared state behind the OIDC
 * discovery document, the token and authorize endpoints and Graph, so a secret added through Graph
 * is the one the token endpoint checks. Built on EmulatorServer: `server.faults` injects failures.
 */
export class EntraEmulator extends ServedEmulator {
  readonly server: EmulatorServer;
  readonly caCertPem: string;
  private readonly state: EntraState;
  /** What the token and authorize endpoints saw; also the reports' access (permission/licence) and latency controls. */
  readonly signIns: SignInLog;

  constructor(options: EntraEmulatorOptions = {}) {
    super();
    const ca = sharedCertificateAuthority();
    this.caCertPem = ca.caCertPem;
    this.server = new EmulatorServer({ name: "entra", tls: ca.issue(["localhost", "127.0.0.1"]), verbose: options.verbose });
    this.state = new EntraState(options.clock ?? systemClock, options.replicationDelayMs ?? 0);
    if (options.graphResource) this.state.graphResource = options.graphResource.toLowerCase().replace(/\/+$/, "");
    this.signIns = new SignInLog(this.state);
    registerLoginRoutes(recordingSignIns(this.server, this.state, this.signIns), this.state);
    registerReportRoutes(this.server, this.state, this.signIns);
    registerGraphRoutes(this.server, this.state, { pageSize: options.graphPageSize ?? 100 });
    registerControlRoutes(this.server, this.state);
  }

  // ---- seeding ---------------------------------------------------------------------------------

  seedTenant(input: { tenantId: string; customDomain?: string; displayName?: string }): Tenant {
    return this.state.seedTenant(input);
  }

  seedApplication(input: SeedApplicationInput): SeededApplication {
    const app = this.state.seedApplication(input);
    return {
      tenantId: app.tenantId,
      id: app.id,
      appId: app.appId,
      displayName: app.displayName,
      signInAudience: app.signInAudience,
      web: structuredClone(app.web),
      isFallbackPublicClient: app.isFallbackPublicClient,
      requiredResourceAccess: structuredClone(app.requiredResourceAccess),
    };
  }

  /** A hand-made secret (portal/CLI): exempt from the app management policy; replicated at once unless `replicated: false`. */
  seedPassword(objectId: string, input: SeedPasswordInput): CreatedPassword {
    return this.state.seedPassword(objectId, input);
  }

  seedServicePrincipal(appId: string, input: SeedServicePrincipalInput = {}): SeededServicePrincipal {
    const sp = this.state.seedServicePrincipal(appId, input);
    return {
      id: sp.id,
      appId: sp.appId,
      appRoleAssignmentRequired: sp.appRoleAssignmentRequired,
      assignments: sp.assignments.map((a) => ({ principalType: a.principalType, principalId: a.principalId, principalDisplayName: a.principalDisplayName })),
    };
  }

  /** Tenant-wide admin consent (AllPrincipals) for delegated Microsoft Graph scopes; `null` revokes it. */
  seedConsent(appId: string, scopes: string[] | null): StoredGrant | undefined {
    const g = this.state.seedConsent(appId, scopes);
    return g && { ...g };
  }

  /**
   * The tenant default policy (tenantAppManagementPolicy). Restrictions apply to apps created after
   * `restrictForAppsCreatedAfterDateTime` (default 2019-01-01, i.e. every app seeded here).
   */
  setAppManagementPolicy(policy: PolicyShorthand): PolicyDocument {
    return structuredClone(this.state.setDefaultPolicy(policy));
  }

  /** Creates an appManagementPolicy and assigns it to the app, overriding the default for it; `null` unassigns. */
  assignAppManagementPolicy(objectId: string, policy: PolicyShorthand | null): PolicyDocument | undefined {
    const p = this.state.assignAppPolicy(objectId, policy);
    return p && structuredClone(p);
  }

  /** Back-to-back writes to one app answer Graph's "concurrent requests" 400; `undefined` turns it off. */
  setConcurrentWriteFault(fault: ConcurrentWriteFault | undefined): void {
    this.state.setConcurrentWrites(fault);
  }

  /** Applies to secrets created from now on; leaves the flap window and removal lag as they are. */
  setReplicationDelay(ms: number): void {
    this.state.replicationDelayMs = ms;
  }

  /**
   * Replication as a window (emulator clock): a new secret is refused for `delayMs`, then flaps
   * for `flapMs` (accepted, refused, then a pattern seeded by `seed`) before it settles; a removed
   * secret is still accepted for `removalLagMs`. Omitted fields keep their value. Applies to
   * secrets created (removed) from now on.
   */
  setReplication(settings: Partial<ReplicationSettings>): ReplicationSettings {
    const problem = validateReplication(settings);
    if (problem) throw new RangeError(`setReplication: ${problem}`);
    const next: ReplicationSettings = { ...this.state.replication, ...settings };
    if (settings.flapPeriodMs === undefined && "flapPeriodMs" in settings) delete next.flapPeriodMs;
    this.state.replication = next;
    return { ...next };
  }

  /** The replication settings in force. */
  replication(): ReplicationSettings {
    return { ...this.state.replication };
  }

  // ---- Graph permissions and ownership ----------------------------------------------------------

  /**
   * The Microsoft Graph application permissions granted (with admin consent) to a client, replacing
   * earlier ones: they become the `roles` claim of its next Graph token. A token already issued keeps
   * the roles it was issued with, as in Entra.
   */
  setGraphAppRoles(appId: string, roles: string[]): void {
    this.state.setGraphAppRoles(appId, roles);
  }

  graphAppRoles(appId: string): string[] {
    const app = this.state.findApplicationAnyTenant(appId);
    return app ? this.state.graphRolesOf(app.tenantId, app.appId) : [];
  }

  /** Adds the service principal of client `ownerAppId` to the app's owners (what Application.ReadWrite.OwnedBy needs). */
  addApplicationOwner(objectId: string, ownerAppId: string): void {
    this.state.addOwner(objectId, ownerAppId);
  }

  removeApplicationOwner(objectId: string, ownerAppId: string): void {
    this.state.removeOwner(objectId, ownerAppId);
  }

  /** Client IDs of the app's owners. */
  applicationOwners(objectId: string): string[] {
    const app = this.state.getApplication(objectId);
    if (!app) throw new Error(`application ${objectId} does not exist`);
    return app.owners.map((id) => this.state.getServicePrincipal(id)?.appId ?? id);
  }

  /** Lets the token endpoint issue tokens for another resource URI (otherwise AADSTS500011). */
  registerResource(resource: string): void {
    this.state.registerResource(resource);
  }

  // ---- ground truth for tests and the other emulators -----------------------------------------

  /** Would the token endpoint accept this secret now (exists, not expired, replicated — per the emulator clock)? */
  isSecretAccepted(tenantId: string, clientId: string, secret: string): boolean {
    return this.state.isSecretAccepted(tenantId, clientId, secret);
  }

  /** Every secretText ever seeded or created by addPassword, for SecretScanner. */
  issuedSecrets(): string[] {
    return this.state.issuedSecrets();
  }

  /** For the Key Vault and gateway emulators: who a bearer token was issued to (its claims), or undefined. */
  validateAccessToken(token: string): AccessTokenInfo | undefined {
    return this.state.validateAccessToken(token);
  }

  /** The JSON Web Key Set served at the discovery documents' `jwks_uri`. */
  jwks(): ReturnType<EntraState["signer"]["jwks"]> {
    return this.state.signer.jwks();
  }

  /** The app's password credentials as Graph shows them (no secret values). */
  passwordCredentials(objectId: string): GraphPasswordCredential[] {
    const app = this.state.getApplication(objectId);
    if (!app) throw new Error(`application ${objectId} does not exist`);
    return app.passwordCredentials.map((p) => ({
      keyId: p.keyId,
      displayName: p.displayName,
      hint: p.hint,
      startDateTime: p.startDateTime,
      endDateTime: p.endDateTime,
    }));
  }
}
