import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * Found by `npm run chaos` (issue 10, seeds 184 and 458): on a manual gateway, a permanent error
 * after promote (Key Vault answering 401 while the run waited for its operator) ended the run
 * `failed`. On a cequence gateway the next pass's reconcile finishes what such a run left; a
 * manual gateway's reconcile cannot read its targets back, so the credential the run replaced was
 * never retired and the operator had no run left to confirm. Ground truth comes from the emulators.
 */
const world = useWorld();

const HOUR = 3_600_000;
const unauthorized = (route: string, times: number) => ({
  route,
  status: 401,
  body: { error: { code: "Unauthorized", message: "AKV10032: Invalid issuer." } },
  times,
});

describe("defect: a manual gateway's run failed for good after promote, stranding the previous credential", () => {
  it("seed 184: a Key Vault 401 on the pass after the operator confirmed kept the replaced credential forever (I6)", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, gatewayKind: "manual" });
    const previous = s.vaultCurrent()!;
    const first = await s.pass();
    expect(first.status).toBe("awaiting_confirmation");
    const promoted = s.vaultCurrent()!;
    await s.operatorConfirms(first.journal.runId);

    world.keyVault.server.faults.add(unauthorized("^GET /secrets/", 2));
    const refused = await s.pass();
    expect(refused.status, "the run keeps its operator's confirmation and is retried, not ended").not.toBe("failed");
    expect(refused.journal.error?.code).toBe("VAULT_UNAUTHORIZED");

    world.clock.advance(25 * HOUR);
    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const live = s.credentials().map((c) => c.keyId);
    expect(live, "the replaced credential is retired after its grace period").not.toContain(previous.tags["keyId"]);
    expect(live).toEqual([promoted.tags["keyId"]]);
    s.assertNoOutage("after the manual run finished");
  });

  it("seed 458: a run that hit a permanent error while waiting for its operator can still be confirmed", async () => {
    const { s, first, promoted } = await Scenario.awaitingOperator(world);

    world.keyVault.server.faults.add(unauthorized("^GET /secrets/", 2));
    const refused = await s.pass();
    expect(refused.status).not.toBe("failed");

    // The operator did their part meanwhile; the confirmation is accepted although the last pass erred.
    await s.operatorConfirms(first.journal.runId);
    world.clock.advance(25 * HOUR);
    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
  });
});
