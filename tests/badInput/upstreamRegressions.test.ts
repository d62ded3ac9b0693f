import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "../rotation/harness.js";
import { RotatorError } from "../../src/errors.js";
import { within } from "./scan.js";
import { createRateLimiter } from "../../src/gateway/rateLimiter.js";

/**
 * Defects the hostile-upstream tables found, each named after what went wrong. Each would have
 * hung, crashed or read garbage as data before its fix; now it ends in a typed error in time.
 */
const world = useWorld();

async function scenario(httpTimeoutInMs = 1000): Promise<Scenario> {
  return Scenario.create(world, { secretExpiresInDays: 300, targets: 1, otherTargets: 0 }, { httpTimeoutInMs });
}

function typed(outcome: Awaited<ReturnType<typeof within>>, code: string): void {
  expect("hung" in outcome ? "hung" : "settled").toBe("settled");
  expect("error" in outcome).toBe(true);
  const e = (outcome as { error: unknown }).error;
  expect(e).toBeInstanceOf(RotatorError);
  expect((e as RotatorError).code).toBe(code);
}

describe("hostile upstream regressions", () => {
  it("Graph endless pagination: an @odata.nextLink pointing at itself kept getApplication paging forever", async () => {
    const s = await scenario();
    const w = s.world;
    const { graph } = await s.runtime.clientsFor(s.set);
    w.entra.server.faults.add({
      route: "^GET /v1\\.0/applications$",
      status: 200,
      body: { value: [], "@odata.nextLink": `${w.entra.server.url}/v1.0/applications?$skiptoken=again` },
    });
    typed(await within(graph.getApplication({ appId: s.set.clientId }), 10_000), "GRAPH_INVALID_RESPONSE");
  });

  it("Graph Retry-After of a year: a read waited out up to 180 s before each of its three retries, past every timeout", async () => {
    const s = await scenario();
    const { graph } = await s.runtime.clientsFor(s.set);
    s.world.entra.server.faults.add({ route: "^GET /v1\\.0/applications$", status: 503, headers: { "Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT" } });
    const outcome = await within(graph.getApplication({ appId: s.set.clientId }), 10_000);
    expect("hung" in outcome).toBe(false);
    expect((outcome as { error: RotatorError }).error.retryable).toBe(true);
  });

  it("Graph garbage read as an app without secrets: passwordCredentials that is not a list (or a page whose value is not a list) became 'no credentials'", async () => {
    const s = await scenario();
    const { graph } = await s.runtime.clientsFor(s.set);
    const id = s.world.entra.server.faults.add({
      route: "^GET /v1\\.0/applications$",
      status: 200,
      body: { value: [{ id: s.seeded.appObjectId, appId: s.set.clientId, passwordCredentials: "none" }] },
    });
    typed(await within(graph.getApplication({ appId: s.set.clientId }), 10_000), "GRAPH_INVALID_RESPONSE");
    s.world.entra.server.faults.remove(id);
    s.world.entra.server.faults.add({ route: "^GET /v1\\.0/applications$", status: 200, body: { value: "applications" } });
    typed(await within(graph.getApplication({ appId: s.set.clientId }), 10_000), "GRAPH_INVALID_RESPONSE");
  });

  it("Key Vault bare 404: an HTML 404 from something that is not Key Vault read as 'the secret does not exist'", async () => {
    const s = await scenario();
    const { vault } = await s.runtime.clientsFor(s.set);
    s.world.keyVault.server.faults.add({ route: "^GET /secrets/", status: 404, raw: true, body: "<html><body><h1>404 Not Found</h1></body></html>" });
    typed(await within(vault.getLatest(s.set.keyVault.secretName), 10_000), "VAULT_UNEXPECTED_RESPONSE");
  });

  it("Key Vault endless pagination: a nextLink pointing at itself kept listVersions paging forever", async () => {
    // The page cap (400 pages) has to end the loop, not the call's deadline: with 1 s per request
    // the deadline is 5 s, which 400 HTTPS round trips can exceed on a loaded machine.
    const s = await scenario(5000);
    const w = s.world;
    const { vault } = await s.runtime.clientsFor(s.set);
    w.keyVault.server.faults.add({
      route: "^GET /secrets/[^/]+/versions$",
      status: 200,
      body: { value: [], nextLink: `${w.keyVault.url}/secrets/${s.set.keyVault.secretName}/versions?api-version=2025-07-01&$skiptoken=again` },
    });
    typed(await within(vault.listVersions(s.set.keyVault.secretName), 30_000), "VAULT_UNEXPECTED_RESPONSE");
  });

  it("Key Vault 401 with a malformed challenge: getSecret stayed pending forever (no request, no timeout)", async () => {
    const s = await scenario();
    const { vault } = await s.runtime.clientsFor(s.set);
    s.world.keyVault.server.faults.add({
      route: "^GET /secrets/",
      status: 401,
      headers: { "WWW-Authenticate": 'Bearer authorization="javascript:alert(1)", resource="x"' },
      body: { error: { code: "Unauthorized" } },
    });
    typed(await within(vault.getLatest(s.set.keyVault.secretName), 15_000), "VAULT_TIMEOUT");
  });

  it("token endpoint deep nesting: an error body nested 10,000 levels crashed requestToken with an untyped RangeError", async () => {
    const s = await scenario();
    const w = s.world;
    const { token } = await s.runtime.clientsFor(s.set);
    w.entra.server.faults.add({
      route: `^POST /${w.tenantId}/oauth2/v2\\.0/token$`,
      status: 500,
      raw: true,
      headers: { "Content-Type": "application/json" },
      body: `${"[".repeat(10_000)}${"]".repeat(10_000)}`,
    });
    const outcome = await within(
      token.requestToken({
        tokenUrl: `${w.authorityHost}/${w.tenantId}/oauth2/v2.0/token`,
        clientId: s.set.clientId,
        clientSecret: s.seeded.handMade.secretText,
      }),
      10_000,
    );
    expect(outcome).toMatchObject({ value: { ok: false, status: 500 } });
  });

  it("gateway Retry-After of a year: one 429 paused every later gateway call of the set for a year (the limiter kept the pause)", async () => {
    let now = 0;
    const limiter = createRateLimiter({
      requestsPerSecond: 5,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
        await Promise.resolve();
      },
    });
    limiter.onThrottled!(365 * 24 * 3_600_000);
    await limiter.acquire();
    // Released after at most the 60 s cap, not a year later.
    expect(now).toBeLessThanOrEqual(60_000);
  });
});
