import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { explainAadsts } from "../../src/entra/aadsts.js";
import { authorizeUrlFor, createTokenEndpointClient, discoveryUrlFor, fetchDiscovery, tokenUrlFor } from "../../src/entra/token.js";
import type { TokenEndpointClient, TokenResult } from "../../src/entra/types.js";
import { RotatorError } from "../../src/errors.js";
import { HttpClient } from "../../src/http/client.js";
import { SecretScanner } from "../helpers/secretScan.js";

let fx: EntraFixture;
let sleeps: number[];
let http: HttpClient;
let client: TokenEndpointClient;
const outputs: unknown[] = [];
const DAY = 86_400_000;

beforeAll(async () => {
  fx = await startEntraFixture();
  sleeps = [];
  http = new HttpClient({
    ca: fx.emulator.caCertPem,
    retry: { maxRetries: 2, baseDelayInMs: 1 },
    // Record the waits instead of sleeping them: the assertion is on what was asked, not on time.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  client = createTokenEndpointClient({ http });
});
afterEach(() => {
  fx.emulator.server.faults.clear();
  sleeps.length = 0;
});
afterAll(async () => {
  await fx.close();
  new SecretScanner().addSecrets(fx.emulator.issuedSecrets()).collectAll("output", outputs).assertClean();
});

async function request(tokenUrl: string, clientId: string, clientSecret: string): Promise<TokenResult> {
  const r = await client.requestToken({ tokenUrl, clientId, clientSecret });
  outputs.push(r);
  return r;
}

describe("URL builders", () => {
  it("build tenant-specific v2 endpoints, tolerating a trailing slash on the authority", () => {
    expect(tokenUrlFor("https://login.microsoftonline.com/", "contoso.com")).toBe("https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token");
    expect(authorizeUrlFor("https://login.microsoftonline.com", "common")).toBe("https://login.microsoftonline.com/common/oauth2/v2.0/authorize");
    expect(discoveryUrlFor("https://login.microsoftonline.com", "t")).toBe("https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration");
  });
});

describe("token endpoint client", () => {
  it("reports success with the status and lifetime, never the token", async () => {
    const r = await request(tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, fx.target.secret.secretText);
    expect(r).toEqual({ ok: true, status: 200, expiresIn: 3599 });
  });

  it("decodes each AADSTS failure with its HTTP status and OAuth error", async () => {
    const expired = fx.emulator.seedPassword(fx.target.app.id, {
      displayName: "expired",
      startDateTime: new Date(fx.clock.now().getTime() - 2 * DAY).toISOString(),
      endDateTime: new Date(fx.clock.now().getTime() - DAY).toISOString(),
    });
    const cases: [string, string, string, { status: number; error: string; aadsts: number }][] = [
      [tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, "wrong-secret-value-0001", { status: 401, error: "invalid_client", aadsts: 7000215 }],
      [tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, expired.secretText, { status: 401, error: "invalid_client", aadsts: 7000222 }],
      [
        tokenUrlFor(fx.url, fx.tenantId),
        "0e0e0e0e-0000-4000-8000-000000000000",
        "some-secret-0002",
        { status: 400, error: "unauthorized_client", aadsts: 700016 },
      ],
      [
        tokenUrlFor(fx.url, "0f0f0f0f-0000-4000-8000-000000000000"),
        fx.target.app.appId,
        "some-secret-0003",
        { status: 400, error: "invalid_request", aadsts: 90002 },
      ],
      [tokenUrlFor(fx.url, "common"), fx.target.app.appId, fx.target.secret.secretText, { status: 400, error: "invalid_request", aadsts: 9001023 }],
      [tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, "", { status: 401, error: "invalid_client", aadsts: 7000218 }],
    ];
    for (const [url, clientId, secret, expected] of cases) {
      const r = await request(url, clientId, secret);
      expect(r).toMatchObject({ ok: false, ...expected });
      expect(r.ok === false && r.description).toMatch(new RegExp(`^AADSTS${expected.aadsts}: `));
      expect(explainAadsts(expected.aadsts)?.hint).toBeTruthy();
    }
  });

  it("reports a secret that has not replicated yet as AADSTS7000215, then success once it has", async () => {
    fx.emulator.setReplicationDelay(20_000);
    const fresh = fx.emulator.seedPassword(fx.target.app.id, {
      displayName: "fresh",
      endDateTime: new Date(fx.clock.now().getTime() + DAY).toISOString(),
      replicated: false,
    });
    fx.emulator.setReplicationDelay(0);
    expect(await request(tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, fresh.secretText)).toMatchObject({ ok: false, aadsts: 7000215 });
    expect(explainAadsts(7000215)?.transient).toBe(true);
    fx.clock.advance(20_000);
    expect(await request(tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, fresh.secretText)).toMatchObject({ ok: true });
  });

  it("waits out 429 + Retry-After and then gets the token", async () => {
    fx.emulator.server.faults.add({ route: "^POST /.*/oauth2/v2\\.0/token$", status: 429, retryAfterSeconds: 2, times: 1 });
    const before = fx.emulator.server.count("POST", /\/token$/);
    const r = await request(tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, fx.target.secret.secretText);
    expect(r).toMatchObject({ ok: true });
    expect(sleeps).toEqual([2000]);
    expect(fx.emulator.server.count("POST", /\/token$/) - before).toBe(2);
  });

  it("does not repeat the POST on a 503 (the server may have acted): it reports the status", async () => {
    fx.emulator.server.faults.add({ route: "^POST /.*/oauth2/v2\\.0/token$", status: 503, times: 1 });
    const before = fx.emulator.server.count("POST", /\/token$/);
    const r = await request(tokenUrlFor(fx.url, fx.tenantId), fx.target.app.appId, fx.target.secret.secretText);
    expect(r).toMatchObject({ ok: false, status: 503, error: "http_503" });
    expect(fx.emulator.server.count("POST", /\/token$/) - before).toBe(1);
  });

  it("truncation before scrubbing: a secret echoed across the description's cut leaves no fragment in the result", async () => {
    const secret = fx.target.secret.secretText;
    const results: TokenResult[] = [];
    for (let before = 500 - secret.length; before < 500 - 7; before++) {
      // Not JSON: the client falls back to the raw body, which it used to cut before scrubbing.
      fx.emulator.server.faults.add({ route: "/token$", status: 400, body: `${"x".repeat(before)}${secret} trailing`, times: 1 });
      results.push(await client.requestToken({ tokenUrl: tokenUrlFor(fx.url, fx.tenantId), clientId: fx.target.app.appId, clientSecret: secret }));
    }
    for (const r of results) expect(r).toMatchObject({ ok: false, status: 400 });
    expect(new SecretScanner().addSecrets([secret]).collectAll("result", results).assertNoFragments()).toBe(results.length);
  });

  it("encoded secrets: a base64-echoed secret in an error description is redacted", async () => {
    const secret = fx.target.secret.secretText;
    const b64 = Buffer.from(`{"client_secret":"${secret}"}`).toString("base64");
    fx.emulator.server.faults.add({
      route: "/token$",
      status: 401,
      body: { error: "invalid_client", error_description: `AADSTS7000215: got ${b64}` },
      times: 1,
    });
    const r = await client.requestToken({ tokenUrl: tokenUrlFor(fx.url, fx.tenantId), clientId: fx.target.app.appId, clientSecret: secret });
    expect(r).toMatchObject({ ok: false, aadsts: 7000215 });
    expect(new SecretScanner().addSecrets([secret]).collect("result", r).assertNoFragments()).toBe(1);
  });

  it("throws a redacted network error when the connection drops", async () => {
    fx.emulator.server.faults.add({ route: "^POST /.*/oauth2/v2\\.0/token$", drop: true, times: 1 });
    const err = await client
      .requestToken({ tokenUrl: tokenUrlFor(fx.url, fx.tenantId), clientId: fx.target.app.appId, clientSecret: fx.target.secret.secretText })
      .catch((e: unknown) => e);
    outputs.push(err);
    expect(err).toBeInstanceOf(RotatorError);
    expect((err as RotatorError).code).toBe("HTTP_NETWORK");
  });
});

describe("fetchDiscovery", () => {
  it("returns the validated document, by GUID or custom domain", async () => {
    const doc = await fetchDiscovery({ http, authorityHost: fx.url, tenant: fx.customDomain });
    expect(doc.token_endpoint).toBe(tokenUrlFor(fx.url, fx.tenantId));
    expect(doc.authorization_endpoint).toBe(authorizeUrlFor(fx.url, fx.tenantId));
  });

  it("reports an unknown tenant as ENTRA_TENANT_NOT_FOUND with AADSTS90002", async () => {
    const err = await fetchDiscovery({ http, authorityHost: fx.url, tenant: "0a0a0a0a-0000-4000-8000-000000000000" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ENTRA_TENANT_NOT_FOUND", aadsts: 90002, status: 400 });
  });

  it("names the missing field of an incomplete document", async () => {
    fx.emulator.server.faults.add({
      route: "openid-configuration$",
      status: 200,
      body: { issuer: "x", authorization_endpoint: "https://a.example.com/authorize", jwks_uri: "https://a.example.com/keys" },
      times: 1,
    });
    const err = await fetchDiscovery({ http, authorityHost: fx.url, tenant: fx.tenantId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ENTRA_DISCOVERY_INVALID" });
    expect((err as Error).message).toContain("missing field 'token_endpoint'");
  });
});
