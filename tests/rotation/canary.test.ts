import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * propagateStep at the run level: canary first, and servers of another tenant reported as drift.
 * Judged from the emulators' ground truth (which secret each server stores, which credentials the
 * app still has), never from the journal alone.
 */
const world = useWorld();

describe("canary first in a rotation", () => {
  it("no canary: a gateway that lost updates got every target written — now a canary that fails verification ends the run failed (CANARY_FAILED), the others keep the previous, still valid secret, which is not retired", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 10, targets: 8, otherTargets: 2 });
    s.hooks.afterStep = (step) => s.assertNoOutage(`after ${step}`);
    // The gateway acknowledges the canary's update but does not store it.
    world.gateway.setLoseUpdates({ times: 1 });
    const first = await s.pass();
    world.gateway.setLoseUpdates(undefined);

    expect(first.status).toBe("failed");
    expect(first.journal.error?.code).toBe("CANARY_FAILED");
    expect(first.journal.error?.hint).toMatch(/still hold the previous secret/);
    const handMade = s.seeded.handMade;
    expect(s.targets().every((t) => t.clientSecret === handMade.secretText)).toBe(true);
    expect(s.credentials().some((c) => c.keyId === handMade.keyId)).toBe(true);
    const canary = first.journal.targets.filter((t) => t.error?.code === "TARGET_SECRET_MISMATCH");
    expect(canary).toHaveLength(1);
    expect(first.journal.targets.filter((t) => t.attempts > 0)).toHaveLength(1);
    expect(
      s.events.some(
        (e) => (e as { type?: string; error?: { code?: string } }).type === "failed" && (e as { error?: { code?: string } }).error?.code === "CANARY_FAILED",
      ),
    ).toBe(true);
    s.assertNoOutage("after the failed canary");

    // Once the gateway is healthy, the next pass reconciles: canary first again, then everyone.
    const second = await s.pass();
    expect(second.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    expect(s.targets().every((t) => t.clientSecret === current.value)).toBe(true);
    s.assertNoOutage("after the reconcile");
    (await s.scanJournals(s.scanner())).assertClean();
  });

  it("servers of another tenant were written: a server with the set's client ID but another tenant's token URL is recorded as drift and never written", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 10, targets: 5, otherTargets: 0 });
    const foreign = world.gateway.seedServer({
      name: "foreign-tenant-mcp",
      tokenUrl: `${world.authorityHost}/${randomUUID()}/oauth2/v2.0/token`,
      clientId: s.set.clientId,
      clientSecret: s.seeded.handMade.secretText,
    });
    const domainForm = world.gateway.seedServer({
      name: "domain-form-mcp",
      tokenUrl: `${world.authorityHost.toUpperCase().replace("HTTPS", "https")}/contoso.example/oauth2/v2.0/token`,
      clientId: s.set.clientId,
      clientSecret: s.seeded.handMade.secretText,
    });
    const res = await s.pass();
    expect(res.status).toBe("waiting"); // grace period
    const rec = res.journal.targets.find((t) => t.id === foreign.id);
    expect(rec).toMatchObject({ outcome: "drift", updated: false, verified: false });
    expect(rec?.evidence).toMatch(/names tenant/);
    const current = s.vaultCurrent()!;
    expect(world.gateway.servers().find((x) => x.id === foreign.id)!.clientSecret).toBe(s.seeded.handMade.secretText);
    // The domain form of the set's own tenant is a target like any other.
    expect(world.gateway.servers().find((x) => x.id === domainForm.id)!.clientSecret).toBe(current.value);
    expect(res.journal.steps.find((st) => st.name === "propagate")?.detail).toMatch(
      /6 updated, 0 already held the new secret: 6 of 6 hold it \(canary .+ updated and verified first\)/,
    );
  });
});
