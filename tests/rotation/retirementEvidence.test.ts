import { describe, expect, it } from "vitest";
import { RETIRE_HELD_CHECK } from "../../src/rotation/retirementEvidence.js";
import { Scenario, useWorld } from "./harness.js";

const world = useWorld();

const HOUR = 3_600_000;

/** A scenario whose rotation events reach the runtime's alerting (incidents open and resolve). */
async function scenario(overrides: Record<string, unknown> = {}): Promise<Scenario> {
  return Scenario.alerting(world, { targets: 2, otherTargets: 0, overrides });
}

/** Runs a scheduled rotation up to the retire step's grace period. */
async function rotateToGrace(s: Scenario) {
  const res = await s.pass();
  expect(res.status).toBe("waiting");
  expect(res.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
  return res;
}

describe("usage-aware retirement (Entra sign-in evidence)", () => {
  it("an outside consumer that keeps using the old secret holds retirement, with an incident saying when and what to do; quiet long enough, it is retired", async () => {
    const s = await scenario({ signInEvidence: { quietPeriodHours: 12, reportLatencyHours: 1 } });
    const old = s.seeded.handMade;
    await rotateToGrace(s);

    // The consumer signs in now and then, the last time shortly before the grace period ends.
    for (const gap of [2, 12, 10]) {
      world.clock.advance(gap * HOUR);
      expect(await s.outsideConsumerSignsIn(old.secretText)).toBe(200);
    }
    world.clock.advance(HOUR); // grace over
    const held = await s.pass();
    expect(held.status).toBe("waiting");
    const step = held.journal.steps.at(-1)!;
    expect(step).toMatchObject({ name: "retire", status: "waiting" });
    expect(step.detail).toMatch(new RegExp(`previous key ${old.keyId} signed in at .* after every target was verified`));
    // Ground truth: Entra still has the old credential; the consumer keeps working.
    expect(s.liveKeyIds()).toContain(old.keyId);
    const incident = (await s.runtime.alerting.manager.listOpen(s.set.name)).find((i) => i.check === RETIRE_HELD_CHECK);
    expect(incident).toMatchObject({ severity: "error" });
    expect(incident!.hint).toMatch(/sign-in logs/);
    expect(incident!.hint).toMatch(/emergency/);
    expect(incident!.evidence).toMatchObject({ keyId: old.keyId, lastSignInAt: expect.any(String) });

    // Still in use an hour later: still held.
    world.clock.advance(HOUR);
    expect(await s.outsideConsumerSignsIn(old.secretText)).toBe(200);
    world.clock.advance(HOUR);
    expect((await s.pass()).status).toBe("waiting");
    expect(s.liveKeyIds()).toContain(old.keyId);

    // The consumer was moved to the new secret: after the quiet period the old key goes.
    world.clock.advance(13 * HOUR);
    const done = await s.pass();
    expect(done.status).toBe("succeeded");
    expect(done.journal.steps.at(-1)!.detail).toMatch(/quiet for \d+ h/);
    expect(s.liveKeyIds()).not.toContain(old.keyId);
    expect((await s.runtime.alerting.manager.listOpen(s.set.name)).some((i) => i.check === RETIRE_HELD_CHECK)).toBe(false);
    expect(s.scanner().assertClean()).toBeGreaterThan(0);
  });

  it("an operator's emergency retires a held credential at once", async () => {
    const s = await scenario();
    await rotateToGrace(s);
    world.clock.advance(24 * HOUR);
    expect(await s.outsideConsumerSignsIn(s.seeded.handMade.secretText)).toBe(200);
    world.clock.advance(HOUR);
    expect((await s.pass()).status).toBe("waiting");
    const forced = await s.pass("emergency");
    expect(forced.status).toBe("succeeded");
    expect(forced.journal.steps.at(-1)!.detail).toMatch(/emergency: retired without consulting sign-in evidence/);
    expect(s.liveKeyIds()).not.toContain(s.seeded.handMade.keyId);
  });

  it("no row for the old key is unknown, not unused: the grace period rules and the journal says so", async () => {
    const s = await scenario();
    world.entra.signIns.reportLatencyMs = 1000 * 24 * HOUR; // nothing has reached the report yet
    try {
      await rotateToGrace(s);
      world.clock.advance(25 * HOUR);
      const res = await s.pass();
      expect(res.status).toBe("succeeded");
      expect(res.journal.steps.at(-1)!.detail).toMatch(/usage unknown \(not proven unused\); retiring on the grace period/);
      expect(s.liveKeyIds()).not.toContain(s.seeded.handMade.keyId);
    } finally {
      world.entra.signIns.reportLatencyMs = 0;
    }
  });

  it.each(["forbidden", "unlicensed"] as const)(
    "without the permission or licence (%s) it warns and retires on the grace period, never fails",
    async (access) => {
      const s = await scenario();
      await rotateToGrace(s);
      world.entra.signIns.access = access;
      try {
        world.clock.advance(25 * HOUR);
        const res = await s.pass();
        expect(res.status).toBe("succeeded");
        expect(res.journal.steps.at(-1)!.detail).toMatch(/sign-in evidence unavailable \(SIGNIN_EVIDENCE_UNAVAILABLE/);
        expect(s.lines.some((l) => l.startsWith("warn") && /sign-in evidence unavailable/.test(l))).toBe(true);
        expect(s.liveKeyIds()).not.toContain(s.seeded.handMade.keyId);
      } finally {
        world.entra.signIns.access = "ok";
      }
    },
  );
});
