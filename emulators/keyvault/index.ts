import { systemClock, type Clock } from "../common/clock.js";
import { EmulatorServer, ServedEmulator, type EmuRequest } from "../common/server.js";
import { sharedCertificateAuthority } from "../common/tls.js";
import { ROLE_ACTIONS, VaultAuth, type KeyVaultRole, type TokenValidator } from "./auth.js";
import { KeyVaultServiceError, kvErrors } from "./errors.js";
import { registerSecretRoutes } from "./routes.js";
import { VaultState } from "./state.js";

export type { KeyVaultRole } from "./auth.js";
/**
 * A local Azure Key Vault (secrets only) that the real `SecretClient` talks to over HTTPS:
 * the bearer challenge, versions, tags, enable/disable, soft delete / recover / purge, the
 * documented limits and errors, RBAC roles and throttling. Tests and the demo seed and inspect
 * it in-process or through `/_control/*`.
 */
export interface KeyVaultEmulatorOptions {
  /** Goes into the challenge, e.g. "https://127.0.0.1:PORT/<tenantId>"; a function when the authority starts later. */
  authorityUrl: string | (() => string);
  /** The Entra emulator passes its `validateAccessToken`; default: any non-empty bearer is accepted. */
  validateToken?: TokenValidator;
  clock?: Clock;
  verbose?: boolean;
  /** Soft-delete retention (the real default is 90). */
  recoverableDays?: number;
}

export interface SeedSecretOptions {
  tags?: Record<string, string>;
  enabled?: boolean;
  expiresOn?: Date;
  notBefore?: Date;
  contentType?: string;
}

/** Ground truth of one version, value included (tests only; the emulator is never deployed). */
export interface EmulatedVersion {
  name: string;
  version: string;
  value: string;
  enabled: boolean;
  tags: Record<string, string>;
  contentType?: string;
  createdOn: Date;
  updatedOn: Date;
  expiresOn?: Date;
  notBefore?: Date;
  /** The whole secret is soft-deleted. */
  deleted: boolean;
}

export interface ThrottleOptions {
  /** How many matching calls get 429 (default: every call until removed). */
  times?: number;
  retryAfterSeconds?: number;
  /** Regex over "METHOD /path"; default: every secrets call. */
  route?: string;
}

export class KeyVaultEmulator extends ServedEmulator {
  readonly server: EmulatorServer;
  readonly caCertPem: string;
  readonly state: VaultState;
  readonly auth: VaultAuth;

  constructor(options: KeyVaultEmulatorOptions) {
    super();
    const ca = sharedCertificateAuthority();
    this.caCertPem = ca.caCertPem;
    this.server = new EmulatorServer({ name: "keyvault", tls: ca.issue(["localhost", "127.0.0.1"]), verbose: options.verbose });
    const authority = typeof options.authorityUrl === "function" ? options.authorityUrl : (): string => options.authorityUrl as string;
    this.auth = new VaultAuth(authority, options.validateToken);
    this.state = new VaultState({ clock: options.clock ?? systemClock, vaultUrl: () => this.server.url, recoverableDays: options.recoverableDays });
    registerSecretRoutes(this.server, this.state, this.auth);
    this.registerControlRoutes();
  }

  /** Adds a version as a writer with full rights would (limits still apply); returns its version id. */
  seedSecret(name: string, value: string, options: SeedSecretOptions = {}): { version: string; id: string } {
    const { secret, version } = this.state.setSecret(name, {
      value,
      tags: options.tags,
      contentType: options.contentType,
      attributes: {
        enabled: options.enabled,
        exp: options.expiresOn ? Math.floor(options.expiresOn.getTime() / 1000) : undefined,
        nbf: options.notBefore ? Math.floor(options.notBefore.getTime() / 1000) : undefined,
      },
    });
    return { version: version.version, id: `${this.url}/secrets/${secret.name}/${version.version}` };
  }

  /** Every version of `name` in creation order, with values. Empty when it never existed or was purged. */
  versions(name: string): EmulatedVersion[] {
    const snapshot = this.state.snapshot(name);
    const { deleted, versions } = snapshot;
    return versions.map((v) => ({
      name: snapshot.name,
      version: v.version,
      value: v.value,
      enabled: v.enabled,
      tags: v.tags,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      createdOn: new Date(v.created * 1000),
      updatedOn: new Date(v.updated * 1000),
      ...(v.exp !== undefined ? { expiresOn: new Date(v.exp * 1000) } : {}),
      ...(v.nbf !== undefined ? { notBefore: new Date(v.nbf * 1000) } : {}),
      deleted,
    }));
  }

  /** Values a reader can still obtain: those of ENABLED versions of a live (not deleted) secret. */
  heldValues(name: string): string[] {
    return this.versions(name)
      .filter((v) => v.enabled && !v.deleted)
      .map((v) => v.value);
  }

  /**
   * Azure RBAC on the vault: the role of one identity, by its object ID (`oid` claim) or client ID
   * (`appid` claim), or of every caller ("*"). With no assignment at all every caller is a Secrets Officer.
   */
  assignRole(role: KeyVaultRole, principal = "*"): void {
    this.auth.assignRole(role, principal);
  }

  /** 429 + Retry-After with Key Vault's body, through the shared fault injector; returns the fault id. */
  throttle(options: ThrottleOptions = {}): number {
    const retryAfterSeconds = options.retryAfterSeconds ?? 1;
    return this.server.faults.add({
      route: options.route ?? "^[A-Z]+ /(secrets|deletedsecrets)",
      status: 429,
      retryAfterSeconds,
      body: kvErrors.throttled(retryAfterSeconds).toResponse().body,
      ...(options.times !== undefined ? { times: options.times } : {}),
    });
  }

  /** Forgets every secret, role and fault (the request log stays). */
  reset(): void {
    this.state.reset();
    this.auth.clearRoles();
    this.server.faults.clear();
  }

  private registerControlRoutes(): void {
    const control = (fn: (req: EmuRequest) => { status: number; body?: unknown }) => (req: EmuRequest) => {
      try {
        return fn(req);
      } catch (e) {
        if (e instanceof KeyVaultServiceError) return e.toResponse();
        throw e;
      }
    };
    this.server.route(
      "POST",
      /^\/_control\/secrets$/,
      control((req) => {
        const b =
          req.json<{
            name?: string;
            value?: string;
            tags?: Record<string, string>;
            enabled?: boolean;
            expiresOn?: string;
            notBefore?: string;
            contentType?: string;
          }>() ?? {};
        if (typeof b.name !== "string" || typeof b.value !== "string") {
          return { status: 400, body: { error: { code: "BadRequest", message: "name and value (strings) are required" } } };
        }
        const seeded = this.seedSecret(b.name, b.value, {
          tags: b.tags,
          enabled: b.enabled,
          contentType: b.contentType,
          ...(b.expiresOn ? { expiresOn: new Date(b.expiresOn) } : {}),
          ...(b.notBefore ? { notBefore: new Date(b.notBefore) } : {}),
        });
        return { status: 201, body: seeded };
      }),
    );
    this.server.route(
      "GET",
      /^\/_control\/secrets\/([^/]+)$/,
      control((req) => ({ status: 200, body: { versions: this.versions(req.params[0]!), heldValues: this.heldValues(req.params[0]!) } })),
    );
    // A version enabled or disabled by hand (the portal's "Enabled" switch): the latest one unless `version` names another.
    this.server.route(
      "PATCH",
      /^\/_control\/secrets\/([^/]+)$/,
      control((req) => {
        const b = req.json<{ version?: string; enabled?: boolean } | null>() ?? {};
        if (typeof b.enabled !== "boolean") return { status: 400, body: { error: { code: "BadRequest", message: "enabled (true or false) is required" } } };
        const { version } = this.state.updateVersion(req.params[0]!, b.version ?? "", { attributes: { enabled: b.enabled } });
        return { status: 200, body: { version: version.version, enabled: version.enabled } };
      }),
    );
    this.server.route(
      "POST",
      /^\/_control\/roles$/,
      control((req) => {
        const b = req.json<{ role?: KeyVaultRole; appId?: string; objectId?: string }>() ?? {};
        if (!b.role || !(b.role in ROLE_ACTIONS)) {
          return { status: 400, body: { error: { code: "BadRequest", message: `role must be one of: ${Object.keys(ROLE_ACTIONS).join(", ")}` } } };
        }
        this.assignRole(b.role, b.objectId ?? b.appId ?? "*");
        return { status: 204 };
      }),
    );
    this.server.route(
      "POST",
      /^\/_control\/throttle$/,
      control((req) => ({ status: 201, body: { id: this.throttle(req.json<ThrottleOptions | null>() ?? {}) } })),
    );
    this.server.routeReset(() => this.reset());
  }
}
