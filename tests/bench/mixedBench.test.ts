import { describe, expect, inject, it } from "vitest";
import { benchMixed } from "../../bench/mixedBench.js";

/**
 * `npm run bench -- mixed` at a few targets per group: the bench runs one pass over the four kinds
 * and reports every field it prints, with figures judged from the emulators. No timing is asserted
 * (the machine is shared); what must hold at any size is asserted: every consumer on the new secret,
 * no failed target, and bounds and ratios that are real numbers.
 */
describe("bench mixed (smoke)", () => {
  it("runs one pass over a small mixed estate and reports each group against its own bound, and the pass against the slowest", async () => {
    const r = await benchMixed(inject("storageConnectionString"), {
      gatewayServers: 40,
      gatewayTargets: 12,
      apimValues: 3,
      appServiceReferences: 3,
      kongPlugins: 5,
      operationRetryAfterSeconds: 0,
    });
    expect(r.failedTargets).toBe(0);
    expect(r.allHoldNewSecret).toBe(true);
    expect(r.onNewSecret).toEqual({
      cequence: { on: 12, of: 12 },
      "kong-openid-connect": { on: 5, of: 5 },
      "apim-named-value": { on: 3, of: 3 },
      "appservice-keyvault-reference": { on: 3, of: 3 },
    });
    expect(Object.keys(r.groups).sort()).toEqual(["apim-named-value", "appservice-keyvault-reference", "cequence", "kong-openid-connect"]);
    for (const g of Object.values(r.groups)) {
      expect(g.calls).toBeGreaterThan(g.targets);
      expect(g.listingCalls).toBeGreaterThan(0);
      expect(g.boundMs).toBeGreaterThan(0);
      expect(g.measuredMs).toBeGreaterThan(0);
      expect(g.ratio).toBeGreaterThan(0);
    }
    expect(r.groups["kong-openid-connect"].callsPerTarget).toBeGreaterThanOrEqual(2);
    expect(Object.values(r.groups).map((g) => g.kind)).toContain(r.slowestGroup);
    expect(r.passToSlowestBound).toBeGreaterThan(0);
    // The gateway group of a second set, rotated alone first over the same gateway.
    expect(r.gatewayAlone.failedTargets).toBe(0);
    expect(r.gatewayAlone.measuredMs).toBeGreaterThan(0);
    expect(r.passToGatewayAlone).toBeGreaterThan(0);
    expect(r.operationPolls).toEqual({ polls: 2, retryAfterSeconds: 0 });
  });
});
