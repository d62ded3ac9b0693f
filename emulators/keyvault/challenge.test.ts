import { randomUUID } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretScanner } from "../../tests/helpers/secretScan.js";
import { startKeyVaultFixture, type KeyVaultFixture } from "./fixture.js";

/** The Key Vault bearer challenge as the real SecretClient + ClientSecretCredential run it. */
describe("Key Vault emulator: authentication challenge", () => {
  let f: KeyVaultFixture;
  const scanner = new SecretScanner();

  beforeAll(async () => {
    f = await startKeyVaultFixture();
    scanner.addSecrets([f.entra.operator.secret]);
  });
  afterAll(async () => {
    await f?.close();
  });

  it("answers a request without a bearer with 401 and the exact challenge header, before reading the body", async () => {
    const res = await f.raw("PUT", "/secrets/no-token?api-version=2026-04-01");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe(`Bearer authorization="${f.entra.url}/${f.entra.tenantId}", resource="https://vault.azure.net"`);
    expect(res.body).toEqual({ error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } });
    scanner.collect("401 body", res.body);
  });

  it("lets the real SecretClient answer the challenge with a token for https://vault.azure.net/.default from the challenged tenant", async () => {
    const tokenCallsBefore = f.entra.emulator.server.count("POST", /\/oauth2\/v2\.0\/token$/);
    const requestsBefore = f.vault.server.requests.length;
    const client = f.client();
    await client.setSecret("challenge-flow", "challenge-flow-value-1");
    const read = await client.getSecret("challenge-flow");
    expect(read.value).toBe("challenge-flow-value-1");
    const seen = f.vault.server.requests.slice(requestsBefore).map((r) => `${r.method} ${r.path} ${r.status}`);
    // One unauthenticated probe per client, then every call carries the cached token.
    expect(seen).toEqual(["PUT /secrets/challenge-flow 401", "PUT /secrets/challenge-flow 200", "GET /secrets/challenge-flow/ 200"]);
    expect(f.entra.emulator.server.count("POST", /\/oauth2\/v2\.0\/token$/)).toBe(tokenCallsBefore + 1);
  });

  it("rejects a bearer the authority never issued with 401 and a fresh challenge", async () => {
    const res = await f.raw("GET", "/secrets/challenge-flow/?api-version=2026-04-01", { token: "not-issued-by-the-authority" });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toContain('resource="https://vault.azure.net"');
    expect((res.body as { error: { code: string } }).error.code).toBe("Unauthorized");
  });

  it("rejects a token issued for another resource with AKV10022 Invalid audience", async () => {
    const graphToken = await f.credential().getToken("https://graph.microsoft.com/.default");
    const res = await f.raw("GET", "/secrets/challenge-flow/?api-version=2026-04-01", { token: graphToken!.token });
    expect(res.status).toBe(401);
    expect((res.body as { error: { message: string } }).error.message).toBe(
      "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://graph.microsoft.com.",
    );
    scanner.collect("AKV10022 body", res.body);
  });

  it("rejects a vault token from another tenant with AKV10032 Invalid issuer", async () => {
    const otherTenant = randomUUID();
    f.entra.emulator.seedTenant({ tenantId: otherTenant, displayName: "Fabrikam" });
    const app = f.entra.emulator.seedApplication({ tenantId: otherTenant, displayName: "foreign app", requiredScopes: [] });
    const secret = f.entra.emulator.seedPassword(app.id, { displayName: "foreign", endDateTime: new Date(Date.now() + 86_400_000).toISOString() }).secretText;
    scanner.addSecrets([secret]);
    const foreign = new ClientSecretCredential(otherTenant, app.appId, secret, {
      authorityHost: f.entra.url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: f.caCertPem },
      retryOptions: { maxRetries: 0 },
    });
    const token = await foreign.getToken("https://vault.azure.net/.default");
    const res = await f.raw("GET", "/secrets/challenge-flow/?api-version=2026-04-01", { token: token.token });
    expect(res.status).toBe(401);
    expect((res.body as { error: { message: string } }).error.message).toBe(
      `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${f.entra.tenantId}/, found https://sts.windows.net/${otherTenant}/.`,
    );
    scanner.collect("AKV10032 body", res.body);
  });

  it("makes the SDK refuse a loopback vault unless challenge resource verification is disabled", async () => {
    const strict = new SecretClient(f.vaultUrl, f.credential(), { tlsOptions: { ca: f.caCertPem }, retryOptions: { maxRetries: 0 } });
    const err = await strict.getSecret("challenge-flow").then(
      () => new Error("expected the strict client to refuse the loopback vault"),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain("does not match the requested domain");
    scanner.collect("strict client error", err);
  });

  it("leaks no client secret in any answer or error", () => {
    expect(scanner.assertClean()).toBeGreaterThan(0);
  });
});
