import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 27 item 1: a pass lists a gateway's targets once for propagate and verify-targets. Listing
 * 10,000 servers is 100 latency-bound pages; verify-targets reads every target back anyway, so it
 * takes propagate's listing for which targets exist instead of paging through the gateway again.
 * Pages are counted from the gateway emulator's own request log.
 */
const world = useWorld();
const LIST = /\/mcp-servers$/;

describe("one listing per pass for propagate and verify-targets", () => {
  it("defect: verify-targets listed the whole gateway again after propagate had just listed it in the same pass", async () => {
    const s = await Scenario.due(world, { targets: 7, otherTargets: 4, overrides: { gateway: { ...world.cequenceGroup(), pageSize: 3 } } });
    const pagesPerListing = Math.ceil(world.gateway.servers().length / 3);
    expect(pagesPerListing).toBeGreaterThan(2);

    const before = world.gateway.server.count("GET", LIST);
    const first = await s.pass();
    const pages = world.gateway.server.count("GET", LIST) - before;
    expect(first.journal.steps.filter((st) => st.name === "verify-targets" && st.status === "done")).toHaveLength(1);
    // The plan's discovery, propagate, and retire (which checks for lagging targets, added ones
    // included, before anything else and lists afresh) list; verify-targets reuses propagate's listing.
    expect(first.journal.steps.map((st) => st.name)).toContain("retire");
    expect(pages).toBe(3 * pagesPerListing);

    // The read-back of every target still proves pickup: each holds the promoted secret.
    const promoted = s.vaultCurrent()!;
    expect(s.targets().every((t) => t.clientSecret === promoted.value)).toBe(true);
    const mine = first.journal.targets.filter((t) => t.outcome === undefined);
    expect(mine).toHaveLength(7);
    expect(mine.every((t) => t.verified && t.proof === "fingerprint")).toBe(true);
    s.assertNoOutage("after one pass");
  });
});
