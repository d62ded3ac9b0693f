import { describe, expect, it } from "vitest";
import { timeProofConsumer } from "../helpers/timeConsumer.js";
import { RotationRunner } from "../../src/rotation/runner.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 24 item 1: a group that can only be refreshed and cannot prove pickup (`time` proof) holds
 * retirement until promote + its documented maximum pickup delay, even once the grace period is
 * over. No such kind exists yet (API Management Key Vault values, 4 h, and App Service references,
 * 24 h, are items 3 and 4), so the group here is a consumer that declares only its capabilities and
 * its targets, and refuses every read and write: the engine must need neither. The other group is
 * the real cequence adapter against the gateway emulator; Entra and Key Vault are the emulators.
 */
const world = useWorld();
const HOUR = 3_600_000;

const keyVaultConsumer = (delayHours: number, names: string[]) => timeProofConsumer(delayHours * HOUR, names);

describe("target groups: a time-proof group", () => {
  it("retirement waits for promote + the group's pickup delay although the grace period is over, and the plan warns about the shorter grace", async () => {
    const s = await Scenario.due(world, {
      targets: 2,
      otherTargets: 0,
      overrides: { secret: { lifetimeDays: 180, renewBeforeDays: 30, renewAtFraction: 0.1, gracePeriodHours: 2 } },
    });
    const clients = await s.runtime.clientsFor(s.set);
    const groups = [clients.gateway, keyVaultConsumer(4, ["apim-named-value-sso"])];
    const runner = new RotationRunner({
      set: s.set,
      graph: clients.graph,
      token: clients.token,
      vault: clients.vault,
      gateway: clients.gateway,
      groups,
      container: s.container,
      clock: world.clock,
      logger: s.logger,
      redactor: s.runtime.redactor,
    });
    const pass = () => runner.runPass({ mode: "scheduled", trigger: "queue" });
    const previousKeyId = s.seeded.handMade.keyId;

    const first = await pass();
    expect(first.journal.plan?.warnings?.[0]).toMatch(/grace period \(2 h\) is shorter than the longest pickup delay .* \(4 h\)/);
    expect((await runner.dryRun("scheduled")).warnings?.[0]).toMatch(/gracePeriodHours to at least 4/);
    expect(first.status).toBe("waiting");
    const promoted = s.vaultCurrent()!;
    for (const t of s.targets()) expect(t.clientSecret).toBe(promoted.value);

    // Grace over (2 h), pickup window not (4 h): kept, and the journal says which target holds it.
    world.clock.advance(3 * HOUR);
    const held = await pass();
    expect(held.status).toBe("waiting");
    expect(held.journal.steps.at(-1)).toMatchObject({ name: "retire", detail: expect.stringContaining("apim-named-value-sso (pickup assumed only from") });
    expect(s.credentials().map((c) => c.keyId)).toContain(previousKeyId);

    world.clock.advance(1.5 * HOUR);
    const done = await pass();
    expect(done.status).toBe("succeeded");
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
    expect(done.journal.targets.find((t) => t.name === "apim-named-value-sso")).toMatchObject({ group: 1, verified: true, proof: "time" });
    expect(done.journal.targets.filter((t) => t.group === undefined).every((t) => t.proof === "fingerprint")).toBe(true);
  });
});
