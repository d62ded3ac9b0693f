import { afterEach, describe, expect, it } from "vitest";
import { AlertDispatcher } from "../../src/alerts/dispatcher.js";
import type { AlertChannel } from "../../src/alerts/channels/index.js";
import type { AlertEvent, Incident } from "../../src/alerts/model.js";
import { memoryLogger } from "../../src/logging.js";
import { openIncident } from "./incidentFixture.js";
import { receivedPayloads, startWorld, type World } from "./world.js";

const incident = (over: Partial<Incident> = {}): Incident =>
  openIncident(
    {
      set: "set-a",
      check: "authorize.redirect",
      severity: "critical",
      title: "Redirect URI not registered (AADSTS50011)",
      hint: "Add the gateway callback to the app registration's Web redirect URIs.",
      evidence: { aadsts: 50011 },
    },
    over,
  );
const opened = (over: Partial<Incident> = {}): AlertEvent => ({ type: "opened", incident: incident(over) });

describe("alert dispatcher", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("delivers to healthy channels while others answer 500, hang, or throttle with 429 storms — and never throws", async () => {
    w = await startWorld({ timeoutInMs: 300, maxRetries: 2 });
    w.rx.slack.fault({ route: "^POST /services/", status: 500 });
    w.rx.teams.fault({ route: "^POST /powerautomate/", hang: true });
    w.rx.pagerduty.fault({ route: "^POST /v2/enqueue$", status: 429, retryAfterSeconds: 1 });

    const outcome = await w.dispatcher.dispatch(opened());

    expect(outcome.delivered.sort()).toEqual(["opsgenie", "webhook"]);
    expect(outcome.failed.sort()).toEqual(["pagerduty", "slack", "teams"]);
    expect(w.rx.opsgenie.accepted()).toHaveLength(1);
    expect(w.rx.webhook.accepted()).toHaveLength(1);
    // Retried with backoff; Retry-After (1 s) honoured for every 429 retry.
    expect(w.rx.pagerduty.server.count("POST", /^\/v2\/enqueue$/)).toBe(3);
    expect(w.waits.filter((ms) => ms === 1000)).toHaveLength(2);
    expect(w.rx.slack.server.count("POST", /^\/services\//)).toBe(3);

    const log = Object.fromEntries(w.dispatcher.deliveryLog().map((s) => [s.channel, s]));
    expect(log["pagerduty"]?.lastFailure).toMatchObject({ code: "ALERT_THROTTLED", status: 429, eventType: "opened" });
    expect(log["slack"]?.lastFailure).toMatchObject({ code: "ALERT_HTTP_500", status: 500 });
    expect(log["teams"]?.lastFailure).toMatchObject({ code: "HTTP_TIMEOUT" });
    expect(log["opsgenie"]).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: expect.any(String) });
    expect(log["teams"]?.lastFailure?.reason).toMatch(/^Teams Workflows \(127\.0\.0\.1:\d+\): no answer in time$/);

    w.scanner().collect("deliveryLog", w.dispatcher.deliveryLog()).collectAll("log", w.lines).collect("outcome", outcome).assertClean();
  });

  it("bounds a channel that never settles and isolates one that throws", async () => {
    w = await startWorld({ channels: { slack: "warning" } });
    const never: AlertChannel = { name: "stuck", kind: "webhook", minSeverity: "info", send: () => new Promise(() => undefined) };
    const broken: AlertChannel = {
      name: "broken",
      kind: "webhook",
      minSeverity: "info",
      send: () => {
        throw new Error("channel bug");
      },
    };
    const { logger } = memoryLogger();
    const d = new AlertDispatcher({ channels: [never, broken, ...w.channels], logger, clock: w.clock, channelTimeoutInMs: 200 });
    const outcome = await d.dispatch(opened());
    expect(outcome.delivered).toEqual(["slack"]);
    const byName = Object.fromEntries(outcome.results.map((r) => [r.channel, r]));
    expect(byName["stuck"]).toMatchObject({ ok: false, code: "ALERT_CHANNEL_TIMEOUT" });
    expect(byName["broken"]).toMatchObject({ ok: false, code: "ALERT_CHANNEL_CRASHED", reason: "channel bug" });
  });

  it("sends each event only to channels at or above their minimum severity", async () => {
    w = await startWorld({ channels: { slack: "info", teams: "warning", pagerduty: "error", opsgenie: "critical" } });
    const outcomes = [];
    for (const severity of ["info", "warning", "error", "critical"] as const) {
      outcomes.push((await w.dispatcher.dispatch(opened({ severity, dedupKey: `k-${severity}` }))).delivered.sort());
    }
    expect(outcomes).toEqual([["slack"], ["slack", "teams"], ["pagerduty", "slack", "teams"], ["opsgenie", "pagerduty", "slack", "teams"]]);
    expect(w.rx.slack.accepted()).toHaveLength(4);
    expect(w.rx.pagerduty.accepted().map((a) => a.body.payload?.["severity"])).toEqual(["error", "critical"]);
    expect(w.rx.opsgenie.accepted().map((a) => a.body.body["priority"])).toEqual(["P1"]);
  });

  it("sends a resolve only to the channels that received the opening", async () => {
    w = await startWorld({ channels: { slack: "warning", pagerduty: "error", webhook: "warning" } });
    w.rx.webhook.fault({ route: "^POST /hooks/", status: 503 });
    const r1 = await w.manager.report("set-a", "gateway.drift", {
      healthy: false,
      severity: "warning",
      title: "Target token URL drifted",
      evidence: { target: "mcp-crm" },
    });
    expect(r1.delivery?.delivered).toEqual(["slack"]);
    expect(r1.incident).toMatchObject({ deliveredTo: ["slack"], pendingChannels: ["webhook"] });
    w.rx.webhook.clearFaults();
    await w.manager.report("set-a", "gateway.drift", { healthy: true });
    const resolved = await w.manager.report("set-a", "gateway.drift", { healthy: true });
    expect(resolved.notification).toBe("resolved");
    expect(resolved.delivery?.delivered).toEqual(["slack"]);
    expect(w.rx.pagerduty.accepted()).toHaveLength(0);
    expect(w.rx.webhook.accepted()).toHaveLength(0);
    expect(w.rx.slack.accepted().map((a) => /\[([A-Z ]+)\]/.exec(a.body.text ?? "")?.[1])).toEqual(["OPENED", "RESOLVED"]);
  });

  it("retries a channel that missed the opening on the next report, without repeating it elsewhere", async () => {
    w = await startWorld({ channels: { slack: "warning", pagerduty: "warning" }, maxRetries: 1 });
    w.rx.pagerduty.fault({ route: "^POST /v2/enqueue$", status: 502, times: 2 });
    const report = { healthy: false, severity: "error" as const, title: "Key Vault secret expires in 5 days", evidence: { daysLeft: 5 } };
    const first = await w.manager.report("set-b", "expiry.horizon", report);
    expect(first.delivery).toMatchObject({ delivered: ["slack"], failed: ["pagerduty"] });
    const second = await w.manager.report("set-b", "expiry.horizon", report);
    expect(second.notification).toBe("opened");
    expect(second.delivery?.delivered).toEqual(["pagerduty"]);
    expect(second.incident).toMatchObject({ deliveredTo: ["pagerduty", "slack"], pendingChannels: [] });
    const third = await w.manager.report("set-b", "expiry.horizon", report);
    expect(third.notification).toBe("none");
    expect(w.rx.slack.accepted()).toHaveLength(1);
    expect(w.rx.pagerduty.alerts()).toMatchObject([{ status: "triggered", triggers: 1 }]);
  });

  it("missed resolve never retried: a channel that was down when the incident resolved kept its page open for ever (found by npm run chaos, seed 129)", async () => {
    w = await startWorld({ channels: { slack: "warning", pagerduty: "warning" }, maxRetries: 1 });
    const failing = { healthy: false, severity: "error" as const, title: "Key Vault secret expires in 5 days", evidence: { daysLeft: 5 } };
    await w.manager.report("set-c", "expiry.horizon", failing);
    expect(w.rx.pagerduty.alerts()).toMatchObject([{ status: "triggered" }]);

    // PagerDuty is down while the check recovers: the resolve reaches Slack only.
    w.rx.pagerduty.fault({ route: "^POST /v2/enqueue$", status: 503 });
    await w.manager.report("set-c", "expiry.horizon", { healthy: true });
    const resolved = await w.manager.report("set-c", "expiry.horizon", { healthy: true });
    expect(resolved.delivery).toMatchObject({ delivered: ["slack"], failed: ["pagerduty"] });
    expect(resolved.incident).toMatchObject({ state: "resolved", pendingChannels: ["pagerduty"] });

    // PagerDuty is back: the next health pass resends the resolve there, and only there.
    w.rx.pagerduty.clearFaults();
    const again = await w.manager.renotifyDue();
    expect(again.map((o) => o.notification)).toEqual(["resolved"]);
    expect(again[0]!.delivery?.delivered).toEqual(["pagerduty"]);
    expect(w.rx.pagerduty.alerts()).toMatchObject([{ status: "resolved" }]);
    expect(w.rx.slack.accepted().map((a) => /\[([A-Z ]+)\]/.exec(a.body.text ?? "")?.[1])).toEqual(["OPENED", "RESOLVED"]);
    expect(await w.manager.renotifyDue()).toEqual([]);
  });

  it("lost answer, page never resolved: PagerDuty took a trigger whose answer was lost, the resolve skipped it as never reached, and the page stayed open for ever (found by npm run chaos, seed 37)", async () => {
    w = await startWorld({ channels: { slack: "warning", pagerduty: "warning" }, maxRetries: 0 });
    // PagerDuty records the trigger, but what comes back is not its JSON answer (a proxy's page, a cut connection's remains).
    w.rx.pagerduty.fault({
      route: "^POST /v2/enqueue$",
      status: 200,
      raw: true,
      body: "OK",
      headers: { "Content-Type": "text/plain" },
      afterHandling: true,
      times: 1,
    });
    const opened = await w.manager.report("set-c", "expiry.horizon", {
      healthy: false,
      severity: "error",
      title: "Key Vault secret expires in 5 days",
      evidence: { daysLeft: 5 },
    });
    expect(opened.delivery?.failed).toEqual(["pagerduty"]);
    expect(w.rx.pagerduty.alerts(), "PagerDuty's own record: the page is open").toMatchObject([{ status: "triggered" }]);

    await w.manager.report("set-c", "expiry.horizon", { healthy: true });
    await w.manager.report("set-c", "expiry.horizon", { healthy: true });
    expect(w.rx.pagerduty.alerts(), "the resolve reaches every channel the opening was sent to, answered or not").toMatchObject([{ status: "resolved" }]);
    expect(await w.manager.renotifyDue()).toEqual([]);
  });

  it("reaches a channel that already holds the page with a downgrade below its minimum severity", async () => {
    w = await startWorld({ channels: { slack: "warning", pagerduty: "error" } });
    const r = (severity: "warning" | "critical") => ({ healthy: false, severity, title: "Admin consent missing", evidence: { severity } });
    await w.manager.report("set-c", "app.consent", r("critical"));
    const down = await w.manager.report("set-c", "app.consent", r("warning"));
    expect(down.notification).toBe("updated");
    expect(down.delivery?.delivered.sort()).toEqual(["pagerduty", "slack"]);
    expect(w.rx.pagerduty.alerts()).toMatchObject([{ severity: "warning", status: "triggered" }]);
    w.scanner().collectAll("payload", receivedPayloads(w.rx)).assertClean();
  });
});
