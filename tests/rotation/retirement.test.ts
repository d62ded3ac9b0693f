import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * One retirement rule (src/rotation/retirement.ts, issue 23 item 2) on every path that removes a
 * credential: the retire step, reconcile's pending retirement, superseded credentials and the
 * orphan sweep. For each, a credential an outside consumer still signs in with (Entra's sign-in
 * evidence after the targets were verified) is held; and a missing or unreadable `retireAfter`
 * means keep, with a warning. Ground truth (credentials on the app) comes from the Entra emulator;
 * sign-ins are real token requests to it.
 */
const world = useWorld();

const HOUR = 3_600_000;

async function scenario(): Promise<Scenario> {
  return Scenario.alerting(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0 });
}

/** The gateway answers one listing with a body that is not JSON: a run at its retire step fails, its previous credential left on the app. */
function failNextListing(): void {
  world.gateway.server.faults.add({ route: "^GET /mcp-servers$", status: 200, raw: true, body: "OK", headers: { "Content-Type": "text/plain" }, times: 1 });
}

/** A rotation promoted and verified, whose run then failed at retire: the hand-made credential is the pending retirement reconcile finishes. */
async function pendingRetirement(s: Scenario) {
  const first = await s.pass();
  expect(first.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
  world.clock.advance(25 * HOUR);
  failNextListing();
  expect((await s.pass()).status).toBe("failed");
  expect(s.liveKeyIds()).toContain(s.seeded.handMade.keyId);
}

/** The hand-made credential signs in an hour before a reconcile pass, which keeps it and says why in the log. */
async function expectReconcileKeepsSignedIn(s: Scenario, what: string): Promise<void> {
  const keyId = s.seeded.handMade.keyId;
  expect(await s.outsideConsumerSignsIn(s.seeded.handMade.secretText)).toBe(200);
  world.clock.advance(HOUR);
  const res = await s.pass();
  expect(res.journal.steps.at(-1)?.name).toBe("reconcile");
  expect(s.liveKeyIds()).toContain(keyId);
  expect(s.lines.join("\n")).toMatch(new RegExp(`${what} ${keyId} kept: previous key .* signed in at`));
}

describe("one retirement rule: a credential an outside consumer still uses is held on every path", () => {
  it("retire step", async () => {
    const s = await scenario();
    expect((await s.pass()).journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    world.clock.advance(24 * HOUR);
    expect(await s.outsideConsumerSignsIn(s.seeded.handMade.secretText)).toBe(200);
    world.clock.advance(HOUR);
    const held = await s.pass();
    expect(held.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    expect(held.journal.steps.at(-1)!.detail).toMatch(/signed in at .* after every target was verified/);
    expect(s.liveKeyIds()).toContain(s.seeded.handMade.keyId);
  });

  it("reconcile's pending retirement", async () => {
    const s = await scenario();
    await pendingRetirement(s);
    await expectReconcileKeepsSignedIn(s, "previous credential");
  });

  it("superseded credential", async () => {
    const s = await scenario();
    await pendingRetirement(s);
    // The next rotation knows only its own previous credential; the hand-made one is superseded.
    expect((await s.runToEnd("force")).status).toBe("succeeded");
    world.clock.advance(25 * HOUR);
    await expectReconcileKeepsSignedIn(s, "superseded credential");
  });

  it("orphan sweep", async () => {
    const s = await scenario();
    await s.runToEnd();
    // A credential named like one of ours that no Key Vault version ever held — yet someone signs in with it.
    const orphan = world.entra.seedPassword(s.seeded.appObjectId, {
      displayName: `mcp-sso-rotator/${s.set.name}/20260101T000000Z-deadbeef`,
      endDateTime: new Date(world.clock.now().getTime() + 100 * 86_400_000).toISOString(),
    });
    world.clock.advance(HOUR);
    expect(await s.outsideConsumerSignsIn(orphan.secretText)).toBe(200);
    world.clock.advance(HOUR);
    const forced = await s.pass("force");
    expect(forced.journal.plan?.orphans.map((o) => o.keyId)).toEqual([orphan.keyId]);
    expect(s.liveKeyIds()).toContain(orphan.keyId);
    expect(s.lines.join("\n")).toMatch(new RegExp(`orphaned managed credential ${orphan.keyId} kept: previous key .* signed in at`));
  });
});

describe("one retirement rule: a missing or unreadable retireAfter means keep, with a warning", () => {
  it("reconcile kept an unreadable retireAfter as 'retire now': the pending retirement of a version whose retireAfter was edited by hand is kept", async () => {
    const s = await scenario();
    await pendingRetirement(s);
    const current = s.vaultCurrent()!;
    world.keyVault.state.updateVersion(s.set.keyVault.secretName, current.version, { tags: { ...current.tags, retireAfter: "after the migration" } });
    world.clock.advance(HOUR);
    await s.pass();
    expect(s.liveKeyIds()).toContain(s.seeded.handMade.keyId);
    expect(s.lines.some((l) => l.startsWith("warn") && /retireAfter is unreadable \("after the migration"\)/.test(l))).toBe(true);
  });

  it("retire step took a missing retireAfter as 'due': a run whose journal lost it keeps the previous credential", async () => {
    const s = await scenario();
    const first = await s.pass();
    expect(first.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    const journal = (await s.runtime.journals.readRun(s.set.name, first.runId))!;
    delete journal.retireAfter;
    await s.runtime.journals.writeRun(journal);
    world.clock.advance(HOUR);
    const res = await s.pass();
    expect(res.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    expect(s.liveKeyIds()).toContain(s.seeded.handMade.keyId);
    expect(s.lines.some((l) => l.startsWith("warn") && /retireAfter is missing/.test(l))).toBe(true);
  });
});

describe("the retire step checks the targets on every pass, not only once the grace period is over", () => {
  it("drift during the grace wait not repaired: a server whose secret was overwritten by hand while the run waits out its grace period holds the new secret again after the next pass, long before the grace period ends", async () => {
    const s = await scenario();
    const first = await s.pass();
    expect(first.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    const newSecret = s.vaultCurrent()!.value;
    const [edited] = s.targets();
    // An administrator pastes an old value into one server (ground truth: the gateway emulator).
    world.gateway.setServerSecret(edited!.id, s.seeded.handMade.secretText);

    world.clock.advance(HOUR);
    const during = await s.pass();
    expect(during.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    expect(during.journal.steps.at(-1)!.detail).toMatch(/do not hold the new secret/);
    world.clock.advance(HOUR);
    await s.pass();
    // Repaired within the grace period, the hand-made credential still on the app for anything else using it.
    expect(s.targets().find((t) => t.id === edited!.id)!.clientSecret).toBe(newSecret);
    expect(s.liveKeyIds()).toContain(s.seeded.handMade.keyId);
    s.assertNoOutage("after the repair");
    (await s.scanJournals(s.scanner())).assertClean();
  });
});
