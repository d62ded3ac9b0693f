import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { check, DOMAIN, startProbeWorld, type ProbeWorld } from "./harness.js";

/**
 * The token and authorize checks call the endpoints the tenant's OpenID discovery document
 * publishes (OpenID Connect Discovery 1.0 §3: `token_endpoint`, `authorization_endpoint`), not a
 * URL pieced together from Entra's path layout; they fall back to the built URL only when
 * discovery cannot be read, and the evidence says which one was used. Ground truth: the Entra
 * emulator's request log.
 */
let w: ProbeWorld;
beforeEach(async () => {
  w = await startProbeWorld({ targets: 0 });
});
afterEach(async () => {
  try {
    w.scanner().assertClean();
  } finally {
    await w.stop();
  }
});

const discoveryRoute = () => `^GET /${w.world.tenantId}/v2.0/.well-known/openid-configuration$`;

/** A discovery document that names the tenant by its verified domain, as a provider may publish it. */
function publishedByDomain(host = w.world.authorityHost) {
  return {
    issuer: `${w.world.authorityHost}/${w.world.tenantId}/v2.0`,
    token_endpoint: `${host}/${DOMAIN}/oauth2/v2.0/token`,
    authorization_endpoint: `${host}/${DOMAIN}/oauth2/v2.0/authorize`,
    jwks_uri: `${w.world.authorityHost}/${w.world.tenantId}/discovery/v2.0/keys`,
  };
}

const paths = () => w.world.entra.server.requests.map((r) => `${r.method} ${r.path}`);

describe("probes follow the discovery document", () => {
  test("the token and authorize checks call the token_endpoint and authorization_endpoint discovery publishes", async () => {
    w.world.entra.server.faults.add({ route: discoveryRoute(), status: 200, body: publishedByDomain() });
    const report = await w.probe({ checks: ["token", "authorize"] });

    expect(check(report, "token")).toMatchObject({ status: "pass" });
    expect(check(report, "authorize")).toMatchObject({ status: "pass" });
    expect(check(report, "token").evidence["tokenEndpointSource"]).toBe("discovery (token_endpoint)");
    expect(check(report, "authorize").evidence["authorizationEndpointSource"]).toBe("discovery (authorization_endpoint)");
    expect(paths()).toContain(`POST /${DOMAIN}/oauth2/v2.0/token`);
    expect(paths()).toContain(`GET /${DOMAIN}/oauth2/v2.0/authorize`);
  });

  test("without discovery, the checks use the URL built from authorityHost and the tenant and say so in evidence", async () => {
    w.world.entra.server.faults.add({ route: discoveryRoute(), status: 404, body: { error: "not_found" } });
    const report = await w.probe({ checks: ["discovery", "token", "authorize"] });

    expect(check(report, "discovery").status).toBe("fail");
    expect(check(report, "token")).toMatchObject({ status: "pass" });
    expect(check(report, "token").evidence["tokenEndpointSource"]).toMatch(
      /^built from authorityHost and the tenant: discovery unavailable \(ENTRA_DISCOVERY_FAILED/,
    );
    expect(check(report, "authorize").evidence["authorizationEndpointSource"]).toMatch(/discovery unavailable/);
    expect(paths()).toContain(`POST /${w.world.tenantId}/oauth2/v2.0/token`);
  });

  test("an endpoint discovery publishes on another host is not sent the secret; the built URL is used and the discovery check fails", async () => {
    w.world.entra.server.faults.add({ route: discoveryRoute(), status: 200, body: publishedByDomain("https://login.elsewhere.example") });
    const report = await w.probe({ checks: ["discovery", "token"] });

    expect(check(report, "discovery").status).toBe("fail");
    expect(check(report, "token")).toMatchObject({ status: "pass" });
    expect(check(report, "token").evidence["tokenEndpointSource"]).toContain("on another host");
    expect(check(report, "token").evidence["tokenEndpoint"]).toBe(`${w.world.authorityHost}/${w.world.tenantId}/oauth2/v2.0/token`);
  });
});
