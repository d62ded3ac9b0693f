import { systemClock, type Clock } from "../common/clock.js";
import { EmulatorServer, ServedEmulator, type EmuRequest, type EmuResponse } from "../common/server.js";
import { sharedCertificateAuthority } from "../common/tls.js";
import { TokenBucket, type RateLimitOptions } from "../common/tokenBucket.js";
import { registerPublicRoutes } from "./routes.js";
import { GatewayState, GatewayStateError, type EmulatedServer, type ListingExpiry, type SeedServerInput, type ServerEdit } from "./state.js";
import { checkClientCredentials, type TokenCheckResult } from "./tokenCheck.js";
import { TrafficLog } from "./traffic.js";

/**
 * A local AI gateway implementing docs/gateway-contract.md: MCP servers with OAuth 2.0
 * client-credentials authentication, cursor pagination (optionally numbered pages and a listing
 * ETag), ETags and If-Match, a salted secret
 * fingerprint, a token-bucket rate limit and a test-connection route that really calls the
 * stored token URL. Built on EmulatorServer, so `server.faults` injects drops, hangs and errors.
 */
export interface GatewayEmulatorOptions {
  apiToken: string;
  tenant: string;
  /** PEM to trust when the test-connection route calls an https token URL (the emulators' CA). */
  ca?: string;
  /** Ground truth for `secretsAcceptedNow()`: would Entra accept this secret at this token URL right now? */
  tokenAcceptance?: (tokenUrl: string, clientId: string, secret: string) => boolean;
  rateLimit?: RateLimitOptions;
  /** Added to every public call. */
  latencyMs?: number;
  /** The most items one page holds; a larger `limit` is clamped (default 100). */
  pageSizeMax?: number;
  /** Offer the optional numbered-pages extension of the listing (docs/gateway-contract.md); default off. */
  numberedPages?: boolean;
  /** Offer the optional listing ETag (If-None-Match → 304, docs/gateway-contract.md); default off. */
  listingEtag?: boolean;
  /** Stamps secretUpdatedAt and checkedAt (share the world's OffsetClock). Default: system time. */
  clock?: Clock;
  /** Serve plain http instead of https (the config accepts http for loopback only). Default false. */
  plainHttp?: boolean;
  verbose?: boolean;
}

export class GatewayEmulator extends ServedEmulator {
  readonly server: EmulatorServer;
  /** The CA that signed this emulator's certificate (undefined with `plainHttp`). */
  readonly caCertPem: string | undefined;
  private readonly state: GatewayState;
  /** Arrival time and status of every public call, in the gateway's clock (pacing is judged from here). */
  readonly traffic = new TrafficLog();
  private lostUpdates: { ids?: Set<string>; remaining: number } | undefined;
  private bucket: TokenBucket | undefined;
  private latencyMs: number;
  private listingEtag: boolean;
  private listingExpiry: { afterPages: number; repeat: boolean; how: ListingExpiry; served: number } | undefined;

  constructor(private readonly options: GatewayEmulatorOptions) {
    super();
    if (!options.apiToken) throw new Error("GatewayEmulator needs an apiToken");
    if (!options.tenant) throw new Error("GatewayEmulator needs a tenant");
    const clock = options.clock ?? systemClock;
    this.state = new GatewayState(() => clock.now());
    const ca = options.plainHttp ? undefined : sharedCertificateAuthority();
    this.caCertPem = ca?.caCertPem;
    this.server = new EmulatorServer({
      name: "gateway",
      ...(ca ? { tls: ca.issue(["localhost", "127.0.0.1"]) } : {}),
      verbose: options.verbose,
    });
    this.bucket = options.rateLimit ? new TokenBucket(options.rateLimit) : undefined;
    this.latencyMs = options.latencyMs ?? 0;
    this.listingEtag = options.listingEtag ?? false;
    registerPublicRoutes(this.server, {
      state: this.state,
      apiToken: options.apiToken,
      tenant: options.tenant,
      bucket: () => this.bucket,
      latencyMs: () => this.latencyMs,
      pageSizeMax: options.pageSizeMax ?? 100,
      numberedPages: options.numberedPages ?? false,
      listingEtag: () => this.listingEtag,
      listPageServed: () => this.countListPage(),
      testConnection: (id) => this.testConnection(id),
      now: () => clock.now(),
      traffic: this.traffic,
      loseUpdate: (id) => this.takeLostUpdate(id),
    });
    this.registerControlRoutes();
  }

  // ---- seeding and changes behind the API's back ----------------------------------------------

  seedServer(input: SeedServerInput): EmulatedServer {
    return this.state.seed(input);
  }

  /** An administrator edits a server in the gateway UI: its ETag changes (drift and 412 scenarios). */
  editServer(id: string, changes: ServerEdit): EmulatedServer {
    return this.state.edit(id, changes);
  }

  /** An administrator deletes an MCP server in the gateway UI: it is no longer listed and reads answer 404. */
  deleteServer(id: string): void {
    this.state.delete(id);
  }

  /** An administrator pastes a secret by hand: fingerprint, updated time and ETag change. */
  setServerSecret(id: string, clientSecret: string): EmulatedServer {
    this.state.setSecret(id, clientSecret);
    return this.server_(id);
  }

  /** Replaces (or with `undefined` removes) the rate limit; the bucket starts full. */
  setRateLimit(rateLimit: RateLimitOptions | undefined): void {
    this.bucket = rateLimit ? new TokenBucket(rateLimit) : undefined;
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Turns the optional listing ETag on or off (a gateway upgraded, or one without it). */
  setListingEtag(on: boolean): void {
    this.listingEtag = on;
  }

  /**
   * Listings that expire under the client, as a restarted gateway or a short cursor lifetime makes
   * them: after `afterPages` more listing pages are served (0: now), every cursor and snapshot issued
   * so far answers 410 (`CursorExpired`, `SnapshotExpired`); `how: "restarted"` as after a gateway
   * restart (cursors 400 `InvalidCursor`, snapshots 410), `how: "snapshots"` only the snapshots (an
   * evicted one). With `repeat`, again after every `afterPages` pages. `undefined` heals it.
   */
  setListingExpiry(spec: { afterPages: number; repeat?: boolean; how?: ListingExpiry } | undefined): void {
    this.listingExpiry = undefined;
    const how = spec?.how ?? "expired";
    if (spec && spec.afterPages === 0) this.state.expireListings(how);
    else if (spec) this.listingExpiry = { afterPages: spec.afterPages, repeat: spec.repeat ?? false, how, served: 0 };
  }

  private countListPage(): void {
    const e = this.listingExpiry;
    if (!e || ++e.served < e.afterPages) return;
    this.state.expireListings(e.how);
    if (e.repeat) e.served = 0;
    else this.listingExpiry = undefined;
  }

  /**
   * A faulty gateway that acknowledges secret updates (200, the server as it was) without storing
   * them: the next `times` updates (default: all), or only those of `ids`. `undefined` heals it.
   */
  setLoseUpdates(spec: { ids?: string[]; times?: number } | undefined): void {
    this.lostUpdates = spec ? { ...(spec.ids ? { ids: new Set(spec.ids) } : {}), remaining: spec.times ?? Number.POSITIVE_INFINITY } : undefined;
  }

  private takeLostUpdate(id: string): boolean {
    const l = this.lostUpdates;
    if (!l || l.remaining <= 0 || (l.ids && !l.ids.has(id))) return false;
    l.remaining--;
    return true;
  }

  // ---- ground truth (tests only) -----------------------------------------------------------------

  /** Every server with its stored secret, in list order. Never served on the public routes. */
  servers(): EmulatedServer[] {
    return this.state.all();
  }

  /** Whether each server's stored secret would be accepted right now — the "no outage" check. */
  secretsAcceptedNow(): { id: string; accepted: boolean }[] {
    const accept = this.options.tokenAcceptance;
    if (!accept) throw new Error("secretsAcceptedNow() needs the tokenAcceptance option (e.g. the Entra emulator's isSecretAccepted)");
    return this.state.all().map((s) => ({ id: s.id, accepted: accept(s.tokenUrl, s.clientId, s.clientSecret) }));
  }

  /** The API token and every secret ever stored on any server, for SecretScanner. */
  issuedSecrets(): string[] {
    return [this.options.apiToken, ...this.state.secrets()];
  }

  /** Runs the test-connection check in-process (what the public route answers). */
  testConnection(id: string): Promise<TokenCheckResult> {
    const s = this.state.get(id);
    if (!s) return Promise.reject(new GatewayStateError("NotFound", `MCP server ${id} does not exist`));
    return checkClientCredentials({ tokenUrl: s.tokenUrl, clientId: s.clientId, clientSecret: s.clientSecret, scopes: s.scopes, ca: this.options.ca });
  }

  /** Forgets every server and fault (the request log stays). */
  reset(): void {
    this.state.reset();
    this.server.faults.clear();
    this.lostUpdates = undefined;
    this.listingExpiry = undefined;
  }

  private server_(id: string): EmulatedServer {
    const s = this.state.all().find((x) => x.id === id);
    if (!s) throw new GatewayStateError("NotFound", `MCP server ${id} does not exist`);
    return s;
  }

  private registerControlRoutes(): void {
    const control = (fn: (req: EmuRequest) => EmuResponse | Promise<EmuResponse>) => async (req: EmuRequest) => {
      try {
        return await fn(req);
      } catch (e) {
        if (e instanceof GatewayStateError) return { status: e.code === "NotFound" ? 404 : 409, body: { error: { code: e.code, message: e.message } } };
        if (e instanceof RangeError || e instanceof TypeError) return { status: 400, body: { error: { code: "BadRequest", message: e.message } } };
        throw e;
      }
    };
    const bad = (message: string): EmuResponse => ({ status: 400, body: { error: { code: "BadRequest", message } } });

    this.server.route(
      "POST",
      /^\/_control\/servers$/,
      control((req) => {
        const body = req.json<SeedServerInput | SeedServerInput[] | null>();
        const inputs = Array.isArray(body) ? body : body ? [body] : [];
        for (const b of inputs) {
          if (typeof b?.name !== "string" || typeof b.tokenUrl !== "string" || typeof b.clientId !== "string" || typeof b.clientSecret !== "string") {
            return bad("each server needs name, tokenUrl, clientId and clientSecret (strings)");
          }
        }
        return { status: 201, body: { servers: inputs.map((b) => this.seedServer(b)) } };
      }),
    );
    this.server.route(
      "GET",
      /^\/_control\/servers$/,
      control(() => ({ status: 200, body: { servers: this.servers() } })),
    );
    this.server.route(
      "PATCH",
      /^\/_control\/servers\/([^/]+)$/,
      control((req) => {
        const b = req.json<(ServerEdit & { clientSecret?: string }) | null>() ?? {};
        const id = req.params[0]!;
        const { clientSecret, ...edit } = b;
        if (Object.keys(edit).length > 0) this.editServer(id, edit);
        if (typeof clientSecret === "string") this.setServerSecret(id, clientSecret);
        return { status: 200, body: this.server_(id) };
      }),
    );
    this.server.route(
      "DELETE",
      /^\/_control\/servers\/([^/]+)$/,
      control((req) => {
        this.deleteServer(req.params[0]!);
        return { status: 204 };
      }),
    );
    this.server.route(
      "GET",
      /^\/_control\/secretsAccepted$/,
      control(() => ({ status: 200, body: { servers: this.secretsAcceptedNow() } })),
    );
    this.server.route(
      "GET",
      /^\/_control\/issuedSecrets$/,
      control(() => ({ status: 200, body: { secrets: this.issuedSecrets() } })),
    );
    this.server.route(
      "POST",
      /^\/_control\/rateLimit$/,
      control((req) => {
        const b = req.json<RateLimitOptions | null>();
        this.setRateLimit(b ?? undefined);
        return { status: 204 };
      }),
    );
    this.server.route(
      "PUT",
      /^\/_control\/loseUpdates$/,
      control((req) => {
        const b = req.json<{ ids?: string[]; times?: number } | null>();
        if (b !== null && ((b.ids !== undefined && !Array.isArray(b.ids)) || (b.times !== undefined && (typeof b.times !== "number" || b.times < 0))))
          return bad("send {ids?: [server id…], times?: n} to lose updates, or null to heal");
        this.setLoseUpdates(b ?? undefined);
        return { status: 204 };
      }),
    );
    this.server.route(
      "PUT",
      /^\/_control\/listing$/,
      control((req) => {
        type Expiry = { afterPages?: number; repeat?: boolean; how?: ListingExpiry } | null;
        const b = req.json<{ etag?: unknown; expiry?: Expiry } | null>() ?? {};
        const e = b.expiry;
        const hows: unknown[] = [undefined, "expired", "restarted", "snapshots"];
        const badExpiry =
          e !== undefined && e !== null && (typeof e.afterPages !== "number" || !Number.isInteger(e.afterPages) || e.afterPages < 0 || !hows.includes(e.how));
        if ((b.etag !== undefined && typeof b.etag !== "boolean") || badExpiry)
          return bad('send {etag?: true|false, expiry?: {afterPages: n (0 = now), repeat?: true, how?: "expired"|"restarted"|"snapshots"} | null}');
        if (typeof b.etag === "boolean") this.setListingEtag(b.etag);
        if (e === null) this.setListingExpiry(undefined);
        else if (e) this.setListingExpiry({ afterPages: e.afterPages!, repeat: e.repeat === true, ...(e.how ? { how: e.how } : {}) });
        return { status: 204 };
      }),
    );
    this.server.route(
      "POST",
      /^\/_control\/latency$/,
      control((req) => {
        const b = req.json<{ ms?: number } | null>();
        if (typeof b?.ms !== "number" || b.ms < 0) return bad("ms (a number of milliseconds, 0 or more) is required");
        this.setLatency(b.ms);
        return { status: 204 };
      }),
    );
    this.server.routeReset(() => this.reset());
  }
}
