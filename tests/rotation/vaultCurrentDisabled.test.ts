import { describe, expect, it } from "vitest";
import { RUN_FAILURE_CHECK } from "../../src/alerts/model.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 23, found by a black-box run of the CLI against the emulators: an administrator disabled
 * the current Key Vault version by hand. The next pass rotated "because Key Vault holds no secret
 * for this set yet", and the pass after removed the previous credential from the app as an
 * "orphaned managed credential" 37 s after the disable — grace period and sign-in evidence
 * ignored, exit 0, no incident. Ground truth (credentials on the app) is read from the Entra emulator.
 */
const world = useWorld();

const HOUR = 3_600_000;

async function scenario(): Promise<Scenario> {
  return Scenario.alerting(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 0 });
}

/** A set whose managed credential is current in Key Vault and alone on the app (the previous one retired). */
async function settled(s: Scenario) {
  expect((await s.runToEnd("force")).status).toBe("succeeded");
  world.clock.advance(25 * HOUR);
  await s.pass();
  const current = s.vaultCurrent()!;
  expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);
  return current;
}

/** What an administrator does in the portal: PATCH the version with enabled=false. */
function adminDisables(s: Scenario, version: string): void {
  world.keyVault.state.updateVersion(s.set.keyVault.secretName, version, { attributes: { enabled: false } });
}

describe("defect: a disabled current Key Vault version made the previous credential an orphan", () => {
  it("disabled current version removed as orphan: the passes after an administrator disables the current version keep its credential on the app and open VAULT_CURRENT_DISABLED with the remedy", async () => {
    const s = await scenario();
    const current = await settled(s);
    const keyId = current.tags["keyId"]!;

    adminDisables(s, current.version);
    const first = await s.pass();
    world.clock.advance(37_000);
    const second = await s.pass();

    // Ground truth: the credential the disabled version holds is still on the app, and nothing was created.
    expect(s.liveKeyIds()).toEqual([keyId]);
    expect(s.createdCredentials()).toHaveLength(1);
    // Reported for what it is, with the remedy — never "no secret for this set yet".
    for (const res of [first, second]) {
      expect(res.status).toBe("failed");
      expect(res.journal.error).toMatchObject({ code: "VAULT_CURRENT_DISABLED" });
      expect(res.journal.error!.hint).toMatch(/re-enable/i);
      expect(res.journal.error!.hint).toMatch(/emergency/i);
      expect(res.journal.plan?.reason).toMatch(new RegExp(`version ${current.version} .*${keyId}.* is disabled`));
      expect(res.journal.plan?.reason).not.toMatch(/holds no secret/);
    }
    const incident = (await s.runtime.alerting.manager.listOpen(s.set.name)).find((i) => i.check === RUN_FAILURE_CHECK);
    expect(incident?.evidence).toMatchObject({ code: "VAULT_CURRENT_DISABLED" });

    // The dry run says the same.
    const plan = await (await s.runner()).dryRun("scheduled");
    expect(plan.action).toBe("noop");
    expect(plan.reason).toMatch(/is disabled.*re-enable/);

    // Re-enabled, the set is healthy again and the credential never went away.
    world.keyVault.state.updateVersion(s.set.keyVault.secretName, current.version, { attributes: { enabled: true } });
    expect((await s.pass()).status).toBe("succeeded");
    expect(s.liveKeyIds()).toEqual([keyId]);
    (await s.scanJournals(s.scanner())).assertClean();
  });

  it("disabled current version: the forced rotation an operator starts retires the disabled credential only through the retirement rule (after the grace period)", async () => {
    const s = await scenario();
    const current = await settled(s);
    const keyId = current.tags["keyId"]!;
    adminDisables(s, current.version);

    const rotated = await s.pass("force");
    expect(rotated.journal.previousCredential?.keyId).toBe(keyId);
    expect(rotated.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    world.clock.advance(37_000);
    await s.pass();
    // Inside the grace period: still on the app.
    expect(s.liveKeyIds()).toContain(keyId);

    world.clock.advance(25 * HOUR);
    const done = await s.pass();
    expect(done.status).toBe("succeeded");
    expect(s.liveKeyIds()).toEqual([s.vaultCurrent()!.tags["keyId"]]);
    s.assertNoOutage("after the disabled credential was retired");
  });

  it("disabled current version reported as a missing credential: after a credential removed by hand was replaced in an emergency, disabling the new current version is still VAULT_CURRENT_DISABLED, never 'no longer exists on the app'", async () => {
    const s = await scenario();
    const handMade = await settled(s);
    // An administrator deletes the current credential in the portal; on-call runs an emergency rotation.
    const { graph } = await s.runtime.clientsFor(s.set);
    await graph.removePassword(s.seeded.appObjectId, handMade.tags["keyId"]!);
    expect((await s.runToEnd("emergency")).status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    const keyId = current.tags["keyId"]!;
    expect(s.liveKeyIds()).toEqual([keyId]);

    adminDisables(s, current.version);
    const res = await s.pass();
    expect(s.liveKeyIds()).toEqual([keyId]);
    expect(res.journal.error).toMatchObject({ code: "VAULT_CURRENT_DISABLED" });
    expect(res.journal.plan?.reason).toMatch(new RegExp(`version ${current.version} .*${keyId}.* is disabled`));
    expect(res.journal.plan?.reason).not.toMatch(/no longer exists on the app/);
    (await s.scanJournals(s.scanner())).assertClean();
  });
});
