import { describe, expect, test } from "vitest";
import { DAY_MS } from "../../src/clock.js";
import { memoryLogger } from "../../src/logging.js";
import type { RunJournal } from "../../src/rotation/model.js";
import { RotationJournalStore } from "../../src/rotation/journal.js";
import { check, probeWorldPerTest, type ProbeWorld } from "./harness.js";
import { GATEWAY_REDIRECT_URI } from "../harness/world.js";

/**
 * The checks the troubleshooting table does not cover — app registration hygiene, expiry horizon,
 * rotation health and tenant policy — each healthy and broken, through the real clients.
 */
const startProbeWorld = probeWorldPerTest();

describe("app-registration", () => {
  test("public client flows, missing ID tokens and unrequested permissions are each reported", async () => {
    const w = await startProbeWorld();
    const sloppy = w.world.entra.seedApplication({
      tenantId: w.world.tenantId,
      displayName: "sloppy copy",
      redirectUris: [GATEWAY_REDIRECT_URI],
      enableIdTokenIssuance: false,
      isFallbackPublicClient: true,
      requiredScopes: ["openid", "profile"],
      owners: [w.world.operator.clientId],
    });
    w.world.entra.seedConsent(sloppy.appId, ["openid", "profile", "email", "User.Read"]);
    const app = check(await w.probe({ set: { ...w.set, clientId: sloppy.appId }, checks: ["app-registration"] }), "app-registration");

    expect(app).toMatchObject({ status: "fail", severity: "error" });
    expect(app.summary).toContain("public client flows are allowed");
    expect(app.hint).toContain("'Allow public client flows' to No");
    expect(app.evidence["findings"]).toEqual([
      expect.stringMatching(/^fail\/error: public client flows/),
      expect.stringMatching(/^fail\/warning: ID tokens are not enabled/),
      expect.stringMatching(/^fail\/warning: the app does not request the delegated Microsoft Graph permission\(s\) email, User\.Read$/),
    ]);
  });

  test("a redirect URI registered with different case is called out as not exact", async () => {
    const w = await startProbeWorld();
    const upper = w.world.entra.seedApplication({
      tenantId: w.world.tenantId,
      displayName: "case",
      redirectUris: [GATEWAY_REDIRECT_URI.replace("/callback", "/Callback")],
      enableIdTokenIssuance: true,
      owners: [w.world.operator.clientId],
    });
    w.world.entra.seedConsent(upper.appId, ["openid", "profile", "email", "User.Read"]);
    const app = check(await w.probe({ set: { ...w.set, clientId: upper.appId }, checks: ["app-registration"] }), "app-registration");
    expect(app).toMatchObject({ status: "fail", severity: "critical", aadsts: 50011 });
    expect(app.summary).toContain("registered only as");
  });
});

describe("expiry", () => {
  test("the managed current secret is found by its Key Vault keyId tag; a hand-made one near expiry is reported but not blamed", async () => {
    const w = await startProbeWorld({ managed: true });
    w.world.entra.seedPassword(w.appObjectId, {
      displayName: "someone's laptop",
      endDateTime: new Date(w.world.clock.now().getTime() + 5 * DAY_MS).toISOString(),
    });
    const expiry = check(await w.probe(), "expiry");
    expect(expiry).toMatchObject({ status: "warn", severity: "info" });
    expect(expiry.evidence["currentKeyId"]).toBe(w.secret.keyId);
    expect(expiry.evidence["currentAdopted"]).toBe(true);
    expect(expiry.summary).toContain("not managed by this service expire soon");
    expect(expiry.evidence["credentials"]).toEqual([
      expect.stringMatching(/^unmanaged .* "someone's laptop" .*\(5 days\)$/),
      expect.stringMatching(new RegExp(`^current ${w.secret.keyId} hint ${w.secret.value.slice(0, 3)}…`)),
    ]);
  });

  test("the current secret inside the renewal window warns; a week from expiry it is an error", async () => {
    const w = await startProbeWorld({ managed: true, secretDaysLeft: 20 });
    expect(check(await w.probe({ checks: ["expiry"] }), "expiry")).toMatchObject({ status: "warn", severity: "warning" });
    w.world.clock.advance(15 * DAY_MS);
    const late = check(await w.probe({ checks: ["expiry"] }), "expiry");
    expect(late).toMatchObject({ status: "fail", severity: "error" });
    expect(late.summary).toContain("expires in 5 days");
  });

  test("a Key Vault keyId whose credential was deleted from the app is critical", async () => {
    const w = await startProbeWorld({ managed: true });
    await w.clients.graph.removePassword(w.appObjectId, w.secret.keyId);
    const report = await w.probe({ checks: ["expiry", "token"] });
    expect(check(report, "expiry")).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000215 });
    expect(check(report, "expiry").summary).toContain("no longer exists on the app");
    expect(check(report, "token")).toMatchObject({ status: "fail", aadsts: 7000215 });
  });

  test("issue 25 defect 4 — contradictory advice: a current credential removed from the app right after its promotion is never 'may still be replicating'", async () => {
    const w = await startProbeWorld({ targets: 2 });
    const pass = await (await w.runtime.createRunner(w.set, memoryLogger(w.redactor).logger)).runPass({ mode: "force", trigger: "demo" });
    const current = pass.journal.newCredential!.keyId;
    // Someone removes the credential Key Vault's version (seconds old) names from the app by hand.
    await w.clients.graph.removePassword(w.appObjectId, current);
    // The production replication window (the harness turns it off by default).
    const report = await w.probe({ checks: ["expiry", "token"], replicationWindowMs: 15 * 60_000 });
    expect(check(report, "expiry")).toMatchObject({ status: "fail", severity: "critical" });
    const token = check(report, "token");
    expect(token).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000215 });
    expect(token.summary).not.toMatch(/replicating/);
    expect(token.hint).not.toMatch(/^Wait/);
    expect(token.summary).toContain(`${current} no longer exists on the app`);
    expect(token.evidence["credentialOnApp"]).toBe(false);
  });
});

describe("rotation", () => {
  const journals = (pw: ProbeWorld): RotationJournalStore => pw.runtime.journals;

  test("after a real forced rotation every check passes: managed secret, targets hold it, run waits out its grace period", async () => {
    const w = await startProbeWorld({ targets: 2 });
    const runner = await w.runtime.createRunner(w.set, memoryLogger(w.redactor).logger);
    const pass = await runner.runPass({ mode: "force", trigger: "demo" });
    expect(pass.status).toBe("waiting");

    const report = await w.probe();
    expect(report.checks.filter((c) => c.status !== "pass").map((c) => `${c.id}:${c.summary}`)).toEqual([]);
    const rotation = check(report, "rotation");
    expect(rotation.evidence).toMatchObject({ activeRunId: pass.runId, activeStep: "retire" });
    const expiry = check(report, "expiry");
    expect(expiry.evidence["currentKeyId"]).toBe(pass.journal.newCredential!.keyId);
    expect(expiry.evidence["credentials"]).toEqual(
      expect.arrayContaining([expect.stringMatching(/^previous /), expect.stringMatching(/^current .*"mcp-sso-rotator\/cequence-sso\//)]),
    );
    expect(check(report, "gateway-drift").evidence["holdingCurrentSecret"]).toBe(2);

    // Nobody resumes the run once the grace period is over: the retire step is stuck.
    w.world.clock.advance(25 * 3_600_000);
    const stuck = check(await w.probe({ checks: ["rotation"] }), "rotation");
    expect(stuck).toMatchObject({ status: "fail", severity: "error" });
    expect(stuck.summary).toContain("in step retire");
  });

  test("a rotation past due with no active run is overdue", async () => {
    const w = await startProbeWorld();
    const past = new Date(w.world.clock.now().getTime() - 2 * 3_600_000).toISOString();
    await journals(w).writeState({
      set: w.set.name,
      failureStreak: 0,
      nextRotationAt: past,
      lastRun: { runId: "r-old", status: "noop", mode: "scheduled", at: past },
    });
    const rotation = check(await w.probe({ checks: ["rotation"] }), "rotation");
    expect(rotation).toMatchObject({ status: "fail", severity: "error" });
    expect(rotation.summary).toContain(`rotation was due at ${past}`);
  });

  test("a run stuck in verify-entra past its budget is reported with the step and the journal to read", async () => {
    const w = await startProbeWorld();
    const now = w.world.clock.now().getTime();
    const at = (msAgo: number): string => new Date(now - msAgo).toISOString();
    const run: RunJournal = {
      runId: "20260101T000000Z-stuck001",
      set: w.set.name,
      mode: "scheduled",
      trigger: "timer",
      status: "waiting",
      createdAt: at(3 * 3_600_000),
      updatedAt: at(5 * 60_000),
      passes: 9,
      displayName: `mcp-sso-rotator/${w.set.name}/20260101T000000Z-stuck001`,
      steps: (["plan", "create", "stash"] as const).map((name) => ({
        name,
        status: "done" as const,
        startedAt: at(3 * 3_600_000),
        endedAt: at(3 * 3_600_000),
        durationMs: 5,
      })),
      verify: { consecutive: 0, attempts: 40, lastAadsts: 7000215, firstAttemptAt: at(3 * 3_600_000) },
      targets: [],
    };
    await journals(w).createRun(run);
    await journals(w).writeState({ set: w.set.name, activeRunId: run.runId, failureStreak: 0 });

    const rotation = check(await w.probe({ checks: ["rotation"] }), "rotation");
    expect(rotation).toMatchObject({ status: "fail", severity: "error" });
    expect(rotation.summary).toContain("in step verify-entra");
    expect(rotation.hint).toContain(`GET /api/rotations/${run.runId}`);
  });

  test("repeated failed passes poison the set; a manual run waiting for an operator warns", async () => {
    const w = await startProbeWorld();
    const at = w.world.clock.now().toISOString();
    const error = { code: "GATEWAY_UNAUTHORIZED", message: "the gateway refused the API token", hint: "Renew the gateway API token in Key Vault." };
    await journals(w).writeState({ set: w.set.name, failureStreak: 4, lastRun: { runId: "r-f", status: "failed", mode: "scheduled", at, error } });
    const poisoned = check(await w.probe({ checks: ["rotation"] }), "rotation");
    expect(poisoned).toMatchObject({ status: "fail", severity: "error", hint: error.hint });
    expect(poisoned.summary).toContain("the last 4 passes failed (GATEWAY_UNAUTHORIZED");

    const run: RunJournal = {
      runId: "20260101T000000Z-manual01",
      set: w.set.name,
      mode: "scheduled",
      trigger: "timer",
      status: "awaiting_confirmation",
      createdAt: at,
      updatedAt: at,
      passes: 1,
      displayName: "x",
      steps: [],
      targets: [],
    };
    await journals(w).createRun(run);
    await journals(w).writeState({ set: w.set.name, activeRunId: run.runId, failureStreak: 0 });
    const waiting = check(await w.probe({ checks: ["rotation"] }), "rotation");
    expect(waiting).toMatchObject({ status: "warn", severity: "warning" });
    expect(waiting.hint).toContain(`POST /api/rotations/${run.runId}/confirm`);
  });

  test("without a journal store the rotation check is skipped", async () => {
    const w = await startProbeWorld();
    const report = await w.probe({ checks: ["rotation"], deps: { journals: undefined } });
    expect(check(report, "rotation").status).toBe("skip");
  });
});

describe("policy", () => {
  test("a policy that blocks adding secrets fails; a cap below the lifetime warns, the renewal window follows the capped lifetime", async () => {
    const w = await startProbeWorld();
    w.world.entra.setAppManagementPolicy({ passwordAdditionBlocked: true });
    expect(check(await w.probe({ checks: ["policy"] }), "policy")).toMatchObject({ status: "fail", severity: "error" });

    w.world.entra.setAppManagementPolicy({ maxPasswordLifetimeDays: 90 });
    const capped = check(await w.probe({ checks: ["policy"] }), "policy");
    expect(capped).toMatchObject({ status: "warn", severity: "warning" });
    expect(capped.hint).toContain("lifetimeDays to 90");

    expect(capped.evidence).toMatchObject({ policySource: "tenantDefault", effectiveLifetimeDays: 90 });

    // A cap below renewBeforeDays no longer makes every new secret due at once: renewBeforeDays counts as half the lifetime, and the check says so.
    w.world.entra.setAppManagementPolicy({ maxPasswordLifetimeDays: 20 });
    const short = check(await w.probe({ checks: ["policy", "expiry"] }), "policy");
    expect(short).toMatchObject({ status: "warn", severity: "warning", evidence: { effectiveLifetimeDays: 20, renewWindowDays: 10 } });
    expect(short.summary).toMatch(/renewBeforeDays \d+ is not below the 20-day effective lifetime/);
  });

  test("an app-specific policy overrides the default and the check names it", async () => {
    const w = await startProbeWorld();
    w.world.entra.setAppManagementPolicy({ passwordAdditionBlocked: true });
    w.world.entra.assignAppManagementPolicy(w.appObjectId, { maxPasswordLifetimeDays: 120 });
    const report = await w.probe({ checks: ["policy", "expiry"] });
    expect(check(report, "policy")).toMatchObject({
      status: "warn",
      evidence: { policySource: "app", passwordAdditionBlocked: false, maxPasswordLifetimeDays: 120 },
    });
    expect(check(report, "expiry").evidence["renewWindowBasis"]).toContain("120-day effective lifetime");
  });
});
