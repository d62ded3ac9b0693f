import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KongEmulator } from "../../emulators/kong/index.js";
import type { LoggedRequest } from "../../emulators/common/server.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 27 item 2: a pass works on every target group at once, each at its own limit. A slow gateway
 * group (latency, one write at a time) must not hold back a fast Kong group: Kong's writes land, and
 * its plugins are read back (its proof), while the gateway is still being written. Times come from each emulator's own request log.
 */
const world = useWorld();
const ADMIN_TOKEN = `kong-admin-${randomUUID()}`;
const kong = new KongEmulator({ adminToken: ADMIN_TOKEN, clock: world.clock });

beforeAll(async () => {
  await kong.start();
  world.keyVault.seedSecret("kong-admin-token", ADMIN_TOKEN);
});
afterAll(() => kong.close());

/** Secret writes (the gateway's test connections are POSTs made by verify-targets, not writes). */
const writes = (log: readonly LoggedRequest[]): number[] => log.filter((r) => r.method === "PATCH" || r.method === "PUT").map((r) => Date.parse(r.at));

describe("target groups at once", () => {
  it("defect: groups were propagated one after another, so a slow gateway group delayed a fast Kong group's writes and proof until it had finished", async () => {
    kong.reset();
    const slowGateway = { ...world.cequenceGroup(), maxConcurrency: 1 };
    const kongGroup = { kind: "kong-openid-connect", adminUrl: kong.url, adminTokenSecretName: "kong-admin-token", maxRequestsPerSecond: 500 };
    const s = await Scenario.due(world, { targets: 5, otherTargets: 0, overrides: { gateway: undefined, groups: [slowGateway, kongGroup] } });
    for (let i = 0; i < 2; i++) {
      kong.seedPlugin({
        issuer: `${world.authorityHost}/${world.tenantId}/v2.0`,
        clientIds: [s.set.clientId],
        clientSecrets: [s.seeded.handMade.secretText],
        instanceName: `oidc-${i}`,
      });
    }
    // Five gateway writes one at a time, each 60 ms away, plus the canary's read-back and test.
    world.gateway.setLatency(60);
    const gatewayFrom = world.gateway.server.requests.length;
    const kongFrom = kong.server.requests.length;

    const first = await s.pass();
    expect(first.journal.steps.find((st) => st.name === "verify-targets")?.status).toBe("done");
    const current = s.vaultCurrent()!;
    expect(s.targets().every((t) => t.clientSecret === current.value)).toBe(true);
    expect(kong.plugins().every((p) => p.config.client_secret?.[0] === current.value)).toBe(true);

    const gatewayWrites = writes(world.gateway.server.requests.slice(gatewayFrom));
    const kongWrites = writes(kong.server.requests.slice(kongFrom));
    expect(gatewayWrites.length).toBeGreaterThanOrEqual(5);
    expect(kongWrites.length).toBeGreaterThanOrEqual(2);
    // Kong's last write lands before the slow group's last write: the groups ran at the same time.
    expect(Math.max(...kongWrites)).toBeLessThan(Math.max(...gatewayWrites));
    // And Kong's proof (every plugin read back) did not wait for the slow group's writes either.
    const kongReadBacks = kong.server.requests
      .slice(kongFrom)
      .filter((r) => r.method === "GET" && /^\/plugins\/[^/]+$/.test(r.path))
      .map((r) => Date.parse(r.at));
    expect(kongReadBacks.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...kongReadBacks)).toBeLessThan(Math.max(...gatewayWrites));
    expect(first.journal.targets.filter((t) => t.outcome === undefined).every((t) => t.verified)).toBe(true);
    s.assertNoOutage("after one pass");
  });
});
