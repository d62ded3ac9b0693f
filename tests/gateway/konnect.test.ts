import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KonnectEmulator } from "../../emulators/kong/index.js";
import { gatewaySchema } from "../../src/config/schema.js";
import type { HttpClient } from "../../src/http/client.js";
import { createKongAdapter, type KongGatewayConfig } from "../../src/gateway/kong/index.js";
import { fingerprintMatches } from "../../src/gateway/fingerprint.js";
import type { GatewayAdapter } from "../../src/gateway/types.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { rotatorFailure } from "../helpers/rotatorFailure.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { fastHttp, seedKongEstate, writeFreshSecret } from "./helpers.js";

/**
 * The kong-openid-connect adapter with `api: "konnect"` through our real HttpClient (https, the
 * emulators' CA) against the Konnect emulator (../shared/specs/kong-openid-connect.md § Konnect equivalent).
 * What both Kong APIs share (a write another writer undoes, a vault reference) is tested once in
 * kong.test.ts, and through the engine for Konnect too in tests/rotation/kongGroup.test.ts.
 */
const ISSUER = "https://login.microsoftonline.com/3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c/v2.0";
const TOKEN = `kpat_${randomUUID().replaceAll("-", "")}`;
const CP = randomUUID();
const OTHER_CP = randomUUID();
const PLUGINS = new RegExp(`^/v2/control-planes/${CP}/core-entities/plugins$`);
const plugin = (id: string) => new RegExp(`^/v2/control-planes/${CP}/core-entities/plugins/${id}$`);

describe("kong-openid-connect adapter on Konnect", () => {
  let konnect: KonnectEmulator;
  let http: HttpClient;
  /** Every wait the HTTP layer asked for before a retry, in ms (the real wait is cut to 20 ms). */
  const waits: number[] = [];
  const clientId = randomUUID();
  const { logger, lines } = memoryLogger(new Redactor());
  const scanner = new SecretScanner();
  const errors: unknown[] = [];

  const adapterWith = (overrides: Record<string, unknown> = {}, token = TOKEN): GatewayAdapter => {
    const config = gatewaySchema.parse({
      kind: "kong-openid-connect",
      api: "konnect",
      konnectUrl: `${konnect.url}/v2`,
      controlPlaneId: CP,
      accessTokenSecretName: "konnect-token",
      pageSize: 4,
      maxRequestsPerSecond: 1000,
      ...overrides,
    }) as KongGatewayConfig;
    return createKongAdapter({ config, token, http, clientId, logger });
  };
  const failure = rotatorFailure(errors, logger);

  beforeAll(async () => {
    konnect = new KonnectEmulator({ accessToken: TOKEN, controlPlaneIds: [CP, OTHER_CP] });
    await konnect.start();
    http = fastHttp({ ca: konnect.caCertPem }, { capMs: 20, maxRetries: 2, waits });
  });
  beforeEach(() => {
    konnect.reset();
    waits.length = 0;
  });
  afterAll(async () => {
    scanner.addSecrets(konnect.issuedSecrets());
    scanner.collectAll("log", lines).collectAll("error", errors);
    expect(scanner.assertClean()).toBeGreaterThan(3);
    await konnect.close();
  });

  /** 10 plugins on our control plane, every other one ours, one serving two clients; and one of ours on another control plane. */
  function seedEstate(): { ours: string[]; multi: string } {
    const estate = seedKongEstate((input) => konnect.seedPlugin(input), { issuer: ISSUER, clientId, count: 9, every: 2, tags: ["sso"] });
    konnect.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: [`elsewhere-${randomUUID()}`], controlPlaneId: OTHER_CP });
    return estate;
  }

  it("discovers the control plane's openid-connect plugins with the client ID across pages of core-entities/plugins, with the Bearer token, and nothing of another control plane", async () => {
    const { ours } = seedEstate();
    const targets = await adapterWith().listTargets({ clientId });
    expect(targets.map((t) => t.id).sort()).toEqual([...ours].sort());
    // 10 plugins at 4 per page: 3 pages.
    expect(konnect.server.count("GET", PLUGINS)).toBe(3);
    expect(targets.every((t) => t.tokenUrl === ISSUER && t.secretFingerprint && t.fingerprintSalt)).toBe(true);
  });

  it("writes with one full PUT of the plugin as read (no PATCH): client_secret index-aligned with client_id, the other client's secret and every other field kept, proven by the re-read's salted hash", async () => {
    const { multi } = seedEstate();
    // Fields a PATCH-shaped body would leave out, and a full PUT would reset: they must survive.
    konnect.editPlugin(multi, { cache_ttl: 120, client_auth: ["client_secret_post", "client_secret_post"] });
    const before = konnect.plugins().find((p) => p.id === multi)!;
    const adapter = adapterWith();
    const secret = await writeFreshSecret(adapter, clientId, multi, scanner);
    const stored = konnect.plugins().find((p) => p.id === multi)!;
    expect(stored.config).toEqual({ ...before.config, client_secret: [before.config.client_secret![0], secret] });
    expect(stored).toMatchObject({ instance_name: "oidc-multi", tags: ["sso"], created_at: before.created_at });
    expect(konnect.server.count("PUT", plugin(multi))).toBe(1);
    expect(konnect.server.count("PATCH", /./)).toBe(0);
    // Read, write, read again: no ETag to trust (§ Concurrency).
    expect(konnect.server.count("GET", plugin(multi))).toBe(2);
  });

  it("a refused token: 401 is GATEWAY_UNAUTHORIZED naming the Key Vault secret and what to do in Konnect; 403 is GATEWAY_FORBIDDEN naming the control plane; an unknown control plane is GATEWAY_NOT_FOUND naming controlPlaneId", async () => {
    seedEstate();
    const e401 = await failure(adapterWith({}, `kpat_wrong${randomUUID()}`).listTargets({ clientId }));
    expect(e401.code).toBe("GATEWAY_UNAUTHORIZED");
    expect(e401.hint).toContain(`Key Vault secret "konnect-token"`);
    expect(e401.hint).toContain("Konnect personal access or system-account token");
    konnect.denyControlPlane(CP);
    const e403 = await failure(adapterWith().listTargets({ clientId }));
    expect(e403.code).toBe("GATEWAY_FORBIDDEN");
    expect(e403.message).toContain(`no access to Konnect control plane ${CP}`);
    expect(e403.hint).toContain(`no access to control plane ${CP}`);
    const e404 = await failure(adapterWith({ controlPlaneId: randomUUID() }).listTargets({ clientId }));
    expect(e404.code).toBe("GATEWAY_NOT_FOUND");
    expect(e404.hint).toContain("groups[].controlPlaneId");
  });

  it("429 + Retry-After on the listing and on the PUT is waited out as asked (1 s and 2 s), then the call goes through", async () => {
    const { ours } = seedEstate();
    const adapter = adapterWith();
    konnect.server.faults.add({ route: "^GET /v2/control-planes/[^/]+/core-entities/plugins$", status: 429, retryAfterSeconds: 1, times: 1 });
    expect(await adapter.listTargets({ clientId })).toHaveLength(ours.length);
    konnect.server.faults.add({ route: "^PUT /v2/control-planes/[^/]+/core-entities/plugins/", status: 429, retryAfterSeconds: 2, times: 1 });
    const secret = `new-${randomUUID()}`;
    scanner.addSecrets([secret]);
    expect(fingerprintMatches(await adapter.updateClientSecret(ours[0]!, secret), secret)).toBe(true);
    expect(waits).toEqual([1000, 2000]);
    expect(konnect.server.count("PUT", plugin(ours[0]!))).toBe(2);
  });

  it("a PUT Konnect refuses as a schema violation is GATEWAY_REJECTED, and a plugin deleted since the listing is GATEWAY_TARGET_NOT_FOUND (never re-created by the upsert)", async () => {
    const { ours } = seedEstate();
    const adapter = adapterWith();
    await adapter.listTargets({ clientId });
    konnect.server.faults.add({
      route: "^PUT /v2/control-planes/",
      status: 400,
      body: { code: 2, name: "schema violation", message: "schema violation (config.client_secret: expected an array)", fields: {} },
      times: 1,
    });
    expect((await failure(adapter.updateClientSecret(ours[0]!, `x-${randomUUID()}`))).code).toBe("GATEWAY_REJECTED");
    konnect.deletePlugin(ours[1]!);
    expect((await failure(adapter.updateClientSecret(ours[1]!, `y-${randomUUID()}`))).code).toBe("GATEWAY_TARGET_NOT_FOUND");
    expect(konnect.plugins().some((p) => p.id === ours[1])).toBe(false);
  });
  it("a full PUT answered by an error body that quotes the request leaks none of the plugin's secrets: the new one, the other client's, nor a session secret the PUT carries back", async () => {
    const { multi } = seedEstate();
    const sessionSecret = `session-${randomUUID()}`;
    konnect.editPlugin(multi, { session_secret: sessionSecret });
    const otherClients = konnect.plugins().find((p) => p.id === multi)!.config.client_secret![0]!;
    const adapter = adapterWith();
    await adapter.listTargets({ clientId });
    const secret = `new-${randomUUID()}`;
    // A hostile or buggy upstream quotes what it was sent, first thing in a short body (so no cut of the snippet hides it).
    konnect.server.faults.add({
      route: "^PUT /v2/control-planes/",
      status: 400,
      body: { code: 2, name: "schema violation", message: `schema violation (config: ${sessionSecret} ${otherClients} ${secret})` },
      times: 1,
    });
    scanner.addSecrets([secret, sessionSecret]);
    const e = await failure(adapter.updateClientSecret(multi, secret));
    expect(e.code).toBe("GATEWAY_REJECTED");
    expect(new SecretScanner().addSecrets([secret, otherClients, sessionSecret]).collect("error", e).assertClean()).toBeGreaterThan(0);
  });
});
