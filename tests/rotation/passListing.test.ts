import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 27 item 1: a pass lists a gateway's targets once for propagate and verify-targets. Listing
 * 10,000 servers is 100 latency-bound pages; verify-targets reads every target back anyway, so it
 * takes propagate's listing for which targets exist instead of paging through the gateway again.
 * Pages are counted from the gateway emulator's own request log. A gateway that offers the optional
 * listing ETag (docs/gateway-contract.md) is asked whether its listing changed instead of being paged
 * through again.
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

  it("a pass where nothing is due asks the gateway whether its listing changed (one 304 per listing) instead of paging through it, and still repairs a server edited since", async () => {
    world.gateway.setListingEtag(true);
    try {
      const s = await Scenario.create(world, {
        secretExpiresInDays: 150,
        targets: 7,
        otherTargets: 4,
        overrides: { gateway: { ...world.cequenceGroup(), pageSize: 3 } },
      });
      const listCalls = async (pass: () => Promise<{ status: string }>) => {
        const before = world.gateway.server.requests.length;
        const res = await pass();
        return { status: res.status, lists: world.gateway.server.requests.slice(before).filter((r) => r.method === "GET" && LIST.test(r.path)) };
      };
      const cold = await listCalls(() => s.pass());
      expect(cold.status).toBe("noop");
      // The plan's discovery pages through the gateway; reconcile's listing is already a 304.
      expect(cold.lists.filter((r) => r.status === 200).length).toBe(Math.ceil(world.gateway.servers().length / 3));
      const warm = await listCalls(() => s.pass());
      expect(warm.status).toBe("noop");
      expect(warm.lists.map((r) => r.status)).toEqual([304, 304]);

      // Someone pastes another secret into one server: the listing's ETag moves, the pass sees it and repairs it.
      const edited = s.targets()[3]!;
      const pasted = `pasted-${randomUUID()}`;
      world.gateway.setServerSecret(edited.id, pasted);
      const repaired = await listCalls(() => s.pass());
      expect(repaired.status).toBe("succeeded");
      expect(repaired.lists[0]!.status).toBe(200);
      expect(world.gateway.servers().find((t) => t.id === edited.id)!.clientSecret).toBe(s.vaultCurrent()!.value);
      s.assertNoOutage("after the repair");
    } finally {
      world.gateway.setListingEtag(false);
    }
  });
});
