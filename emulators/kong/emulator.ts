import { systemClock, type Clock } from "../common/clock.js";
import { EmulatorServer, ServedEmulator } from "../common/server.js";
import { sharedCertificateAuthority } from "../common/tls.js";
import { DEFAULT_ADMIN_TOKEN_HEADER, registerKongRoutes } from "./routes.js";
import { KongState, type KongPlugin, type SeedPluginInput } from "./state.js";

/**
 * A local Kong Gateway (Enterprise) Admin API for `openid-connect` plugins, written only from
 * ../shared/specs/kong-openid-connect.md (see README.md for what it guesses). Built on
 * EmulatorServer, so `server.faults` injects errors, 429s, latency, hangs and drops.
 */
export interface KongEmulatorOptions {
  /** RBAC on: every call needs this admin token. Omitted: RBAC off. */
  adminToken?: string;
  /** `rbac_auth_header` (§ Admin API auth); default Kong-Admin-Token. */
  adminTokenHeader?: string;
  /** Stamps created_at/updated_at (share the world's clock). */
  clock?: Clock;
  /** Serve plain http (the Admin API's port 8001) instead of https (8444). Default false. */
  plainHttp?: boolean;
  verbose?: boolean;
}

export class KongEmulator extends ServedEmulator {
  readonly server: EmulatorServer;
  readonly caCertPem: string | undefined;
  private state: KongState;
  /** Plugins whose client_secret a second writer puts back after every write (last writer wins, § Concurrency). */
  private readonly reverted = new Set<string>();

  constructor(private readonly options: KongEmulatorOptions = {}) {
    super();
    const clock = options.clock ?? systemClock;
    const nowSeconds = (): number => Math.floor(clock.now().getTime() / 1000);
    this.state = new KongState(nowSeconds);
    const ca = options.plainHttp ? undefined : sharedCertificateAuthority();
    this.caCertPem = ca?.caCertPem;
    this.server = new EmulatorServer({ name: "kong", ...(ca ? { tls: ca.issue(["localhost", "127.0.0.1"]) } : {}), verbose: options.verbose });
    registerKongRoutes(this.server, {
      state: this.state,
      adminToken: options.adminToken,
      adminTokenHeader: (options.adminTokenHeader ?? DEFAULT_ADMIN_TOKEN_HEADER).toLowerCase(),
      afterWrite: (before, written) => {
        if (this.reverted.has(written.id)) this.state.put({ ...written, config: { ...written.config, client_secret: before.config.client_secret } });
      },
    });
    this.server.routeReset(() => this.reset());
  }

  seedPlugin(input: SeedPluginInput): KongPlugin {
    return this.state.seed(input);
  }

  /**
   * Another writer (a decK sync, a second admin) puts the plugin's previous client_secret back right
   * after each write: the PATCH answers 200 with the new value, and the next GET shows the old one.
   * The Admin API has no ETag, so only a re-read can tell (§ Concurrency, § Verification).
   */
  revertSecretWrites(pluginId: string, on = true): void {
    if (on) this.reverted.add(pluginId);
    else this.reverted.delete(pluginId);
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

  /** The admin token and every secret ever stored, for SecretScanner. */
  issuedSecrets(): string[] {
    return [...(this.options.adminToken ? [this.options.adminToken] : []), ...this.state.secrets()];
  }

  reset(): void {
    for (const p of this.state.all()) this.state.delete(p.id);
    this.reverted.clear();
    this.server.faults.clear();
  }
}
