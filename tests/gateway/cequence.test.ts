import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayFixture, type GatewayFixture } from "../../emulators/gateway/fixture.js";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { EmulatorServer } from "../../emulators/common/server.js";
import { gatewaySchema } from "../../src/config/schema.js";
import { HttpClient } from "../../src/http/client.js";
import { createCequenceAdapter } from "../../src/gateway/cequence/index.js";
import { fingerprintMatches } from "../../src/gateway/fingerprint.js";
import type { GatewayAdapter } from "../../src/gateway/types.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { errorTracker, rotatorFailure } from "../helpers/rotatorFailure.js";
import { cequenceConfig, fastHttp, listedServer } from "./helpers.js";

/** The cequence adapter through our real HttpClient against the gateway emulator. */
const TENANT_ID = "0b5f2c1e-7d3a-4e8b-9c6f-2a1d3e4f5a6b";
const TOKEN_URL = `https://login.microsoftonline.com/${TENANT_ID}/oauth2/v2.0/token`;
const OTHER_TOKEN_URL = "https://login.microsoftonline.com/9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b/oauth2/v2.0/token";

describe("cequence adapter", () => {
  let f: GatewayFixture;
  let adapter: GatewayAdapter;
  const clientId = randomUUID();
  const otherClientId = randomUUID();
  const { logger, lines } = memoryLogger(new Redactor());
  const scanner = new SecretScanner();
  const errors: unknown[] = [];
  const track = errorTracker(errors);
  const failure = rotatorFailure(errors);
  /** The next listing page(s) the gateway answers hold `items`, whatever it stores (last page unless a cursor is given). */
  const answerListingWith = (items: unknown[], o: { nextCursor?: string; times?: number } = {}): void =>
    void f.emulator.server.faults.add({ route: "^GET /mcp-servers$", status: 200, times: o.times ?? 1, body: { items, nextCursor: o.nextCursor ?? null } });

  beforeAll(async () => {
    // The gateway serves at most 25 per page although we ask for 40: the adapter must follow nextCursor, not count.
    f = await startGatewayFixture({ pageSizeMax: 25 });
    for (let i = 0; i < 200; i++) {
      // 150 of 200 use our client ID, interleaved so every page mixes both; every 10th of ours points at another tenant.
      const ours = i % 4 !== 3;
      f.emulator.seedServer({
        name: `mcp-${String(i).padStart(3, "0")}`,
        tokenName: "entra-sso",
        tokenUrl: ours && i % 10 === 0 ? OTHER_TOKEN_URL : TOKEN_URL,
        clientId: ours ? (i % 20 === 0 ? clientId.toUpperCase() : clientId) : otherClientId,
        clientSecret: `seeded-${i}-${randomUUID()}`,
        scopes: ["openid", "profile", "email", "User.Read"],
        additionalParameters: { tenantID: TENANT_ID, authorizationUrl: TOKEN_URL.replace("/token", "/authorize"), redirectUri: "https://auth.example.test/cb" },
      });
    }
    adapter = createCequenceAdapter({ config: cequenceConfig(f, { pageSize: 40 }), apiToken: f.apiToken, http: fastHttp(f), logger });
  });
  afterAll(async () => {
    scanner.addSecrets(f.emulator.issuedSecrets());
    scanner.collectAll("log", lines).collectAll("error", errors);
    expect(scanner.assertClean()).toBeGreaterThan(5);
    await f?.close();
  });

  describe("listing", () => {
    it("finds all 150 servers that use the client ID across every page, and none of the others", async () => {
      const listCallsBefore = f.emulator.server.count("GET", /^\/mcp-servers$/);
      const targets = await adapter.listTargets({ clientId });
      const expected = f.emulator.servers().filter((s) => s.clientId.toLowerCase() === clientId);
      expect(expected).toHaveLength(150);
      expect(targets.map((t) => t.id).sort()).toEqual(expected.map((s) => s.id).sort());
      expect(f.emulator.server.count("GET", /^\/mcp-servers$/) - listCallsBefore).toBe(8); // 200 / 25
    });

    it("maps each server's authentication block into a target with fingerprint, salt and ETag", async () => {
      const [t] = await adapter.listTargets({ clientId });
      const truth = f.emulator.servers().find((s) => s.id === t!.id)!;
      expect(t).toEqual({
        id: truth.id,
        name: truth.name,
        tokenName: "entra-sso",
        tokenUrl: truth.tokenUrl,
        clientId: truth.clientId,
        scopes: truth.scopes,
        additionalParameters: truth.additionalParameters,
        secretUpdatedAt: truth.secretUpdatedAt,
        secretFingerprint: truth.secretFingerprint,
        fingerprintSalt: truth.fingerprintSalt,
        etag: truth.etag,
      });
      expect(fingerprintMatches(t!, truth.clientSecret)).toBe(true);
    });

    it("filters by token URL too when given, ignoring case in the host and a trailing slash", async () => {
      const targets = await adapter.listTargets({ clientId, tokenUrls: [TOKEN_URL.replace("login.microsoftonline.com", "LOGIN.microsoftonline.com") + "/"] });
      expect(targets).toHaveLength(130);
      expect(targets.every((t) => t.tokenUrl === TOKEN_URL)).toBe(true);
    });

    it("skips MCP servers whose authentication is not OAuth 2.0 client credentials", async () => {
      const real = f.emulator.servers()[0]!;
      answerListingWith([
        { id: "apikey-1", name: "uses an API key", authentication: { type: "apiKey", headerName: "X-Key" }, etag: '"a"' },
        { id: "none-1", name: "no auth", authentication: null, etag: '"b"' },
        listedServer(real, { clientId, tokenUrl: TOKEN_URL }),
      ]);
      const targets = await adapter.listTargets({ clientId });
      expect(targets.map((t) => t.id)).toEqual([real.id]);
    });
  });

  describe("malformed upstream answers", () => {
    it("names the missing field of a listed server as GATEWAY_BAD_RESPONSE", async () => {
      answerListingWith([
        {
          id: "x1",
          name: "broken",
          etag: '"e"',
          authentication: { type: "oauth2", tokenName: "t", tokenUrl: TOKEN_URL, scopes: [], secretFingerprint: "ab".repeat(32), fingerprintSalt: "s" },
        },
      ]);
      const e = await failure(track(adapter.listTargets({ clientId })));
      expect(e.code).toBe("GATEWAY_BAD_RESPONSE");
      expect(e.message).toContain("items[0].authentication.clientId");
      expect(e.hint).toContain("docs/gateway-contract.md");
      expect(e.retryable).toBe(false);
    });

    it("reports a page without items, a bad fingerprint and a non-JSON body clearly", async () => {
      f.emulator.server.faults.add({ route: "^GET /mcp-servers$", status: 200, times: 1, body: { servers: [] } });
      expect((await failure(track(adapter.listTargets({ clientId })))).message).toMatch(/items: .*expected array/);

      const s = f.emulator.servers()[1]!;
      f.emulator.server.faults.add({
        route: `^GET /mcp-servers/${s.id}$`,
        status: 200,
        times: 1,
        body: {
          id: s.id,
          name: s.name,
          etag: s.etag,
          authentication: { type: "oauth2", tokenName: "t", tokenUrl: TOKEN_URL, clientId, scopes: [], secretFingerprint: "not-hex", fingerprintSalt: "s" },
        },
      });
      expect((await failure(track(adapter.readTarget(s.id)))).message).toContain("authentication.secretFingerprint: must be 64 hex characters");

      f.emulator.server.faults.add({ route: "^GET /mcp-servers$", status: 200, times: 1, body: "<html>Gateway maintenance</html>" });
      const e = await failure(track(adapter.listTargets({ clientId })));
      expect(e.code).toBe("GATEWAY_BAD_RESPONSE");
      expect(e.message).toContain("the body is not a JSON object");
    });

    it("stops a listing whose cursor loops instead of paging forever", async () => {
      const item = f.emulator.servers()[0]!;
      answerListingWith([listedServer(item, { clientId, tokenUrl: TOKEN_URL })], { nextCursor: "same-cursor", times: 3 });
      const e = await failure(track(adapter.listTargets({ clientId })));
      expect(e.code).toBe("GATEWAY_BAD_RESPONSE");
      expect(e.message).toContain("nextCursor repeats");
      f.emulator.server.faults.clear();
    });
  });

  describe("updates", () => {
    it("replaces the secret with If-Match and returns the new ETag and fingerprint", async () => {
      const [t] = await adapter.listTargets({ clientId });
      const secret = `adapter-new-${randomUUID()}`;
      scanner.addSecrets([secret]);
      const updated = await adapter.updateClientSecret(t!.id, secret, { ifMatch: t!.etag });
      expect(updated.etag).not.toBe(t!.etag);
      expect(fingerprintMatches(updated, secret)).toBe(true);
      expect(f.emulator.servers().find((s) => s.id === t!.id)!.clientSecret).toBe(secret);
      const read = await adapter.readTarget(t!.id);
      expect(read.etag).toBe(updated.etag);
    });

    it("turns a stale ETag into a retryable GATEWAY_PRECONDITION_FAILED and writes nothing", async () => {
      const [, t] = await adapter.listTargets({ clientId });
      f.emulator.editServer(t!.id, { name: `${t!.name}-edited` });
      const secret = `stale-etag-${randomUUID()}`;
      scanner.addSecrets([secret]);
      const e = await failure(track(adapter.updateClientSecret(t!.id, secret, { ifMatch: t!.etag })));
      expect(e.code).toBe("GATEWAY_PRECONDITION_FAILED");
      expect(e.status).toBe(412);
      expect(e.retryable).toBe(true);
      expect(e.message).not.toContain(secret);
      expect(f.emulator.servers().find((s) => s.id === t!.id)!.clientSecret).not.toBe(secret);
    });

    it("retries a throttled PATCH after Retry-After (429 means not applied) and applies it once", async () => {
      const [, , t] = await adapter.listTargets({ clientId });
      const path = `/mcp-servers/${t!.id}/authentication`;
      f.emulator.server.faults.add({ route: `^PATCH ${path}$`, status: 429, retryAfterSeconds: 1, times: 2 });
      const before = f.emulator.server.count("PATCH", new RegExp(`^${path}$`));
      const secret = `after-throttle-${randomUUID()}`;
      scanner.addSecrets([secret]);
      const updated = await adapter.updateClientSecret(t!.id, secret, { ifMatch: t!.etag });
      expect(fingerprintMatches(updated, secret)).toBe(true);
      const patches = f.emulator.server.requests.filter((r) => r.method === "PATCH" && r.path === path).slice(before);
      expect(patches.map((r) => r.status)).toEqual([429, 429, 200]);
    });

    it("does not repeat a PATCH that failed with 503: the outcome is unknown, so the caller decides", async () => {
      const [, , , t] = await adapter.listTargets({ clientId });
      const path = `/mcp-servers/${t!.id}/authentication`;
      f.emulator.server.faults.add({ route: `^PATCH ${path}$`, status: 503, times: 1 });
      const e = await failure(track(adapter.updateClientSecret(t!.id, `unavailable-${randomUUID()}`)));
      expect(e.code).toBe("GATEWAY_UNAVAILABLE");
      expect(e.retryable).toBe(true);
      expect(e.message).toContain("may or may not have been applied");
      expect(f.emulator.server.count("PATCH", new RegExp(`^${path}$`))).toBe(1);
    });

    it("reports an unknown server as GATEWAY_TARGET_NOT_FOUND", async () => {
      const e = await failure(track(adapter.readTarget("mcp_does_not_exist")));
      expect(e.code).toBe("GATEWAY_TARGET_NOT_FOUND");
      expect(e.status).toBe(404);
    });

    it("rejects a secret the gateway refuses as GATEWAY_REJECTED with the field named", async () => {
      const [t] = await adapter.listTargets({ clientId });
      const e = await failure(track(adapter.updateClientSecret(t!.id, "x".repeat(2000))));
      expect(e.code).toBe("GATEWAY_REJECTED");
      expect(e.message).toContain("clientSecret");
      expect(e.retryable).toBe(false);
    });
  });

  describe("authentication failures keep the API token secret", () => {
    it("maps 401 to GATEWAY_UNAUTHORIZED naming the Key Vault secret to fix", async () => {
      const wrongToken = `gwtok_wrong_${randomUUID()}`;
      scanner.addSecrets([wrongToken]);
      const bad = createCequenceAdapter({ config: cequenceConfig(f), apiToken: wrongToken, http: fastHttp(f), logger });
      const e = await failure(track(bad.listTargets({ clientId })));
      expect(e.code).toBe("GATEWAY_UNAUTHORIZED");
      expect(e.status).toBe(401);
      expect(e.hint).toContain('"gateway-api-token"');
      expect(JSON.stringify(e.toJSON())).not.toContain(wrongToken);
    });

    it("maps 403 to GATEWAY_FORBIDDEN naming the tenant", async () => {
      const other = createCequenceAdapter({ config: cequenceConfig(f, { tenant: "not-our-tenant" }), apiToken: f.apiToken, http: fastHttp(f), logger });
      const e = await failure(track(other.listTargets({ clientId })));
      expect(e.code).toBe("GATEWAY_FORBIDDEN");
      expect(e.message).toContain('"not-our-tenant"');
    });

    it("maps a wrong base path to GATEWAY_NOT_FOUND pointing at gateway.paths", async () => {
      const wrong = createCequenceAdapter({ config: cequenceConfig(f, { paths: { list: "/v2/servers" } }), apiToken: f.apiToken, http: fastHttp(f), logger });
      const e = await failure(track(wrong.listTargets({ clientId })));
      expect(e.code).toBe("GATEWAY_NOT_FOUND");
      expect(e.hint).toContain("gateway.paths.list");
    });

    it("substitutes {tenant} and the URL-encoded {id} into path templates", async () => {
      const templated = createCequenceAdapter({
        config: cequenceConfig(f, {
          paths: {
            list: "/tenants/{tenant}/mcp-servers",
            update: "/tenants/{tenant}/mcp-servers/{id}/authentication",
            test: "/tenants/{tenant}/mcp-servers/{id}/authentication/test",
          },
        }),
        apiToken: f.apiToken,
        http: fastHttp(f),
        logger,
      });
      await failure(track(templated.readTarget("a/b c")));
      expect(f.emulator.server.requests.at(-1)!.path).toBe(`/tenants/${f.tenant}/mcp-servers/a/b c`);
      expect(f.emulator.server.requests.at(-1)!.status).toBe(404);
    });

    it("refuses to build without an API token", () => {
      expect(() => createCequenceAdapter({ config: cequenceConfig(f), apiToken: "", http: fastHttp(f) })).toThrow(
        expect.objectContaining({ code: "GATEWAY_TOKEN_MISSING" }),
      );
    });
  });

  describe("client-side pacing", () => {
    it("paces its own calls so a slow limit is never exceeded, even with the gateway's bucket that small", async () => {
      // The bucket holds 2 and refills 20/s; at 10 requests per second we never see a 429.
      f.emulator.setRateLimit({ capacity: 2, refillPerSecond: 20 });
      try {
        const paced = createCequenceAdapter({
          config: cequenceConfig(f, { maxRequestsPerSecond: 10, pageSize: 25 }),
          apiToken: f.apiToken,
          http: fastHttp(f, { maxRetries: 0 }),
          logger,
        });
        const before = f.emulator.server.requests.length;
        await paced.listTargets({ clientId });
        const after = f.emulator.server.requests.slice(before);
        expect(after).toHaveLength(8);
        expect(after.every((r) => r.status === 200)).toBe(true);
      } finally {
        f.emulator.setRateLimit(undefined);
      }
    });
  });
});

describe("cequence adapter: test connection", () => {
  let entra: EntraFixture;
  let f: GatewayFixture;
  const scanner = new SecretScanner();
  const failure = rotatorFailure([]);

  beforeAll(async () => {
    entra = await startEntraFixture();
    f = await startGatewayFixture({ ca: entra.emulator.caCertPem });
  });
  afterAll(async () => {
    scanner.addSecrets([...f.emulator.issuedSecrets(), ...entra.emulator.issuedSecrets()]);
    expect(scanner.assertClean()).toBeGreaterThan(0);
    await f?.close();
    await entra?.close();
  });

  it("asks the gateway to fetch a token and returns ok, or the AADSTS code for a wrong secret", async () => {
    const tokenUrl = `${entra.url}/${entra.tenantId}/oauth2/v2.0/token`;
    const good = f.emulator.seedServer({ name: "good", tokenUrl, clientId: entra.target.app.appId, clientSecret: entra.target.secret.secretText });
    const bad = f.emulator.seedServer({ name: "bad", tokenUrl, clientId: entra.target.app.appId, clientSecret: `wrong-${randomUUID()}` });
    const adapter = createCequenceAdapter({ config: cequenceConfig(f), apiToken: f.apiToken, http: fastHttp(f) });
    const ok = await adapter.testConnection!(good.id);
    const notOk = await adapter.testConnection!(bad.id);
    scanner.collect("ok", ok).collect("not ok", notOk);
    expect(ok.ok).toBe(true);
    expect(notOk).toEqual({ ok: false, detail: expect.stringContaining("AADSTS7000215") });
  });

  it("has no testConnection when the configuration turns it off", () => {
    const adapter = createCequenceAdapter({ config: cequenceConfig(f, { testConnection: false }), apiToken: f.apiToken, http: fastHttp(f) });
    expect(adapter.testConnection).toBeUndefined();
  });

  it("says GATEWAY_TEST_UNSUPPORTED when the gateway has no test route", async () => {
    const s = f.emulator.seedServer({
      name: "x",
      tokenUrl: "https://login.example.test/t/oauth2/v2.0/token",
      clientId: randomUUID(),
      clientSecret: `x-${randomUUID()}`,
    });
    const adapter = createCequenceAdapter({
      config: cequenceConfig(f, { paths: { test: "/mcp-servers/{id}/check" } }),
      apiToken: f.apiToken,
      http: fastHttp(f),
    });
    const e = await failure(adapter.testConnection!(s.id));
    scanner.collect("error", e);
    expect(e.code).toBe("GATEWAY_TEST_UNSUPPORTED");
    expect(e.hint).toContain("gateway.testConnection");
  });
});

describe("cequence adapter: unbounded upstream answers", () => {
  let endless: EmulatorServer;
  const failure = rotatorFailure([]);
  beforeAll(async () => {
    // A gateway whose cursor never ends (each page names a fresh cursor), and one huge answer.
    endless = new EmulatorServer({ name: "endless-gateway" });
    let n = 0;
    endless.route("GET", /^\/mcp-servers$/, () => ({ status: 200, body: { items: [], nextCursor: `c${++n}` } }));
    endless.route("GET", /^\/huge\/mcp-servers$/, () => ({ status: 200, body: { items: [], pad: "z".repeat(3 * 1024 * 1024) } }));
    await endless.start();
  });
  afterAll(async () => {
    await endless?.close();
  });
  const config = (overrides: Record<string, unknown> = {}) => {
    const parsed = gatewaySchema.parse({
      kind: "cequence",
      baseUrl: endless.url,
      tenant: "t",
      apiTokenSecretName: "gateway-api-token",
      maxRequestsPerSecond: 1000,
      ...overrides,
    });
    if (parsed.kind !== "cequence") throw new Error("expected cequence");
    return parsed;
  };

  it("unbounded upstream answers: pagination stops at a page count derived from the page size", async () => {
    const a = createCequenceAdapter({ config: config({ pageSize: 500 }), apiToken: "endless-api-token-0001", http: new HttpClient() });
    const before = endless.count("GET", /^\/mcp-servers$/);
    const err = await failure(a.listTargets({ clientId: randomUUID() }));
    expect(err.message).toMatch(/more than 21 pages of 500/);
    expect(endless.count("GET", /^\/mcp-servers$/) - before).toBe(21);
  });

  it("unbounded upstream answers: pagination stops when the listing outlasts its time budget", async () => {
    let t = 0;
    const a = createCequenceAdapter({
      config: config({ pageSize: 1 }),
      apiToken: "endless-api-token-0001",
      http: new HttpClient(),
      listBudgetInMs: 60_000,
      now: () => (t += 10_000),
    });
    const err = await failure(a.listTargets({ clientId: randomUUID() }));
    expect(err.message).toMatch(/took longer than 60 s after \d+ pages/);
  });

  it("unbounded upstream answers: a huge gateway body fails typed instead of being read whole", async () => {
    const a = createCequenceAdapter({ config: config({ paths: { list: "/huge/mcp-servers" } }), apiToken: "endless-api-token-0001", http: new HttpClient() });
    const err = await failure(a.listTargets({ clientId: randomUUID() }));
    expect(err.code).toBe("HTTP_RESPONSE_TOO_LARGE");
  });

  it("unbounded upstream answers: maxRequestsPerSecond has a sane minimum", () => {
    expect(
      gatewaySchema.safeParse({ kind: "cequence", baseUrl: "https://g.example.com", tenant: "t", apiTokenSecretName: "x", maxRequestsPerSecond: 0.001 })
        .success,
    ).toBe(false);
  });
});
