import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretScanner } from "../../tests/helpers/secretScan.js";
import { startEntraFixture, type EntraFixture } from "../entra/index.js";
import { startGatewayFixture, type GatewayFixture } from "./fixture.js";

/**
 * The test-connection route really POSTs client credentials to the stored token URL: here the
 * Entra emulator's token endpoint over https, trusted through the shared emulator CA.
 */
interface TestResult {
  ok: boolean;
  detail: string;
  checkedAt: string;
}

describe("gateway emulator: test connection against a real token endpoint", () => {
  let entra: EntraFixture;
  let f: GatewayFixture;
  let tokenUrl: string;
  const scanner = new SecretScanner();

  beforeAll(async () => {
    entra = await startEntraFixture();
    tokenUrl = `${entra.url}/${entra.tenantId}/oauth2/v2.0/token`;
    f = await startGatewayFixture({
      ca: entra.emulator.caCertPem,
      tokenAcceptance: (url, clientId, secret) => url === tokenUrl && entra.emulator.isSecretAccepted(entra.tenantId, clientId, secret),
    });
  });
  afterAll(async () => {
    scanner.addSecrets([...f.emulator.issuedSecrets(), ...entra.emulator.issuedSecrets()]);
    expect(scanner.assertClean()).toBeGreaterThan(0);
    await f?.close();
    await entra?.close();
  });

  const seed = (secret: string, url = tokenUrl, clientId = entra.target.app.appId) =>
    f.emulator.seedServer({
      name: `tc-${randomUUID().slice(0, 6)}`,
      tokenUrl: url,
      clientId,
      clientSecret: secret,
      scopes: ["openid", "profile", "email", "User.Read"],
    });
  const test = async (id: string): Promise<TestResult> => {
    const r = await f.call<TestResult>("POST", `/mcp-servers/${id}/authentication/test`);
    scanner.collect(`test ${id}`, r.text);
    expect(r.status).toBe(200);
    return r.data;
  };

  it("answers ok when Entra issues a token for the stored client ID and secret", async () => {
    const s = seed(entra.target.secret.secretText);
    const before = entra.emulator.server.count("POST", /\/oauth2\/v2\.0\/token$/);
    const r = await test(s.id);
    expect(r.ok).toBe(true);
    expect(r.detail).toContain(entra.target.app.appId);
    expect(Date.parse(r.checkedAt)).not.toBeNaN();
    expect(entra.emulator.server.count("POST", /\/oauth2\/v2\.0\/token$/)).toBe(before + 1);
  });

  it("answers not ok with AADSTS7000215 for a wrong secret, without the secret in the detail", async () => {
    const wrong = `wrong-secret-${randomUUID()}`;
    scanner.addSecrets([wrong]);
    const s = seed(wrong);
    const r = await test(s.id);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^token endpoint answered 401 invalid_client: AADSTS7000215/);
    expect(r.detail).not.toContain(wrong);
  });

  it("answers not ok with AADSTS700016 for a client ID the tenant does not know", async () => {
    const s = seed(entra.target.secret.secretText, tokenUrl, randomUUID());
    const r = await test(s.id);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain("AADSTS700016");
  });

  it("answers not ok naming the endpoint when the token URL cannot be reached", async () => {
    const s = seed(entra.target.secret.secretText, "https://127.0.0.1:1/tenant/oauth2/v2.0/token");
    const r = await test(s.id);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^could not reach the token endpoint https:\/\/127\.0\.0\.1:1\/tenant\/oauth2\/v2\.0\/token: ECONNREFUSED/);
  });

  it("reports which stored secrets Entra accepts right now (the no-outage ground truth)", async () => {
    const good = seed(entra.target.secret.secretText);
    const bad = seed(`never-issued-${randomUUID()}`);
    scanner.addSecrets(f.emulator.issuedSecrets());
    const accepted = new Map(f.emulator.secretsAcceptedNow().map((a) => [a.id, a.accepted]));
    expect(accepted.get(good.id)).toBe(true);
    expect(accepted.get(bad.id)).toBe(false);
    const viaControl = await f.call<{ servers: { id: string; accepted: boolean }[] }>("GET", "/_control/secretsAccepted");
    expect(viaControl.data.servers).toContainEqual({ id: good.id, accepted: true });
  });

  it("follows a secret change: a replaced secret that Entra accepts makes the test pass again", async () => {
    const s = seed(`stale-${randomUUID()}`);
    expect((await test(s.id)).ok).toBe(false);
    const fresh = entra.emulator.seedPassword(entra.target.app.id, { displayName: "fresh", endDateTime: new Date(Date.now() + 30 * 86_400_000).toISOString() });
    const patched = await f.call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: fresh.secretText } });
    scanner.collect("patch answer", patched.text);
    expect(patched.status).toBe(200);
    expect((await test(s.id)).ok).toBe(true);
  });
});
