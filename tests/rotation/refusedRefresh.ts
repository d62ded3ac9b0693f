import { expect } from "vitest";
import type { PassResult } from "../../src/rotation/model.js";
import type { Scenario } from "./harness.js";
import type { World } from "../harness/world.js";

const HOUR = 3_600_000;

/** A set due for rotation with a 1 h grace period, shorter than any Key Vault-fetching group's pickup delay. */
export const ONE_HOUR_GRACE = { secret: { lifetimeDays: 180, renewBeforeDays: 30, renewAtFraction: 0.1, gracePeriodHours: 1 } };

/**
 * A group whose refresh the service refuses can prove nothing, so its targets are "time" proofs:
 * past the 1 h grace period retirement still waits, and it happens only once `delayHours` (the
 * documented pickup delay) have passed since promote. Returns the first and the final pass.
 */
export async function expectRetirementWaitsForPickupDelay(
  world: World,
  s: Scenario,
  o: { delayHours: number; timeProofs: number; warning: RegExp },
): Promise<{ first: PassResult; done: PassResult }> {
  const first = await s.pass();
  expect(["waiting", "succeeded"]).toContain(first.status);
  const refreshed = first.journal.targets.filter((t) => t.group === 1 && t.outcome === undefined);
  expect(refreshed.map((t) => t.proof)).toEqual(Array(o.timeProofs).fill("time"));
  expect(s.lines.join("\n")).toMatch(o.warning);

  world.clock.advance(2 * HOUR); // past the grace period, inside the pickup delay
  const held = await s.pass();
  expect(held.status).toBe("waiting");
  expect(JSON.stringify(held.journal.steps.at(-1))).toContain("pickup assumed only from");
  expect(s.liveKeyIds()).toContain(s.seeded.handMade.keyId);

  world.clock.advance((o.delayHours - 1.5) * HOUR);
  const done = await s.pass();
  expect(done.status).toBe("succeeded");
  expect(s.liveKeyIds()).toEqual([s.vaultCurrent()!.tags["keyId"]]);
  return { first, done };
}
