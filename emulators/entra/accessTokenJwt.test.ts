import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsFetch, type HttpsFetch } from "../common/httpsFetch.js";
import { closeScanned, SecretScanner } from "../../tests/helpers/secretScan.js";
import { OPERATOR_GRAPH_ROLES, postClientCredentials, startEntraFixture, type EntraFixture } from "./fixture.js";

/**
 * Fidelity: access tokens are signed JWTs that verify against the keys the discovery document
 * publishes, checked with a real JWT library (jose) against the JWKS fetched over plain HTTPS.
 *
 * Microsoft Learn, "Access token claims reference"
 * (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference): header
 * `typ` JWT, `alg` RS256, `kid` naming the signing key; v1.0 payload `aud`, `iss`
 * (https://sts.windows.net/{tenant}/), `iat`/`nbf`/`exp`, `appid`, `appidacr` ("1" for a client
 * secret), `idp`, `idtyp` ("app"), `oid`/`sub` (the service principal), `roles`, `tid`, `ver` "1.0".
 * "Signing key rollover in the Microsoft identity platform"
 * (https://learn.microsoft.com/entra/identity-platform/signing-key-rollover): the keys are found
 * through the OpenID Connect discovery document's `jwks_uri`, and a token's `kid` selects one.
 * Graph and Key Vault accept v1.0 tokens, so client-credentials tokens for them are v1.0.
 */
let fx: EntraFixture;
let send: HttpsFetch;
const scan = new SecretScanner();

async function getJson<T>(url: string): Promise<T> {
  const res = await send(url);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function publishedKeys(discoveryPath: string): Promise<JSONWebKeySet> {
  const discovery = await getJson<{ jwks_uri: string }>(`${fx.url}/${discoveryPath}`);
  return getJson<JSONWebKeySet>(discovery.jwks_uri);
}

beforeAll(async () => {
  fx = await startEntraFixture();
  send = httpsFetch(fx.emulator.caCertPem);
});
afterAll(() => closeScanned(fx, scan));

describe("access tokens are RS256 JWTs verifiable with the discovery document's JWKS", () => {
  it("a Graph token from ClientSecretCredential verifies with jose against the v2 jwks_uri, its kid names a published key, and its claims are Entra's v1.0 claims", async () => {
    const token = (await fx.operatorCredential().getToken("https://graph.microsoft.com/.default"))!.token;
    const jwks = await publishedKeys(`${fx.tenantId}/v2.0/.well-known/openid-configuration`);
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ typ: "JWT", alg: "RS256" });
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
    expect(jwks.keys[0]).toMatchObject({ kty: "RSA", use: "sig", e: "AQAB" });

    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ["RS256"],
      issuer: `https://sts.windows.net/${fx.tenantId}/`,
      audience: "https://graph.microsoft.com",
    });
    const sp = fx.emulator.seedServicePrincipal(fx.operator.app.appId);
    expect(payload).toMatchObject({
      appid: fx.operator.app.appId,
      appidacr: "1",
      idp: `https://sts.windows.net/${fx.tenantId}/`,
      idtyp: "app",
      oid: sp.id,
      sub: sp.id,
      tid: fx.tenantId,
      roles: [...OPERATOR_GRAPH_ROLES],
      ver: "1.0",
    });
    expect(payload.exp! - payload.iat!).toBe(3599);
    expect(payload.nbf).toBe(payload.iat);
  });

  it("a Key Vault token verifies too (audience https://vault.azure.net), also against the v1 discovery document's jwks_uri", async () => {
    const token = (await fx.operatorCredential().getToken("https://vault.azure.net/.default"))!.token;
    const jwks = await publishedKeys(`${fx.tenantId}/.well-known/openid-configuration`);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ["RS256"], audience: "https://vault.azure.net" });
    expect(payload.tid).toBe(fx.tenantId);
  });

  it("a token whose claims were altered fails verification with jose and is refused by Graph with 401 InvalidAuthenticationToken", async () => {
    const token = (await fx.operatorCredential().getToken("https://graph.microsoft.com/.default"))!.token;
    const [h, p, s] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, roles: ["Application.ReadWrite.All"] })).toString("base64url")}.${s}`;
    const jwks = await publishedKeys(`${fx.tenantId}/v2.0/.well-known/openid-configuration`);
    await expect(jwtVerify(forged, createLocalJWKSet(jwks), { algorithms: ["RS256"] })).rejects.toThrow(/signature verification failed/);

    const res = await send(`${fx.url}/v1.0/applications`, { headers: { authorization: `Bearer ${forged}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("InvalidAuthenticationToken");
    expect(fx.emulator.validateAccessToken(forged)).toBeUndefined();
  });

  it("another emulator's token names a kid this one does not publish and is refused", async () => {
    const other = await startEntraFixture();
    try {
      const foreign = (await other.operatorCredential().getToken("https://graph.microsoft.com/.default"))!.token;
      const jwks = await publishedKeys(`${fx.tenantId}/v2.0/.well-known/openid-configuration`);
      expect(jwks.keys.map((k) => k.kid)).not.toContain(decodeProtectedHeader(foreign).kid);
      expect(fx.emulator.validateAccessToken(foreign)).toBeUndefined();
    } finally {
      scan.addSecrets(other.emulator.issuedSecrets());
      await other.close();
    }
  });

  it("the token a plain client-credentials POST receives is the same kind of JWT", async () => {
    const res = await postClientCredentials(fx, send, fx.target.secret.secretText);
    const body = (await res.json()) as { token_type: string; expires_in: number; access_token: string };
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3599 });
    const jwks = await publishedKeys(`${fx.customDomain}/v2.0/.well-known/openid-configuration`);
    const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { algorithms: ["RS256"] });
    // The target app was granted no Graph application permissions: no roles claim at all.
    expect(payload).toMatchObject({ appid: fx.target.app.appId, tid: fx.tenantId });
    expect(payload.roles).toBeUndefined();
  });
});
