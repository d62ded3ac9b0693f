import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * Found by `npm run chaos` (issue 10, seeds 310 and 423): Key Vault answering 404 for a moment.
 * The store reads a 404 as "no such secret" — right for a set that has none yet, wrong as grounds
 * for deleting anything. Ground truth (credentials, Key Vault versions, targets) comes from the
 * emulators.
 */
const world = useWorld();

const HOUR = 3_600_000;

describe("defect: Key Vault 404s taken as an empty vault", () => {
  it("orphan sweep on a 404: a pass that read every Key Vault answer as 404 removed the live credential Key Vault serves (outage for every target)", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 0 });
    await s.runToEnd("force");
    world.clock.advance(25 * HOUR);
    await s.pass();
    const current = s.vaultCurrent()!;
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);

    // Every secret route answers 404 for the next calls: the listing and the current version both look absent.
    world.keyVault.server.faults.add({
      route: "^GET /secrets/[^/]+(/versions)?(/[^/]*)?$",
      status: 404,
      body: { error: { code: "SecretNotFound", message: "A secret with (name/id) was not found in this key vault." } },
      times: 3,
    });
    await s.pass().catch(() => undefined);

    // The credential Key Vault serves as current still exists, so every target still signs in.
    expect(s.credentials().map((c) => c.keyId)).toContain(current.tags["keyId"]);
    s.assertNoOutage("after a pass that saw Key Vault answer 404");
  });

  it("seed 310: a 404 for the version a run had just promoted failed the run on a manual gateway, and the credential it replaced was never retired (I6)", async () => {
    const { s, promoted } = await Scenario.awaitingOperator(world);
    // The next pass reads the promoted version back and Key Vault answers 404 once.
    world.keyVault.server.faults.add({
      route: `^GET /secrets/${s.set.keyVault.secretName}/${promoted.version}$`,
      status: 404,
      body: { error: { code: "SecretNotFound", message: "not found" } },
      times: 1,
    });
    const blipped = await s.pass();
    expect(blipped.status, "a 404 for the run's own version is retried, not the end of the run").not.toBe("failed");

    expect((await s.pass()).status, "the next pass asks the operator again").toBe("awaiting_confirmation");

    // The operator updates the servers and confirms; after the grace period only the new credential is left.
    await s.operatorConfirms(blipped.journal.runId);
    world.clock.advance(25 * HOUR);
    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
  });
});
