import { expect } from "vitest";
import { RUN_FAILURE_CHECK } from "../../src/alerts/model.js";
import { Scenario } from "./harness.js";
import type { World } from "../harness/world.js";

/**
 * The shape every "a consumer that does not pick up holds retirement" test shares: rotation events
 * go to the real alerting (so the incident is the one on-call would get), and past the grace period
 * every pass fails naming the consumer while the previous credential stays on the app (start such a
 * test with `Scenario.alerting`).
 */

/** The open run-failure incident, checked to name `name`. */
export async function incidentNaming(s: Scenario, name: string): Promise<unknown> {
  const incident = (await s.runtime.alerting.manager.listOpen(s.set.name)).find((i) => i.check === RUN_FAILURE_CHECK);
  expect(JSON.stringify(incident)).toContain(name);
  return incident;
}

/** Past the grace period, `passes` passes each fail naming `name`, and the previous credential is kept. */
export async function expectRetirementHeld(world: World, s: Scenario, name: string, passes = 2): Promise<void> {
  world.clock.advance(25 * 3_600_000);
  for (let i = 0; i < passes; i++) {
    const again = await s.pass();
    expect(again.status).toBe("failed");
    expect(again.journal.error?.message).toContain(name);
    expect(s.credentials().map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);
  }
}

/**
 * The first pass after a consumer stopped picking up: a new credential was promoted, and the pass
 * failed naming the consumer (with `code`, when given). Returns the promoted Key Vault version.
 */
export async function firstPassFailsNaming(s: Scenario, name: string, code?: string) {
  const first = await s.pass();
  const promoted = s.vaultCurrent()!;
  expect(promoted.tags["keyId"]).not.toBe(s.seeded.handMade.keyId);
  expect(first.status).toBe("failed");
  if (code) expect(first.journal.error?.code).toBe(code);
  expect(first.journal.error?.message).toContain(name);
  return { first, promoted };
}
