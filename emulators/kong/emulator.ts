import { systemClock, type Clock } from "../common/clock.js";
import { EmulatorServer, ServedEmulator } from "../common/server.js";
import { sharedCertificateAuthority } from "../common/tls.js";
import { TokenBucket, type RateLimitOptions } from "../common/tokenBucket.js";
import { headerMatches, registerKongRoutes, type KongSurface } from "./routes.js";
import { KongState, type KongPlugin, type SeedPluginInput } from "./state.js";

/**
 * Local Kong APIs for `openid-connect` plugins, written only from ../shared/specs/kong-openid-connect.md
 * (see README.md for what they guess): `KongEmulator`, the self-hosted Admin API with Enterprise
 * workspaces, here; `KonnectEmulator`, the Konnect control-plane API, in konnect.ts. Both are built
 * on EmulatorServer, so `server.faults` injects errors, 429s, latency, hangs and drops.
 */
export interface KongEmulatorBaseOptions {
  /** Stamps created_at/updated_at (share the world's clock). */
  clock?: Clock;
  /** Serve plain http instead of https. Default false. */
  plainHttp?: boolean;
  verbose?: boolean;
}

/** What both Kong APIs share: the plugin store, a second writer, and the tests' ground truth. */
export abstract class KongPluginsEmulator extends ServedEmulator {
  readonly server: EmulatorServer;
  readonly caCertPem: string | undefined;
  protected readonly state: KongState;
  /** Plugins whose client_secret a second writer puts back after every write (last writer wins, § Concurrency). */
  private readonly reverted = new Set<string>();
  /** Scopes (workspaces, control planes) where the token's user has no role: calls there answer 403. */
  private readonly denied = new Set<string>();
  /** The throttle in front of the API (README guesses): none until `setRateLimit`. */
  private bucket: TokenBucket | undefined;

  protected constructor(name: string, options: KongEmulatorBaseOptions, surfaces: (denied: (scope: string) => boolean) => KongSurface[]) {
    super();
    const clock = options.clock ?? systemClock;
    const nowSeconds = (): number => Math.floor(clock.now().getTime() / 1000);
    this.state = new KongState(nowSeconds);
    const ca = options.plainHttp ? undefined : sharedCertificateAuthority();
    this.caCertPem = ca?.caCertPem;
    this.server = new EmulatorServer({ name, ...(ca ? { tls: ca.issue(["localhost", "127.0.0.1"]) } : {}), verbose: options.verbose });
    registerKongRoutes(this.server, {
      state: this.state,
      nowSeconds,
      surfaces: surfaces((scope) => this.denied.has(scope)),
      bucket: () => this.bucket,
      afterWrite: (before, written) => {
        if (before && this.reverted.has(written.id)) this.state.put({ ...written, config: { ...written.config, client_secret: before.config.client_secret } });
      },
    });
    this.server.routeReset(() => this.reset());
  }

  /**
   * Another writer (a decK sync, a second admin) puts the plugin's previous client_secret back right
   * after each write: the write answers 200 with the new value, and the next GET shows the old one.
   * Neither API has an ETag, so only a re-read can tell (§ Concurrency, § Verification).
   */
  revertSecretWrites(pluginId: string, on = true): void {
    if (on) this.reverted.add(pluginId);
    else this.reverted.delete(pluginId);
  }

  /**
   * Puts a throttle in front of the API (or with `undefined` removes it): a token bucket whose empty
   * answer is 429 with Retry-After, as Kong's rate-limiting plugin answers. The bucket starts full.
   */
  setRateLimit(rateLimit: RateLimitOptions | undefined): void {
    this.bucket = rateLimit ? new TokenBucket(rateLimit) : undefined;
  }

  /** An administrator edits the plugin behind the rotator's back (e.g. switches it to a vault reference). */
  editPlugin(id: string, config: Partial<KongPlugin["config"]>): KongPlugin {
    const p = this.state.get(id);
    if (!p) throw new Error(`no plugin ${id}`);
    return this.state.put({ ...p, config: { ...p.config, ...config } });
  }

  deletePlugin(id: string): void {
    this.state.delete(id);
  }

  // ---- ground truth (tests only) ----------------------------------------------------------------

  /** Every plugin with its stored config, secrets in clear. Never a route of its own. */
  plugins(): KongPlugin[] {
    return this.state.all();
  }

  /** The tokens and every secret ever stored, for SecretScanner. */
  issuedSecrets(): string[] {
    return [...this.tokens(), ...this.state.secrets()];
  }

  protected abstract tokens(): string[];

  reset(): void {
    for (const p of this.state.all()) this.state.delete(p.id);
    this.reverted.clear();
    this.denied.clear();
    this.bucket = undefined;
    this.server.faults.clear();
  }

  protected deny(scope: string, on: boolean): void {
    if (on) this.denied.add(scope);
    else this.denied.delete(scope);
  }
}

export interface KongEmulatorOptions extends KongEmulatorBaseOptions {
  /** RBAC on: every call needs this admin token. Omitted: RBAC off. */
  adminToken?: string;
  /** `rbac_auth_header` (§ Admin API auth); default Kong-Admin-Token. */
  adminTokenHeader?: string;
  /** Enterprise workspaces besides `default` (§ Admin API endpoints: `/{workspace}/…`). */
  workspaces?: string[];
}

const DEFAULT_WORKSPACE = "default";

/** The self-hosted Kong Gateway (Enterprise) Admin API: unprefixed paths are the default workspace, `/{workspace}/…` the others. */
export class KongEmulator extends KongPluginsEmulator {
  constructor(private readonly options: KongEmulatorOptions = {}) {
    const workspaces = new Set([DEFAULT_WORKSPACE, ...(options.workspaces ?? [])]);
    const header = options.adminTokenHeader ?? "Kong-Admin-Token";
    super("kong", options, (denied) => {
      const authorize: KongSurface["authorize"] = (req, scope, write) => {
        if (options.adminToken !== undefined && !headerMatches(req, header, options.adminToken)) {
          // § Admin API auth: the OAS's UnauthorizedError {status, message}; the wording is a guess (README).
          return { status: 401, body: { message: "Invalid credentials. Token or User credentials required", status: 401 } };
        }
        // The RBAC 403 wording is a guess (README): the spec names none.
        if (scope !== undefined && denied(scope)) {
          return { status: 403, body: { message: `you do not have permissions to ${write ? "update" : "read"} this resource` } };
        }
        return undefined;
      };
      const common = { unknownScope: { status: 404, body: { message: "Not found" } }, authorize, patch: true };
      return [
        { ...common, prefix: "", scopeOf: () => DEFAULT_WORKSPACE, nextPrefix: () => "" },
        { ...common, prefix: "/([^/]+)", scopeOf: (ws) => (ws !== undefined && workspaces.has(ws) ? ws : undefined), nextPrefix: (ws) => `/${ws}` },
      ];
    });
  }

  /** A plugin in the default workspace, or in `workspace`. */
  seedPlugin(input: SeedPluginInput & { workspace?: string }): KongPlugin {
    return this.state.seed(input, input.workspace ?? DEFAULT_WORKSPACE);
  }

  /** The admin token's RBAC user loses (or regains) its role in a workspace: its calls there answer 403. */
  denyWorkspace(workspace: string, on = true): void {
    this.deny(workspace, on);
  }

  protected tokens(): string[] {
    return this.options.adminToken ? [this.options.adminToken] : [];
  }
}
