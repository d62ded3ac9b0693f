import { describe, expect, it } from "vitest";
import { fingerprintMatches } from "../../src/gateway/fingerprint.js";
import { pendingSecretName } from "../../src/rotation/policy.js";
import { Scenario, useWorld } from "./harness.js";

const world = useWorld();

describe("a scheduled rotation of a hand-made secret close to expiry", () => {
  it("adopts the secret, rotates, propagates to every target, and retires the old secret after the grace period", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 10, targets: 12, otherTargets: 3 });
    const otherBefore = s.otherTargets().map((t) => t.clientSecret);
    const stepsSeen: string[] = [];
    // I1 is read from the gateway's ground truth after every step.
    s.hooks.afterStep = (step) => {
      stepsSeen.push(step);
      s.assertNoOutage(`after ${step}`);
    };

    const first = await s.pass();
    expect(first.status).toBe("waiting");
    expect(first.journal.plan?.action).toBe("rotate");
    expect(first.journal.plan?.adoption?.status).toBe("adopted");
    expect(first.journal.plan?.adoption?.keyId).toBe(s.seeded.handMade.keyId);
    expect(stepsSeen).toEqual(["plan", "create", "stash", "verify-entra", "promote", "propagate", "verify-targets"]);
    expect(first.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });

    const newKeyId = first.journal.newCredential!.keyId;
    const current = s.vaultCurrent()!;
    expect(current.tags).toMatchObject({ keyId: newKeyId, appId: s.set.clientId, runId: first.runId, previousKeyId: s.seeded.handMade.keyId });
    expect(current.tags["retireAfter"]).toBeDefined();
    expect(current.tags["expiresOn"]).toBe(first.journal.newCredential!.endDateTime);
    expect(s.world.keyVault.versions(pendingSecretName(s.set.keyVault.secretName)).every((v) => !v.enabled)).toBe(true);
    for (const t of s.targets()) expect(t.clientSecret).toBe(current.value);
    expect(s.otherTargets().map((t) => t.clientSecret)).toEqual(otherBefore);
    // During the grace period both secrets live and both are held.
    expect(
      s
        .credentials()
        .map((c) => c.keyId)
        .sort(),
    ).toEqual([s.seeded.handMade.keyId, newKeyId].sort());
    s.assertSettled("during grace");

    // A pass before the grace period ends retires nothing.
    world.clock.advance(3_600_000);
    expect((await s.pass()).status).toBe("waiting");
    expect(s.credentials()).toHaveLength(2);

    world.clock.advance(24 * 3_600_000);
    const done = await s.pass();
    expect(done.status).toBe("succeeded");
    expect(s.credentials().map((c) => c.keyId)).toEqual([newKeyId]);
    const handMadeVersions = s.world.keyVault.versions(s.set.keyVault.secretName).filter((v) => v.tags["keyId"] === s.seeded.handMade.keyId);
    expect(handMadeVersions.length).toBe(1);
    expect(handMadeVersions[0]!.enabled).toBe(false);
    s.assertNoOutage("after retire");
    s.assertSettled("after retire");

    const state = await s.runtime.journals.readState(s.set.name);
    expect(state).toMatchObject({ currentKeyId: newKeyId, lastRun: { runId: first.runId, status: "succeeded" }, targetsVerified: { verified: 12, total: 12 } });
    expect(state.activeRunId).toBeUndefined();
    expect((await s.scanJournals(s.scanner())).assertClean()).toBeGreaterThan(10);
  });

  it("does nothing when the secret is far from its renewal window", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 150, targets: 2 });
    const res = await s.pass();
    expect(res.status).toBe("noop");
    expect(res.journal.plan?.reason).toMatch(/150 days left/);
    expect(s.credentials()).toHaveLength(1);
    // Adoption still tags the hand-made secret so later runs know its keyId.
    expect(s.vaultCurrent()!.tags["keyId"]).toBe(s.seeded.handMade.keyId);
    s.scanner().assertClean();
  });

  it("bootstraps when Key Vault holds no secret yet, retiring nothing it did not create", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 100, targets: 2, handMadeSecretInVault: false });
    const res = await s.runToEnd("scheduled");
    expect(res.status).toBe("succeeded");
    expect(res.journal.steps.find((st) => st.name === "retire")?.status).toBe("skipped");
    // The hand-made credential is unmanaged: reported, never touched.
    expect(s.credentials().map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);
    expect(res.journal.plan?.unmanagedCredentials.map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);
  });
});

describe("modes", () => {
  it("force rotates a healthy secret; emergency retires the old one as soon as every target is verified", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 200, targets: 3 });
    const forced = await s.pass("force");
    expect(forced.status).toBe("waiting");
    expect(forced.journal.plan?.reason).toMatch(/force/);
    world.clock.advance(25 * 3_600_000);
    expect((await s.pass()).status).toBe("succeeded");

    const emergency = await s.pass("emergency");
    expect(emergency.status).toBe("succeeded");
    expect(emergency.journal.plan?.gracePeriodHours).toBe(0);
    expect(s.credentials()).toHaveLength(1);
    expect(s.credentials()[0]!.keyId).toBe(emergency.journal.newCredential!.keyId);
    s.assertNoOutage("after emergency");
    s.assertSettled("after emergency");
    (await s.scanJournals(s.scanner())).assertClean();
  });

  it("an emergency request finishes a run waiting out its grace period at once", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2 });
    const first = await s.pass();
    expect(first.status).toBe("waiting");
    const second = await s.pass("emergency");
    expect(second.runId).toBe(first.runId);
    expect(second.status).toBe("succeeded");
    expect(s.credentials()).toHaveLength(1);
  });
});

describe("orphan sweep (I2)", () => {
  it("removes a managed credential whose value no enabled Key Vault version holds, and never one that is held", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2 });
    await s.runToEnd();
    const current = s.vaultCurrent()!.tags["keyId"]!;
    // A run that died between addPassword and the stash long ago left this behind: nobody holds its value.
    const orphan = world.entra.seedPassword(s.seeded.appObjectId, {
      displayName: `mcp-sso-rotator/${s.set.name}/20260101T000000Z-deadbeef`,
      endDateTime: new Date(world.clock.now().getTime() + 100 * 86_400_000).toISOString(),
    });
    const forced = await s.pass("force");
    expect(forced.journal.plan?.orphans.map((o) => o.keyId)).toEqual([orphan.keyId]);
    const ids = s.credentials().map((c) => c.keyId);
    expect(ids).not.toContain(orphan.keyId);
    // The previous secret is still held during its grace period and must survive the sweep.
    expect(ids).toContain(current);
    expect(ids).toContain(forced.journal.newCredential!.keyId);
    s.assertSettled("after the sweep");
    expect(s.lines.join("\n")).toMatch(/removed orphaned managed credential/);
  });
});

describe("single writer (I5)", () => {
  it("two triggers at once produce one run; the other is told a rotation is already running", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 4 });
    const [a, b] = await Promise.allSettled([s.pass(), s.pass()]);
    const outcomes = [a, b].map((r) => (r.status === "fulfilled" ? "ran" : (r.reason as { code?: string }).code));
    expect(outcomes.sort()).toEqual(["ROTATION_IN_PROGRESS", "ran"]);
    expect(s.createdCredentials()).toHaveLength(1);
  });
});

describe("adoption", () => {
  it("refuses to retire anything when the hand-made secret cannot be identified unambiguously", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2 });
    // A second credential whose hint and end date match the hand-made one.
    const hand = s.credentials()[0]!;
    const twin = world.entra.seedPassword(s.seeded.appObjectId, {
      displayName: "copy",
      endDateTime: hand.endDateTime,
      secretText: `${s.seeded.handMade.secretText.slice(0, 3)}Twin~${"x".repeat(32)}`,
    });
    const res = await s.runToEnd();
    expect(res.journal.plan?.adoption?.status).toBe("ambiguous");
    expect(res.journal.plan?.adoption?.detail).toMatch(/adoptKeyId/);
    expect(res.status).toBe("needs_attention");
    expect(res.journal.steps.find((st) => st.name === "retire")).toMatchObject({ status: "skipped" });
    expect(s.credentials().map((c) => c.keyId)).toEqual(expect.arrayContaining([hand.keyId, twin.keyId]));
    s.assertNoOutage("after ambiguous adoption");
  });

  it("adopts the credential named by secret.adoptKeyId when hints collide", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, overrides: {} });
    const hand = s.credentials()[0]!;
    world.entra.seedPassword(s.seeded.appObjectId, {
      displayName: "copy",
      endDateTime: hand.endDateTime,
      secretText: `${s.seeded.handMade.secretText.slice(0, 3)}Twin~${"y".repeat(32)}`,
    });
    const set = { ...s.set, secret: { ...s.set.secret, adoptKeyId: hand.keyId } };
    const runner = await s.runtime.createRunner(set, s.logger);
    const res = await runner.runPass({ mode: "scheduled", trigger: "queue" });
    expect(res.journal.plan?.adoption).toMatchObject({ status: "adopted", keyId: hand.keyId });
    world.clock.advance(25 * 3_600_000);
    expect((await runner.runPass({ mode: "scheduled", trigger: "queue" })).status).toBe("succeeded");
    expect(s.credentials().map((c) => c.keyId)).not.toContain(hand.keyId);
  });
});

describe("tenant app management policy", () => {
  it("clamps the new lifetime to the policy's maximum", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1 });
    world.entra.setAppManagementPolicy({ maxPasswordLifetimeDays: 90 });
    try {
      const res = await s.pass();
      expect(res.journal.plan).toMatchObject({ lifetimeDays: 90, clampedByPolicyDays: 90 });
      const end = Date.parse(res.journal.newCredential!.endDateTime);
      expect(Math.round((end - world.clock.now().getTime()) / 86_400_000)).toBe(90);
    } finally {
      world.entra.setAppManagementPolicy({});
    }
  });

  it("stops with a typed error naming the policy when password addition is blocked, creating nothing", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1 });
    world.entra.setAppManagementPolicy({ passwordAdditionBlocked: true });
    try {
      const res = await s.pass();
      expect(res.status).toBe("failed");
      expect(res.journal.error).toMatchObject({ code: "POLICY_BLOCKS_PASSWORD_ADDITION" });
      expect(res.journal.error?.message).toMatch(/passwordAddition/);
      expect(res.journal.error?.hint).toMatch(/Nothing was created/);
      expect(s.credentials()).toHaveLength(1);
    } finally {
      world.entra.setAppManagementPolicy({});
    }
  });
});

describe("tenant app management policy without Policy.Read.All", () => {
  it("rotates anyway when the policy cannot be read (403), logging that the lifetime is not clamped in advance", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1 });
    world.entra.server.faults.add({
      route: "^GET /v1.0/policies/defaultAppManagementPolicy$",
      status: 403,
      body: { error: { code: "Authorization_RequestDenied", message: "Insufficient privileges to complete the operation." } },
    });
    try {
      const res = await s.pass();
      expect(res.journal.steps.find((st) => st.name === "create")?.status).toBe("done");
      expect(s.lines.join("\n")).toMatch(/cannot read the app management policies \(GRAPH_FORBIDDEN\)/);
    } finally {
      world.entra.server.faults.clear();
    }
  });
});

describe("replication delay", () => {
  it("pauses when the new secret is not accepted within the verify budget, and the next pass finishes", async () => {
    const { s, first } = await Scenario.waitingForReplication(world, 3);
    try {
      expect(first.status).toBe("waiting");
      expect(first.journal.verify?.lastAadsts).toBe(7000215);
      // Nothing unverified was pushed to any target (I1).
      expect(s.targets().every((t) => t.clientSecret === s.seeded.handMade.secretText)).toBe(true);
      s.assertNoOutage("while replicating");
      world.clock.advance(61_000);
      const second = await s.pass();
      expect(second.runId).toBe(first.runId);
      expect(second.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
      expect(s.createdCredentials()).toHaveLength(1);
    } finally {
      world.entra.setReplicationDelay(0);
    }
  });
});

describe("targets", () => {
  it("updates every target with the set's client ID and leaves other client IDs untouched", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 4, otherTargets: 2 });
    const res = await s.pass();
    expect(res.journal.steps.find((st) => st.name === "propagate")?.detail).toMatch(/4 updated, 0 already held/);
    const secret = s.vaultCurrent()!.value;
    for (const t of s.targets()) expect(fingerprintMatches({ secretFingerprint: t.secretFingerprint, fingerprintSalt: t.fingerprintSalt }, secret)).toBe(true);
    expect(res.journal.targets).toHaveLength(4);
    expect(s.otherTargets().every((t) => t.clientSecret.startsWith("other-secret-"))).toBe(true);
  });
});
