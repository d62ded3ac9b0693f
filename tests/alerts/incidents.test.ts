import { afterEach, describe, expect, it } from "vitest";
import { IncidentManager } from "../../src/alerts/incidents.js";
import { EXPIRY_AT_RISK_CHECK, ROTATION_CHECK, RUN_FAILURE_CHECK, dedupKeyFor } from "../../src/alerts/model.js";
import { DAY_MS } from "../../src/clock.js";
import { toRotationEventInput } from "../../src/alerts/rotationEvents.js";
import type { RotationEvent } from "../../src/rotation/model.js";
import { receivedPayloads, startWorld, type World } from "./world.js";

const SET = "cequence-sso";

describe("incident manager: rotation events and status", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("announces started/succeeded as informational events only to channels that take info", async () => {
    w = await startWorld({ channels: { slack: "info", teams: "warning", pagerduty: "info", opsgenie: "info" } });
    const [started] = await w.manager.rotationEvent(SET, { type: "started", runId: "run-1", mode: "scheduled" });
    expect(started!.notification).toBe("event");
    expect(started!.delivery).toMatchObject({ delivered: ["slack", "pagerduty"], skipped: ["opsgenie"], failed: [] });
    expect(w.rx.teams.accepted()).toHaveLength(0);
    expect(w.rx.pagerduty.accepted()[0]!.body).toMatchObject({ kind: "change", payload: { summary: "[cequence-sso] Rotation run run-1 started (scheduled)" } });
    expect(w.rx.pagerduty.alerts()).toEqual([]);
    expect(await w.store.list(SET)).toEqual([]);
  });

  it("opens a run-failure incident with step, code and hint; the same failure on the next run stays silent", async () => {
    w = await startWorld({ channels: { slack: "warning", pagerduty: "error" }, repeatIntervalMs: 86_400_000 });
    const expiresOn = new Date(w.clock.now().getTime() + 90 * DAY_MS);
    const fail = (runId: string) =>
      w.manager.rotationEvent(SET, {
        type: "failed",
        runId,
        step: "propagate",
        code: "GATEWAY_THROTTLED",
        hint: "The gateway kept answering 429; the next run resumes propagation.",
        secretExpiresOn: expiresOn,
        renewalWindowDays: 30,
      });
    const [first] = await fail("run-1");
    expect(first!.notification).toBe("opened");
    expect(first!.incident).toMatchObject({
      check: RUN_FAILURE_CHECK,
      severity: "error",
      title: "Rotation failed at step propagate (GATEWAY_THROTTLED)",
      hint: "The gateway kept answering 429; the next run resumes propagation.",
      evidence: { step: "propagate", code: "GATEWAY_THROTTLED", secretExpiresOn: expiresOn.toISOString() },
      runId: "run-1",
      links: { run: "https://rotator.example.test/api/rotations/run-1" },
    });
    w.clock.advance(6 * 3_600_000 - 1);
    const [second] = await fail("run-2");
    expect(second!.notification).toBe("none");
    expect(w.rx.pagerduty.alerts()).toMatchObject([{ status: "triggered", triggers: 1, severity: "error" }]);
  });

  it("makes a run that ends with targets on the previous secret critical, naming them and saying what to do (issue 8)", async () => {
    w = await startWorld({ channels: { pagerduty: "critical" } });
    const event: RotationEvent = {
      type: "failed",
      set: SET,
      runId: "run-9",
      mode: "scheduled",
      step: "propagate",
      error: {
        code: "GATEWAY_UNAUTHORIZED",
        message: "Gateway: the API token was refused",
        hint: "Rotate the gateway API token. 2 MCP server(s) still hold the previous secret: mcp-a, mcp-b.",
      },
      targets: { total: 4, verified: 2, stale: ["mcp-b", "mcp-a"] },
    };
    const input = toRotationEventInput(event, { secretExpiresOn: new Date(w.clock.now().getTime() + 170 * DAY_MS), renewalWindowDays: 30 })!;
    const [opened] = await w.manager.rotationEvent(SET, input);
    expect(opened!.incident).toMatchObject({
      severity: "critical",
      title: "Rotation failed at step propagate (GATEWAY_UNAUTHORIZED): 2 MCP server(s) left on the previous secret",
      evidence: { staleTargets: ["mcp-a", "mcp-b"] },
    });
    expect(opened!.incident!.hint).toMatch(/mcp-a, mcp-b/);
    expect(w.rx.pagerduty.alerts()).toMatchObject([{ status: "triggered", severity: "critical" }]);
  });

  it("makes a failure critical when the secret expires within the renewal window, or on outage risk", async () => {
    w = await startWorld({ channels: { pagerduty: "critical" } });
    const [inWindow] = await w.manager.rotationEvent(SET, {
      type: "failed",
      runId: "run-1",
      step: "verify-entra",
      code: "AADSTS7000215",
      secretExpiresOn: new Date(w.clock.now().getTime() + 5 * DAY_MS),
      renewalWindowDays: 30,
    });
    expect(inWindow!.incident?.severity).toBe("critical");
    const [risk] = await w.manager.rotationEvent("other-set", { type: "failed", runId: "run-9", step: "retire", code: "TARGET_UNVERIFIED", outageRisk: true });
    expect(risk!.incident).toMatchObject({ severity: "critical", evidence: { outageRisk: true } });
    expect(w.rx.pagerduty.accepted().map((a) => a.body.payload?.["severity"])).toEqual(["critical", "critical"]);
  });

  it("resolves the run-failure, confirmation and expiry incidents of a set when a run succeeds", async () => {
    w = await startWorld({ channels: { slack: "info", opsgenie: "warning" } });
    await w.manager.rotationEvent(SET, { type: "failed", runId: "run-1", step: "stash", code: "VAULT_THROTTLED" });
    const [awaiting] = await w.manager.rotationEvent(SET, { type: "awaiting_confirmation", runId: "run-2", targets: ["mcp-jira", "mcp-crm"] });
    expect(awaiting!.incident).toMatchObject({ check: ROTATION_CHECK, severity: "warning", evidence: { targets: ["mcp-crm", "mcp-jira"] } });
    expect(awaiting!.incident?.hint).toContain("POST /api/rotations/run-2/confirm");
    // A minute over 3 days: the clock runs in real time, and a millisecond later 3 days exactly is "2 days left" (floor).
    const [risk] = await w.manager.rotationEvent(SET, { type: "expiry_at_risk", secretExpiresOn: new Date(w.clock.now().getTime() + 3 * DAY_MS + 60_000) });
    expect(risk!.incident).toMatchObject({ check: EXPIRY_AT_RISK_CHECK, severity: "critical" });
    expect(risk!.incident?.title).toMatch(/\(3 days left\)/);
    await w.manager.rotationEvent("unrelated-set", { type: "failed", runId: "run-x", step: "plan", code: "GRAPH_FORBIDDEN" });

    expect((await w.manager.listOpen(SET)).map((i) => i.severity)).toEqual(["critical", "error", "warning"]);

    const outcomes = await w.manager.rotationEvent(SET, { type: "succeeded", runId: "run-3" });
    expect(outcomes.map((o) => o.notification)).toEqual(["event", "resolved", "resolved", "resolved"]);
    expect(await w.manager.listOpen(SET)).toEqual([]);
    expect((await w.manager.listOpen()).map((i) => i.set)).toEqual(["unrelated-set"]);
    const closed = w.rx.opsgenie.alerts().filter((a) => a.alias.startsWith(`mcp-sso-rotator.${SET}.`));
    expect(closed.map((a) => a.status)).toEqual(["closed", "closed", "closed"]);
  });

  it("announces an opening once when two instances report the same failure at the same moment", async () => {
    w = await startWorld({ channels: { slack: "warning" } });
    const twin = new IncidentManager({ store: w.store, clock: w.clock, notifier: w.dispatcher, resolveAfterHealthy: 2 });
    const r = { healthy: false, severity: "error" as const, title: "Discovery document unreachable", evidence: { status: 503 } };
    const outcomes = await Promise.all([w.manager.report(SET, "discovery", r), twin.report(SET, "discovery", r), w.manager.report(SET, "discovery", r)]);
    expect(outcomes.filter((o) => o.notification === "opened")).toHaveLength(1);
    expect(w.rx.slack.accepted()).toHaveLength(1);
    const [stored] = await w.store.list(SET);
    expect(stored).toMatchObject({ deliveredTo: ["slack"], state: "open" });
  });

  it("re-notifies open incidents nobody reported on for a repeat interval", async () => {
    w = await startWorld({ channels: { webhook: "warning" }, repeatIntervalMs: 3_600_000 });
    await w.manager.report(SET, "app.settings", {
      healthy: false,
      severity: "warning",
      title: "Public client flows enabled",
      evidence: { isFallbackPublicClient: true },
    });
    expect(await w.manager.renotifyDue()).toEqual([]);
    w.clock.advance(3_600_000);
    const due = await w.manager.renotifyDue();
    expect(due.map((d) => d.notification)).toEqual(["repeat"]);
    expect(w.rx.webhook.accepted().map((a) => a.body.type)).toEqual(["opened", "repeat"]);
    expect(await w.manager.renotifyDue()).toEqual([]);
  });

  it("refuses an unhealthy report without a severity", async () => {
    w = await startWorld({ channels: { slack: "warning" } });
    await expect(w.manager.report(SET, "x", { healthy: false })).rejects.toMatchObject({ code: "ALERT_REPORT_INVALID" });
    expect(dedupKeyFor("a b/c", "d?e")).toBe("mcp-sso-rotator.a_b_c.d_e");
    w.scanner().collectAll("payload", receivedPayloads(w.rx)).collect("none", "nothing sent").assertClean();
  });
});

describe("runner events to incidents", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("maps the runner's failed event, and a repeat of the same error with new trace IDs and times is not an update", async () => {
    w = await startWorld({ channels: { slack: "warning" }, repeatIntervalMs: 86_400_000 });
    const failed = (runId: string, trace: string, at: string): RotationEvent => ({
      type: "failed",
      set: SET,
      runId,
      mode: "scheduled",
      step: "verify-entra",
      error: {
        code: "ENTRA_SECRET_NOT_ACCEPTED",
        message: `AADSTS7000215: Invalid client secret provided. Trace ID: ${trace} Correlation ID: ${trace} Timestamp: ${at}`,
        hint: "Replication can take minutes; the next run resumes verification.",
        aadsts: 7000215,
      },
    });
    const context = { secretExpiresOn: new Date(w.clock.now().getTime() + 60 * DAY_MS), renewalWindowDays: 30 };
    const input = toRotationEventInput(failed("run-1", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "2026-03-01 10:00:00Z"), context)!;
    const [first] = await w.manager.rotationEvent(SET, input);
    expect(first!.incident).toMatchObject({
      severity: "error",
      evidence: { step: "verify-entra", code: "ENTRA_SECRET_NOT_ACCEPTED", message: expect.stringContaining("Trace ID: <id>") },
    });
    const again = toRotationEventInput(failed("run-2", "11111111-2222-3333-4444-555555555555", "2026-03-01 16:00:00Z"), context)!;
    const [second] = await w.manager.rotationEvent(SET, again);
    expect(second!.notification).toBe("none");
    // A wait that moved the run only resolves a stalled-run incident (issue 25); it announces nothing else.
    const progressed = toRotationEventInput({ type: "waiting", set: SET, runId: "r", mode: "scheduled" });
    expect(progressed).toEqual({ type: "progressed", runId: "r" });
    expect(await w.manager.rotationEvent(SET, progressed!)).toEqual([]);
    expect(
      toRotationEventInput({ type: "awaiting_confirmation", set: SET, runId: "r", mode: "scheduled", targets: { total: 2, verified: 0, names: ["a", "b"] } }),
    ).toEqual({
      type: "awaiting_confirmation",
      runId: "r",
      targets: ["a", "b"],
    });
  });
});
