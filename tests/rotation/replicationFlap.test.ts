import { afterEach, describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * Acceptance of a new secret can flap while Entra replicates it (accepted by one replica, refused
 * by the next; emulators/entra/replicationWindow.test.ts pins the emulator side). The verify step
 * trusts K consecutive successes `intervalMs` apart, which only proves acceptance over
 * (K-1)·intervalMs. When the flap slots are longer than that, the secret is promoted and pushed to
 * every target inside the flap window, and the targets then hold a secret Entra refuses (I1).
 */
const world = useWorld();
afterEach(() => {
  world.entra.setReplication({ delayMs: 0, flapMs: 0, removalLagMs: 0, seed: 0, flapPeriodMs: undefined });
});

describe("replication that flaps", () => {
  it("settled replication: the same rotation keeps every target on an accepted secret (control case)", async () => {
    const s = await Scenario.due(world, {
      targets: 3,
      overrides: { verification: { consecutiveSuccesses: 3, budgetSeconds: 20, intervalMs: 20, minStableSeconds: 0 } },
    });
    const res = await s.pass();
    expect(res.journal.steps.find((st) => st.name === "propagate")?.status).toBe("done");
    world.clock.advance(6_000);
    s.assertNoOutage("6 s after propagation");
  });

  it("flapping replication: a secret accepted K times in a row at the start of the flap window was pushed to targets that Entra then refused (I1)", async () => {
    // Quick streaks (K = 3, 20 ms apart) fit inside one accepting slot; the streak must also last 2 s.
    const s = await Scenario.due(world, {
      targets: 3,
      overrides: { verification: { consecutiveSuccesses: 3, budgetSeconds: 8, intervalMs: 100, minStableSeconds: 2 } },
    });
    // Emulator clock: slots of 0.5 s for 1.5 s — accepted, refused, then drawn from the seed — then settled.
    world.entra.setReplication({ delayMs: 0, flapMs: 1_500, flapPeriodMs: 500, seed: 3 });
    const res = await s.pass();
    const verify = res.journal.steps.find((st) => st.name === "verify-entra");
    expect(verify?.status, "the secret is promoted only after acceptance held for minStableSeconds").toBe("done");
    expect(verify?.detail).toMatch(/over [2-9] s/);
    // Whatever the flap did, every target holds a secret Entra accepts at every moment after.
    for (let t = 0; t < 5; t++) {
      s.assertNoOutage(`${t * 0.5} s after propagation`);
      world.clock.advance(500);
    }
  });
});
