import { ClientSecretCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../../src/http/client.js";
import { closeScanned, SecretScanner } from "../../tests/helpers/secretScan.js";
import { startEntraFixture, type EntraFixture } from "./fixture.js";

/** Fidelity of the discovery documents and the client-credentials token endpoint, through the real identity library. */
let fx: EntraFixture;
let http: HttpClient;
const scan = new SecretScanner();
const errors: unknown[] = [];
const GRAPH = "https://graph.microsoft.com/.default";

beforeAll(async () => {
  fx = await startEntraFixture();
  http = new HttpClient({ ca: fx.emulator.caCertPem, retry: { maxRetries: 0 } });
});

afterAll(() => closeScanned(fx, scan, { "sdk error": errors }));

function credential(tenant: string, clientId: string, secret: string): ClientSecretCredential {
  return new ClientSecretCredential(tenant, clientId, secret, {
    authorityHost: fx.url,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: fx.emulator.caCertPem },
    retryOptions: { maxRetries: 0 },
  });
}

async function sdkError(tenant: string, clientId: string, secret: string, scope = GRAPH): Promise<Error> {
  try {
    await credential(tenant, clientId, secret).getToken(scope);
  } catch (e) {
    errors.push(e);
    return e as Error;
  }
  throw new Error("getToken unexpectedly succeeded");
}

/** The target app's client-credentials form, with its real secret unless another is given. */
function targetForm(secret = fx.target.secret.secretText): Record<string, string> {
  return { grant_type: "client_credentials", client_id: fx.target.app.appId, client_secret: secret, scope: GRAPH };
}

function postToken(tenant: string, form: Record<string, string>, headers?: Record<string, string>) {
  return http.request<Record<string, unknown>>({
    method: "POST",
    url: `${fx.url}/${tenant}/oauth2/v2.0/token`,
    form,
    ...(headers ? { headers } : {}),
    throwOnHttpError: false,
    secrets: form.client_secret ? [form.client_secret] : [],
  });
}

describe("OIDC discovery", () => {
  it("serves the v2 document for a tenant GUID with tenant-specific endpoints", async () => {
    const res = await http.request<Record<string, string>>({ method: "GET", url: `${fx.url}/${fx.tenantId}/v2.0/.well-known/openid-configuration` });
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({
      authorization_endpoint: `${fx.url}/${fx.tenantId}/oauth2/v2.0/authorize`,
      token_endpoint: `${fx.url}/${fx.tenantId}/oauth2/v2.0/token`,
      issuer: `${fx.url}/${fx.tenantId}/v2.0`,
      jwks_uri: `${fx.url}/${fx.tenantId}/discovery/v2.0/keys`,
    });
  });

  it("resolves a custom domain to the tenant and still names the tenant GUID in the endpoints", async () => {
    const res = await http.request<Record<string, string>>({
      method: "GET",
      url: `${fx.url}/${fx.customDomain.toUpperCase()}/v2.0/.well-known/openid-configuration`,
    });
    expect(res.status).toBe(200);
    expect(res.data.token_endpoint).toBe(`${fx.url}/${fx.tenantId}/oauth2/v2.0/token`);
  });

  it("serves common and organizations with alias endpoints and the {tenantid} issuer template", async () => {
    for (const alias of ["common", "organizations"]) {
      const res = await http.request<Record<string, string>>({ method: "GET", url: `${fx.url}/${alias}/v2.0/.well-known/openid-configuration` });
      expect(res.data.authorization_endpoint).toBe(`${fx.url}/${alias}/oauth2/v2.0/authorize`);
      expect(res.data.issuer).toBe(`${fx.url}/{tenantid}/v2.0`);
    }
  });

  it("serves the v1 document too", async () => {
    const res = await http.request<Record<string, string>>({ method: "GET", url: `${fx.url}/${fx.tenantId}/.well-known/openid-configuration` });
    expect(res.data.token_endpoint).toBe(`${fx.url}/${fx.tenantId}/oauth2/token`);
    expect(res.data.issuer).toBe(`https://sts.windows.net/${fx.tenantId}/`);
  });

  it("answers an unknown tenant with 400 invalid_tenant AADSTS90002", async () => {
    const res = await http.request<Record<string, unknown>>({
      method: "GET",
      url: `${fx.url}/00000000-1111-2222-3333-444444444444/v2.0/.well-known/openid-configuration`,
      throwOnHttpError: false,
    });
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({ error: "invalid_tenant", error_codes: [90002] });
    expect(String(res.data.error_description)).toMatch(/^AADSTS90002: Tenant '00000000-1111-2222-3333-444444444444' not found\./);
  });

  it("answers a malformed tenant identifier with AADSTS900023", async () => {
    const res = await http.request<Record<string, unknown>>({
      method: "GET",
      url: `${fx.url}/not_a_tenant/v2.0/.well-known/openid-configuration`,
      throwOnHttpError: false,
    });
    expect(res.data).toMatchObject({ error_codes: [900023] });
  });
});

describe("token endpoint through ClientSecretCredential", () => {
  it("issues a Graph token that the emulator can validate, addressed by GUID", async () => {
    const token = await credential(fx.tenantId, fx.target.app.appId, fx.target.secret.secretText).getToken(GRAPH);
    // A compact JWS (header.claims.signature); its signature and claims are pinned in accessTokenJwt.test.ts.
    expect(token.token.split(".")).toHaveLength(3);
    expect(fx.emulator.validateAccessToken(token.token)).toMatchObject({
      appId: fx.target.app.appId,
      tenantId: fx.tenantId,
      audience: "https://graph.microsoft.com",
    });
  });

  it("issues a Key Vault token when addressed by custom domain", async () => {
    const token = await credential(fx.customDomain, fx.operator.app.appId, fx.operator.secret).getToken("https://vault.azure.net/.default");
    expect(fx.emulator.validateAccessToken(token.token)).toMatchObject({ audience: "https://vault.azure.net", tenantId: fx.tenantId });
  });

  it("surfaces AADSTS7000215 for a wrong secret", async () => {
    const err = await sdkError(fx.tenantId, fx.target.app.appId, "definitely-not-the-secret-0001");
    expect(err.message).toContain("AADSTS7000215");
  });

  it("surfaces AADSTS7000222 for an expired secret", async () => {
    const expired = fx.emulator.seedPassword(fx.target.app.id, {
      displayName: "expired",
      startDateTime: new Date(fx.clock.now().getTime() - 10 * 86_400_000).toISOString(),
      endDateTime: new Date(fx.clock.now().getTime() - 86_400_000).toISOString(),
    });
    const err = await sdkError(fx.tenantId, fx.target.app.appId, expired.secretText);
    expect(err.message).toContain("AADSTS7000222");
    expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, expired.secretText)).toBe(false);
  });

  it("surfaces AADSTS700016 for a client ID the tenant does not have", async () => {
    const err = await sdkError(fx.tenantId, "9a9a9a9a-0000-4000-8000-000000000001", "some-secret-value-0001");
    expect(err.message).toContain("AADSTS700016");
  });

  it("hides AADSTS90002 for an unknown tenant behind MSAL's endpoints_resolution_error (only a plain POST sees the code)", async () => {
    const err = await sdkError("00000000-1111-2222-3333-444444444444", fx.target.app.appId, fx.target.secret.secretText);
    expect(err.name).toBe("CredentialUnavailableError");
    expect(err.message).toContain("endpoints_resolution_error");
    const res = await postToken("00000000-1111-2222-3333-444444444444", targetForm());
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({ error: "invalid_request", error_codes: [90002] });
  });

  it("refuses client credentials on /common: MSAL before sending anything, Entra with AADSTS9001023", async () => {
    const before = fx.emulator.server.count("POST", /^\/common\//);
    const err = await sdkError("common", fx.target.app.appId, fx.target.secret.secretText);
    expect(err.message).toContain("missing_tenant_id_error");
    expect(fx.emulator.server.count("POST", /^\/common\//)).toBe(before);

    const res = await postToken("common", targetForm());
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({ error: "invalid_request", error_codes: [9001023] });
    expect(String(res.data.error_description)).toMatch(/^AADSTS9001023: The grant type isn't supported over the \/common or \/consumers endpoints/);
  });

  it("refuses client credentials on /organizations with AADSTS50059 (no tenant to issue for)", async () => {
    const res = await postToken("organizations", targetForm("x-secret-value-000"));
    expect(res.data).toMatchObject({ error_codes: [50059] });
  });
});

describe("token endpoint error bodies (plain form POST)", () => {
  it("answers a wrong secret with 401 invalid_client and Entra's full error body", async () => {
    const res = await postToken(
      fx.tenantId,
      { grant_type: "client_credentials", client_id: fx.target.app.appId, client_secret: "wrong-secret-value-0002", scope: GRAPH },
      { "client-request-id": "6f1e0f5e-1c7e-4a55-9a53-6d2f3c2f0a11" },
    );
    expect(res.status).toBe(401);
    expect(res.data).toMatchObject({
      error: "invalid_client",
      error_codes: [7000215],
      correlation_id: "6f1e0f5e-1c7e-4a55-9a53-6d2f3c2f0a11",
      error_uri: "https://login.microsoftonline.com/error?code=7000215",
    });
    expect(String(res.data.error_description)).toMatch(
      /^AADSTS7000215: Invalid client secret provided\. .* for a secret added to app '[0-9a-f-]{36}'\. Trace ID: [0-9a-f-]{36} Correlation ID: 6f1e0f5e-1c7e-4a55-9a53-6d2f3c2f0a11 Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
  });

  it("answers a request without client_secret with 401 AADSTS7000218", async () => {
    const res = await postToken(fx.tenantId, { grant_type: "client_credentials", client_id: fx.target.app.appId, scope: GRAPH });
    expect(res.status).toBe(401);
    expect(res.data).toMatchObject({ error: "invalid_client", error_codes: [7000218] });
  });

  it("answers an unknown client with 400 unauthorized_client AADSTS700016 naming the directory", async () => {
    const res = await postToken(fx.tenantId, {
      grant_type: "client_credentials",
      client_id: "9a9a9a9a-0000-4000-8000-000000000002",
      client_secret: "some-secret-0003",
      scope: GRAPH,
    });
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({ error: "unauthorized_client", error_codes: [700016] });
    expect(String(res.data.error_description)).toContain("was not found in the directory 'Contoso'");
  });

  it("requires a /.default scope for client credentials (AADSTS1002012)", async () => {
    const res = await postToken(fx.tenantId, {
      grant_type: "client_credentials",
      client_id: fx.target.app.appId,
      client_secret: fx.target.secret.secretText,
      scope: "User.Read",
    });
    expect(res.data).toMatchObject({ error: "invalid_scope", error_codes: [1002012] });
  });

  it("accepts client_secret_basic authentication", async () => {
    const basic = Buffer.from(`${fx.target.app.appId}:${encodeURIComponent(fx.target.secret.secretText)}`).toString("base64");
    const res = await http.request<Record<string, unknown>>({
      method: "POST",
      url: `${fx.url}/${fx.tenantId}/oauth2/v2.0/token`,
      form: { grant_type: "client_credentials", scope: GRAPH },
      headers: { Authorization: `Basic ${basic}` },
      secrets: [fx.target.secret.secretText, basic],
    });
    expect(res.data).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
  });
});

describe("replication delay", () => {
  it("refuses a not-yet-replicated secret with AADSTS7000215 and accepts it once the emulator clock passes the delay", async () => {
    fx.emulator.setReplicationDelay(30_000);
    try {
      const fresh = fx.emulator.seedPassword(fx.target.app.id, {
        displayName: "fresh",
        endDateTime: new Date(fx.clock.now().getTime() + 30 * 86_400_000).toISOString(),
        replicated: false,
      });
      const err = await sdkError(fx.tenantId, fx.target.app.appId, fresh.secretText);
      expect(err.message).toContain("AADSTS7000215");
      expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, fresh.secretText)).toBe(false);

      fx.clock.advance(30_001);
      expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, fresh.secretText)).toBe(true);
      const token = await credential(fx.tenantId, fx.target.app.appId, fresh.secretText).getToken(GRAPH);
      expect(fx.emulator.validateAccessToken(token.token)?.appId).toBe(fx.target.app.appId);
    } finally {
      fx.emulator.setReplicationDelay(0);
    }
  });
});

/**
 * AADSTS500011 for any resource the tenant has no principal for. Microsoft Learn, "Microsoft Entra
 * authentication and authorization error codes" (https://learn.microsoft.com/entra/identity-platform/reference-error-codes):
 * AADSTS500011 InvalidResourceServicePrincipalNotFound — "The resource principal named {name} was
 * not found in the tenant named {tenant}"; error responses carry error, error_description,
 * error_codes, timestamp, trace_id and correlation_id.
 */
describe("unknown resource (AADSTS500011)", () => {
  const form = (scope: string): Record<string, string> => ({
    grant_type: "client_credentials",
    client_id: fx.operator.app.appId,
    client_secret: fx.operator.secret,
    scope,
  });

  it("refuses an unknown resource with 400 invalid_resource and Entra's full error body", async () => {
    const res = await postToken(fx.tenantId, form("https://unknown.example/.default"), { "client-request-id": "0d6f3f7a-2b1c-4c39-9a53-1f2e3d4c5b6a" });
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({
      error: "invalid_resource",
      error_codes: [500011],
      correlation_id: "0d6f3f7a-2b1c-4c39-9a53-1f2e3d4c5b6a",
      trace_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/),
    });
    expect(String(res.data.error_description)).toMatch(
      /^AADSTS500011: The resource principal named https:\/\/unknown\.example was not found in the tenant named Contoso\. .* Trace ID: [0-9a-f-]{36} Correlation ID: 0d6f3f7a-2b1c-4c39-9a53-1f2e3d4c5b6a Timestamp: /,
    );
  });

  it("surfaces AADSTS500011 through ClientSecretCredential", async () => {
    const err = await sdkError(fx.tenantId, fx.operator.app.appId, fx.operator.secret, "api://not-registered-anywhere/.default");
    expect(err.message).toContain("AADSTS500011");
  });

  it("knows Graph (by URI or app ID), Key Vault, the tenant's own apps (appId or api://appId) and registered resources", async () => {
    for (const scope of [
      "https://graph.microsoft.com/.default",
      "00000003-0000-0000-c000-000000000000/.default",
      "https://vault.azure.net/.default",
      `${fx.target.app.appId}/.default`,
      `api://${fx.target.app.appId}/.default`,
      `${fx.url}/.default`,
    ]) {
      expect((await postToken(fx.tenantId, form(scope))).status, scope).toBe(200);
    }
    expect((await postToken(fx.tenantId, form("https://api.contoso.example/.default"))).data).toMatchObject({ error_codes: [500011] });
    fx.emulator.registerResource("https://api.contoso.example/");
    expect((await postToken(fx.tenantId, form("https://api.contoso.example/.default"))).status).toBe(200);
  });

  it("an app of another tenant is not a resource of this one", async () => {
    const other = crypto.randomUUID();
    fx.emulator.seedTenant({ tenantId: other });
    const foreign = fx.emulator.seedApplication({ tenantId: other, displayName: "foreign API" });
    expect((await postToken(fx.tenantId, form(`api://${foreign.appId}/.default`))).data).toMatchObject({ error: "invalid_resource", error_codes: [500011] });
  });
});
