import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * Found by `npm run chaos` (issue 10, seed 129 of the first campaign): a run failed at retire (the
 * gateway answered its listing with a body that is not JSON), and the next rotation only knew its
 * own previous credential. The credential two rotations old was never retired: I6 and I3 broken
 * for good. Ground truth (which credentials exist) is read from the Entra emulator.
 */
const world = useWorld();

const HOUR = 3_600_000;

describe("defect: a superseded credential is never retired after a run failed at retire", () => {
  it("superseded credential never retired: the next reconcile retires the credential two rotations old once every target holds the current secret", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 1 });
    const handMadeKeyId = s.seeded.handMade.keyId;

    const first = await s.pass();
    expect(first.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    world.clock.advance(25 * HOUR);
    // The retire step's listing comes back as plain text: the run fails with the hand-made credential still live.
    world.gateway.server.faults.add({ route: "^GET /mcp-servers$", status: 200, raw: true, body: "OK", headers: { "Content-Type": "text/plain" }, times: 1 });
    const failed = await s.pass();
    expect(failed.status).toBe("failed");
    expect(s.credentials().map((c) => c.keyId)).toContain(handMadeKeyId);

    // An operator forces the next rotation; it retires its own previous credential after the grace period.
    const forced = await s.runToEnd("force");
    expect(forced.status).toBe("succeeded");
    world.clock.advance(25 * HOUR);
    await s.pass();

    // Only the current credential is left; no target holds anything else.
    const current = s.vaultCurrent()!;
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);
    expect(s.targets().every((t) => t.clientSecret === current.value)).toBe(true);
    s.assertNoOutage("after the superseded credential was retired");
    s.assertSettled("after the superseded credential was retired");
    (await s.scanJournals(s.scanner())).assertClean();
  });
});
