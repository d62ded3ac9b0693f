import https from "node:https";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import Provider from "oidc-provider";
import { sharedCertificateAuthority } from "../../emulators/common/tls.js";
import { check, startProbeWorld, type ProbeWorld } from "./harness.js";
import { GATEWAY_REDIRECT_URI } from "../harness/world.js";

/**
 * The probe against an independent, certified OpenID Provider on loopback (`oidc-provider` from
 * npm), not against our own emulator: what the token and discovery checks do is then decided by
 * OpenID Connect Discovery 1.0 and RFC 6749 §4.4 / §5.2 as another implementation reads them.
 * Two layouts: Entra's paths (discovery at /{tenant}/v2.0/.well-known/openid-configuration, token
 * at /{tenant}/oauth2/v2.0/token), and the provider's own (/.well-known/…, /token, /auth).
 */
interface RunningProvider {
  url: string;
  close(): Promise<void>;
}

interface ProviderOptions {
  tenantId: string;
  entraLayout: boolean;
  clients: Array<{ id: string; secret: string; redirectUri: string }>;
  scope: string;
  /**
   * A hostile provider in front of the real one: its token endpoint refuses every request with an
   * error_description that echoes the posted form (client_secret included) and an access token.
   */
  echoTokenRequests?: { accessToken: string };
}

async function startProvider(options: ProviderOptions): Promise<RunningProvider> {
  const server = https.createServer(sharedCertificateAuthority().issue());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t = options.tenantId;
  const issuer = options.entraLayout ? `${url}/${t}/v2.0` : url;
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: ["client_credentials", "authorization_code"],
      redirect_uris: [c.redirectUri],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      scope: `openid ${options.scope}`,
    })),
    scopes: ["openid", options.scope],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    ...(options.entraLayout
      ? { routes: { token: `/${t}/oauth2/v2.0/token`, authorization: `/${t}/oauth2/v2.0/authorize`, jwks: `/${t}/discovery/v2.0/keys` } }
      : {}),
  });
  const callback = provider.callback();
  const discoveryPath = `/${t}/v2.0/.well-known/openid-configuration`;
  server.on("request", (req, res) => {
    // Entra layout: the provider serves discovery at its root; Entra serves it under the tenant.
    if (options.entraLayout && req.url === discoveryPath) req.url = "/.well-known/openid-configuration";
    const echo = options.echoTokenRequests;
    if (echo && req.method === "POST" && req.url?.endsWith("/token")) {
      let form = "";
      req.on("data", (chunk: Buffer) => (form += chunk.toString("utf8")));
      req.on("end", () => {
        const sent = new URLSearchParams(form);
        res.writeHead(401, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            error: "invalid_client",
            error_description: `client authentication failed for ${sent.get("client_id")} with client_secret=${sent.get("client_secret")}; last token: access_token=${echo.accessToken} (raw form: ${form})`,
          }),
        );
      });
      return;
    }
    void callback(req, res);
  });
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let w: ProbeWorld;
const secret = `oidc-${randomBytes(18).toString("base64url")}`;
const providers: RunningProvider[] = [];

beforeAll(async () => {
  w = await startProbeWorld({ targets: 0 });
  // The provider's client secret is what Key Vault holds now.
  w.world.keyVault.seedSecret(w.set.keyVault.secretName, secret);
});
afterAll(async () => {
  try {
    w.scanner().addSecrets([secret]).assertClean();
  } finally {
    await Promise.all(providers.map((p) => p.close()));
    await w.stop();
  }
});

async function probeAgainst(options: {
  entraLayout: boolean;
  clientSecret?: string;
  registered?: boolean;
  registeredRedirectUri?: string;
  echoTokenRequests?: ProviderOptions["echoTokenRequests"];
}) {
  const scope = `${new URL(w.set.graphBaseUrl).origin.toLowerCase()}/.default`;
  const redirectUri = options.registeredRedirectUri ?? GATEWAY_REDIRECT_URI;
  const clients =
    options.registered === false
      ? [{ id: "someone-else", secret: "x".repeat(32), redirectUri }]
      : [{ id: w.set.clientId, secret: options.clientSecret ?? secret, redirectUri }];
  const p = await startProvider({
    tenantId: w.set.tenantId,
    entraLayout: options.entraLayout,
    clients,
    scope,
    ...(options.echoTokenRequests ? { echoTokenRequests: options.echoTokenRequests } : {}),
  });
  providers.push(p);
  const set = { ...w.set, authorityHost: p.url };
  return w.probe({ set, checks: ["discovery", "token", "authorize"] });
}

describe("the probe against oidc-provider, an independent OpenID Provider", () => {
  test("Entra path layout, right secret: every check passes, at the endpoints discovery publishes", async () => {
    const report = await probeAgainst({ entraLayout: true });
    expect(check(report, "discovery")).toMatchObject({ status: "pass" });
    expect(check(report, "token")).toMatchObject({ status: "pass" });
    expect(check(report, "token").evidence["tokenEndpointSource"]).toBe("discovery (token_endpoint)");
    expect(check(report, "token").evidence).not.toHaveProperty("providerError");
    expect(check(report, "authorize")).toMatchObject({ status: "pass" });
    expect(check(report, "authorize").evidence["authorizationEndpointSource"]).toBe("discovery (authorization_endpoint)");
  });

  test("wrong secret: the token check fails and keeps the provider's error and error_description", async () => {
    const report = await probeAgainst({ entraLayout: true, clientSecret: `other-${randomBytes(18).toString("base64url")}` });
    const token = check(report, "token");
    expect(token.status).toBe("fail");
    expect(token.evidence["providerError"]).toBe("invalid_client");
    expect(token.evidence["providerErrorDescription"]).toBe("client authentication failed");
    expect(token.evidence["providerErrors"]).toEqual([expect.stringMatching(/\/oauth2\/v2\.0\/token → invalid_client: client authentication failed$/)]);
    // The right configuration still reaches the sign-in step: only the secret is wrong.
    expect(check(report, "authorize").status).toBe("pass");
  });

  test("unregistered redirect URI: the authorize check diagnoses a redirect mismatch, not a foreign page", async () => {
    const report = await probeAgainst({ entraLayout: true, registeredRedirectUri: "https://elsewhere.example/callback" });
    const authorize = check(report, "authorize");
    // The provider answers 400 with its own error page naming invalid_redirect_uri.
    expect(authorize).toMatchObject({ status: "fail", severity: "critical" });
    expect(authorize.summary).toContain(`the redirect URI ${GATEWAY_REDIRECT_URI} is not registered for client ${w.set.clientId}`);
    expect(authorize.summary).toContain("invalid_redirect_uri: redirect_uri did not match any of the client's registered redirect_uris");
    expect(authorize.summary).not.toContain("sign-in page");
    expect(authorize.hint).toContain(`Register ${GATEWAY_REDIRECT_URI} exactly`);
    expect(authorize.evidence["requests"]).toEqual([expect.stringMatching(/redirect_uri=\S+ → HTTP 400 invalid_redirect_uri$/)]);
    expect(authorize.evidence["authorizationEndpointSource"]).toBe("discovery (authorization_endpoint)");
    expect(check(report, "token").status).toBe("pass");
  });

  test("unknown client: token and authorize both fail naming invalid_client, never pass", async () => {
    const report = await probeAgainst({ entraLayout: true, registered: false });
    const token = check(report, "token");
    expect(token.status).toBe("fail");
    expect(token.evidence["providerError"]).toBe("invalid_client");
    expect(token.evidence["providerErrorDescription"]).toBe("client authentication failed");
    const authorize = check(report, "authorize");
    expect(authorize).toMatchObject({ status: "fail", severity: "critical" });
    expect(authorize.summary).toContain(`does not know client ID ${w.set.clientId} (invalid_client: client is invalid)`);
  });

  test("a provider echoing the request in its error_description: evidence keeps the error, redacted", async () => {
    const accessToken = `tok-${randomBytes(24).toString("base64url")}`;
    const report = await probeAgainst({ entraLayout: true, echoTokenRequests: { accessToken } });
    const token = check(report, "token");
    expect(token.status).toBe("fail");
    expect(token.evidence["providerError"]).toBe("invalid_client");
    const description = String(token.evidence["providerErrorDescription"]);
    expect(description).toContain(`client authentication failed for ${w.set.clientId} with client_secret=[REDACTED]`);
    expect(description).toContain("last token: access_token=[REDACTED] (raw form: ");
    const text = JSON.stringify(report);
    for (const value of [secret, encodeURIComponent(secret), accessToken]) expect(text).not.toContain(value);
    expect(w.scanner().addSecrets([secret, accessToken]).fragmentLeaks()).toEqual([]);
  });

  test("the provider's own layout: a clear finding from every check, never a false pass", async () => {
    // Its discovery document sits at the issuer root, not under /{tenant}/v2.0: the probe asks where
    // Entra publishes it, gets 404, says so, and the requests at the built URLs are refused too.
    const report = await probeAgainst({ entraLayout: false });
    const discovery = check(report, "discovery");
    const token = check(report, "token");
    const authorize = check(report, "authorize");
    expect(discovery.status).toBe("fail");
    expect(discovery.summary).toContain("/.well-known/openid-configuration");
    expect(token.status).not.toBe("pass");
    expect(token.evidence["tokenEndpointSource"]).toMatch(/discovery unavailable/);
    expect(authorize.status).toBe("fail");
    expect(authorize.summary).toContain("HTTP 404");
    expect(authorize.evidence["authorizationEndpointSource"]).toMatch(/discovery unavailable/);
  });
});
