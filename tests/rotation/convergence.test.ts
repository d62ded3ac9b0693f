import { describe, expect, it } from "vitest";
import { DAY_MS } from "../../src/clock.js";
import { runProbe } from "../../src/probe/runProbe.js";
import type { RotationEvent } from "../../src/rotation/model.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 8: every pass reconciles the estate. Each `describe` is one defect found against a living
 * estate; its test failed on the code before the fix. Ground truth (who holds which secret, which
 * credentials exist) is always read from the emulators.
 */
const world = useWorld();

const HOUR = 3_600_000;

function currentValue(s: Scenario): string {
  return s.vaultCurrent()!.value;
}

function staleTargets(s: Scenario): string[] {
  const current = currentValue(s);
  return s
    .targets()
    .filter((t) => t.clientSecret !== current)
    .map((t) => t.name);
}

describe("defect 1: vanished targets block forever", () => {
  it("drops a target deleted from the gateway or moved to another client ID as gone/moved, with evidence, and retires on time", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 5, otherTargets: 1 });
    // Every update fails for a while: the first pass records all five targets and pauses at propagate.
    world.gateway.server.faults.add({ route: "^PATCH /mcp-servers/[^/]+/authentication$", status: 500, times: 1_000 });
    const first = await s.pass();
    expect(first.status).toBe("waiting");
    expect(first.journal.steps.at(-1)).toMatchObject({ name: "propagate", status: "waiting" });
    world.gateway.server.faults.clear();

    // Meanwhile an administrator deletes one MCP server and points another at a different app.
    const [gone, moved] = s.targets();
    world.gateway.deleteServer(gone!.id);
    world.gateway.editServer(moved!.id, { clientId: s.seeded.otherClientId });

    const second = await s.pass();
    expect(second.status).toBe("waiting");
    expect(second.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    const rec = (id: string) => second.journal.targets.find((t) => t.id === id)!;
    expect(rec(gone!.id)).toMatchObject({ outcome: "gone" });
    expect(rec(gone!.id).evidence).toMatch(/404|not found/i);
    expect(rec(moved!.id)).toMatchObject({ outcome: "moved" });
    expect(rec(moved!.id).evidence).toMatch(/client ID/);

    world.clock.advance(25 * HOUR);
    const done = await s.pass();
    expect(done.status).toBe("succeeded");
    expect(s.credentials().map((c) => c.keyId)).toEqual([done.journal.newCredential!.keyId]);
    expect(staleTargets(s)).toEqual([]);
    // The moved server keeps what it had: it belongs to another app now, and is never written.
    expect(world.gateway.servers().find((t) => t.id === moved!.id)!.clientSecret).toBe(s.seeded.handMade.secretText);
    s.assertNoOutage("after retire");
    s.assertSettled("after retire");
  });
});

describe("defect 3: targets stranded after a failure past promote", () => {
  it.each([
    ["before propagate", "promote"],
    ["after propagate", "propagate"],
  ])("a 401 on the gateway listing %s: the failure names the stale targets, and the next pass repairs and retires", async (_when, armAfter) => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 4, otherTargets: 1 });
    s.hooks.afterStep = (step) => {
      s.assertNoOutage(`after ${step}`);
      if (step === armAfter) world.gateway.server.faults.add({ route: "^GET /mcp-servers", status: 401, times: 1_000 });
    };
    if (armAfter === "propagate") {
      // Two targets are edited by hand after propagate, so verification finds them stale.
      const original = s.hooks.afterStep;
      s.hooks.afterStep = (step) => {
        if (step === "propagate") for (const t of s.targets().slice(0, 2)) world.gateway.setServerSecret(t.id, s.seeded.handMade.secretText);
        return original(step);
      };
    }
    const failed = await s.pass();
    expect(failed.status).toBe("failed");
    const failure = s.events.filter((e): e is RotationEvent => (e as RotationEvent).type === "failed").at(-1)!;
    expect(failure.targets?.stale?.length).toBeGreaterThan(0);
    expect(failure.detail ?? failure.error?.hint).toBeTruthy();
    s.hooks.afterStep = (step) => s.assertNoOutage(`after ${step}`);
    world.gateway.server.faults.clear();

    // The next scheduled pass: the new secret has most of its life left, so no rotation is due —
    // but the estate is reconciled, and the pending retirement finishes once the grace period ends.
    world.clock.advance(25 * HOUR);
    const next = await s.pass();
    expect(next.journal.plan?.action).toBe("noop");
    expect(staleTargets(s)).toEqual([]);
    expect(s.credentials().map((c) => c.keyId)).toEqual([s.vaultCurrent()!.tags["keyId"]]);
    expect(next.journal.steps.find((st) => st.name === "reconcile")?.detail).toMatch(/retired/);
    s.assertNoOutage("after reconcile");
    s.assertSettled("after reconcile");
  });
});

describe("defect 4: no drift repair", () => {
  it("a pass with no rotation due updates servers added from an old copy and hand edits, and the probe said so first", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 1 });
    expect((await s.runToEnd()).status).toBe("succeeded");
    const current = currentValue(s);

    // A new MCP server cloned from an old copy (the retired hand-made secret), and a hand edit.
    const t0 = s.targets()[0]!;
    world.gateway.seedServer({
      name: "cloned-from-old-copy",
      tokenName: t0.tokenName,
      tokenUrl: t0.tokenUrl,
      clientId: s.set.clientId,
      clientSecret: s.seeded.handMade.secretText,
      scopes: t0.scopes,
      additionalParameters: t0.additionalParameters,
    });
    world.gateway.setServerSecret(s.targets()[1]!.id, "typed-by-hand~not-the-secret-0000000000");
    expect(staleTargets(s).sort()).toEqual(["cloned-from-old-copy", s.targets()[1]!.name].sort());
    const clients = await s.runtime.clientsFor(s.set);
    const report = await runProbe({
      set: s.set,
      checks: ["gateway-drift"],
      deps: { ...clients, journals: s.runtime.journals, clock: world.clock, redactor: s.runtime.redactor },
    });
    const drift = report.checks.find((c) => c.id === "gateway-drift")!;
    expect(drift.status).toBe("fail");
    expect((drift.evidence as { repairedByNextPass?: string[] }).repairedByNextPass?.sort()).toEqual(staleTargets(s).sort());
    expect(drift.hint).toMatch(/next rotation pass/);

    world.clock.advance(DAY_MS);
    const pass = await s.pass();
    expect(pass.journal.plan?.action).toBe("noop");
    expect(staleTargets(s)).toEqual([]);
    expect(s.targets().every((t) => t.clientSecret === current)).toBe(true);
    const step = pass.journal.steps.find((st) => st.name === "reconcile")!;
    expect(step.status).toBe("done");
    expect(step.detail).toMatch(/2 of 4 target\(s\) repaired/);
    expect(pass.journal.targets.filter((t) => t.updated && t.verified)).toHaveLength(2);
    s.assertNoOutage("after drift repair");
  });

  it("a target that cannot be repaired ends the pass failed with a critical-worthy event naming it", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0 });
    expect((await s.runToEnd()).status).toBe("succeeded");
    const bad = s.targets()[0]!;
    world.gateway.setServerSecret(bad.id, "typed-by-hand~not-the-secret-1111111111");
    world.gateway.server.faults.add({ route: `^PATCH /mcp-servers/${bad.id}/authentication$`, status: 403, times: 1_000 });
    world.clock.advance(DAY_MS);
    const pass = await s.pass();
    expect(pass.status).toBe("failed");
    const failure = s.events.filter((e): e is RotationEvent => (e as RotationEvent).type === "failed").at(-1)!;
    expect(failure.targets?.stale).toEqual([bad.name]);
    expect(failure.error?.code).toBe("TARGETS_STALE");
    expect(failure.error?.hint).toMatch(bad.name);
  });
});

describe("defect 10: adoption never guesses", () => {
  it("two credentials share the hint and only the Key Vault expiry tells them apart: rotate, retire nothing, needs_attention", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, handMadeSecretInVault: false });
    const hand = s.credentials()[0]!;
    // The hand-made secret in Key Vault carries an expiry matching its credential — a date, not proof.
    world.keyVault.seedSecret(s.set.keyVault.secretName, s.seeded.handMade.secretText, { expiresOn: new Date(hand.endDateTime) });
    const twin = world.entra.seedPassword(s.seeded.appObjectId, {
      displayName: "copy",
      endDateTime: new Date(Date.parse(hand.endDateTime) + 200 * DAY_MS).toISOString(),
      secretText: `${s.seeded.handMade.secretText.slice(0, 3)}Twin~${"z".repeat(32)}`,
    });
    const res = await s.runToEnd();
    expect(res.journal.plan?.adoption?.status).toBe("ambiguous");
    expect(res.status).toBe("needs_attention");
    expect(s.credentials().map((c) => c.keyId)).toEqual(expect.arrayContaining([hand.keyId, twin.keyId]));
    s.assertNoOutage("after ambiguous adoption");
  });
});
