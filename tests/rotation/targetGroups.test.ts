import { describe, expect, it } from "vitest";
import { acceptConfirmation } from "../../src/rotation/enqueue.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 24 item 1: a set's secret lives in several target groups. A pass propagates to every group
 * (canary first in each), and the previous credential is retired only once every group has proven
 * pickup — here a `cequence` group proven by fingerprint read-back and a `manual` group proven by an
 * operator's confirmation, which comes later. Ground truth comes from the emulators.
 */
const world = useWorld();
const HOUR = 3_600_000;

function twoGroups(manualTargets: string[]) {
  return {
    gateway: undefined,
    groups: [world.cequenceGroup(), { kind: "manual", targets: manualTargets }],
  };
}

describe("target groups: a cequence group and a manual group", () => {
  it("propagates to both groups, and retirement waits for the slower group's proof (the operator's confirmation)", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 1, overrides: twoGroups(["kong-eu-legacy", "hr-mcp-on-prem"]) });
    const previousKeyId = s.seeded.handMade.keyId;

    const first = await s.pass();
    const promoted = s.vaultCurrent()!;
    expect(promoted.tags["keyId"]).not.toBe(previousKeyId);
    // The cequence group was written and proven in the same pass; the manual group waits for its operator.
    expect(first.status).toBe("awaiting_confirmation");
    expect(s.targets().map((t) => t.clientSecret)).toEqual(s.targets().map(() => promoted.value));
    expect(
      s.otherTargets().every((t) => t.clientSecret !== promoted.value),
      "another app's servers are never written",
    ).toBe(true);
    const cequenceRecords = first.journal.targets.filter((t) => t.group === undefined);
    expect(cequenceRecords).toHaveLength(3);
    expect(cequenceRecords.filter((t) => t.verified).map((t) => t.proof)).toContain("fingerprint");
    const manualRecords = first.journal.targets.filter((t) => t.group === 1);
    expect(manualRecords.map((t) => t.name).sort()).toEqual(["hr-mcp-on-prem", "kong-eu-legacy"]);
    expect(manualRecords.map((t) => t.id).sort(), "the second group's IDs are in its own namespace").toEqual(["g2:hr-mcp-on-prem", "g2:kong-eu-legacy"]);
    expect(manualRecords.every((t) => !t.verified)).toBe(true);
    expect(first.journal.steps.at(-1)?.detail).toMatch(/group 1 \(cequence\): .*group 2 \(manual\): update the client secret of 2 MCP server/);

    // Past the grace period the fast group is long proven, yet the slow one is not: nothing is retired.
    world.clock.advance(25 * HOUR);
    const held = await s.pass();
    expect(held.status).toBe("awaiting_confirmation");
    expect(
      s.credentials().map((c) => c.keyId),
      "the previous credential is kept while a group lacks proof",
    ).toContain(previousKeyId);

    await acceptConfirmation(
      { journals: s.runtime.journals, container: s.container, now: () => world.clock.now() },
      { runId: first.journal.runId, confirmedBy: "alice@contoso.com" },
    );
    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
    // Every target's journal entry says how its pickup was proven.
    const proofs = Object.fromEntries(done.journal.targets.map((t) => [t.name, t.proof]));
    for (const t of s.targets()) expect(proofs[t.name]).toBe("fingerprint");
    expect(proofs["kong-eu-legacy"]).toBe("operator");
    expect(proofs["hr-mcp-on-prem"]).toBe("operator");
    s.assertNoOutage("after both groups were proven");

    const scan = await s.scanJournals(s.scanner());
    scan.assertClean();
  });

  it("defect: the awaiting-confirmation event asked the operator to update by hand the MCP servers the cequence group had already updated", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 0, overrides: twoGroups(["hr-mcp-on-prem"]) });
    const first = await s.pass();
    expect(first.status).toBe("awaiting_confirmation");
    const event = s.events.at(-1) as { type: string; targets?: { names?: string[] } };
    expect(event.type).toBe("awaiting_confirmation");
    // Only the manual group's server is the operator's job; the cequence servers hold the new secret already.
    expect(event.targets?.names).toEqual(["hr-mcp-on-prem"]);
  });

  it("a failing canary in the cequence group leaves its other servers untouched but does not stop the manual group from being asked", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 0, overrides: twoGroups(["hr-mcp-on-prem"]) });
    const before = new Map(s.targets().map((t) => [t.id, t.clientSecret]));
    world.gateway.server.faults.add({ route: "^PATCH /mcp-servers/", status: 500, body: { error: "boom" }, times: 100 });
    const first = await s.pass();
    expect(first.status).toBe("waiting");
    expect(
      s.targets().every((t) => before.get(t.id) === t.clientSecret),
      "no cequence server took the new secret",
    ).toBe(true);
    expect(first.journal.awaitingConfirmationSince, "the manual group was asked for its operator in the same pass").toBeDefined();
    expect(s.credentials().map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);
  });
});
