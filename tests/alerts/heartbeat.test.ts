import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkRotationTimerLiveness, pingHeartbeat } from "../../src/alerts/heartbeat.js";
import { HEARTBEAT_CHECK, SERVICE_SET } from "../../src/alerts/model.js";
import { HttpClient } from "../../src/http/client.js";
import { EmulatorServer } from "../../emulators/common/server.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { startWorld, type World } from "./world.js";

const HOUR = 3_600_000;

describe("rotation timer liveness", () => {
  const now = new Date("2026-03-01T12:00:00Z");

  it("is healthy while the timer completed within two schedule periods", () => {
    expect(checkRotationTimerLiveness({ lastCompletedAt: new Date(now.getTime() - 11 * HOUR), schedulePeriodMs: 6 * HOUR, now })).toEqual({ healthy: true });
    expect(checkRotationTimerLiveness({ lastCompletedAt: new Date(now.getTime() - 12 * HOUR).toISOString(), schedulePeriodMs: 6 * HOUR, now }).healthy).toBe(
      true,
    );
  });

  it("is critical after two missed periods, with a title that says how long and stable evidence", () => {
    const last = new Date(now.getTime() - 13 * HOUR);
    const r = checkRotationTimerLiveness({ lastCompletedAt: last, schedulePeriodMs: 6 * HOUR, now });
    expect(r).toMatchObject({ healthy: false, severity: "critical", title: "Rotation timer has not completed for 13 h (two periods are 12 h)" });
    const later = checkRotationTimerLiveness({ lastCompletedAt: last, schedulePeriodMs: 6 * HOUR, now: new Date(now.getTime() + HOUR) });
    expect(later.evidence).toEqual(r.evidence);
  });

  it("counts from `since` for a fresh deployment and is critical when nothing was ever recorded", () => {
    expect(checkRotationTimerLiveness({ lastCompletedAt: undefined, since: new Date(now.getTime() - HOUR), schedulePeriodMs: 6 * HOUR, now }).healthy).toBe(
      true,
    );
    expect(checkRotationTimerLiveness({ lastCompletedAt: undefined, schedulePeriodMs: 6 * HOUR, now })).toMatchObject({
      healthy: false,
      severity: "critical",
      title: "Rotation timer has never completed a pass",
    });
  });
});

describe("heartbeat ping", () => {
  const hb = new EmulatorServer({ name: "heartbeat" });
  const token = "hb-token-0123456789abcdef0123456789";
  const http = new HttpClient({ timeoutInMs: 200, retry: { maxRetries: 1, baseDelayInMs: 1, maxDelayInMs: 2 }, sleep: async () => undefined });
  beforeAll(async () => {
    hb.route("GET", /^\/ping\/([^/]+)$/, (req) =>
      req.params[0] === token ? { status: 200, body: "OK", raw: true } : { status: 404, body: "not found", raw: true },
    );
    await hb.start();
  });
  afterAll(() => hb.close());
  afterEach(() => hb.faults.clear());

  it("pings the dead-man's switch after a successful pass", async () => {
    expect(await pingHeartbeat({ url: `${hb.url}/ping/${token}`, http })).toEqual({ ok: true, status: 200 });
    expect(hb.count("GET", /^\/ping\//)).toBeGreaterThan(0);
  });

  it("reports a failing or hanging heartbeat without throwing and without the URL's token", async () => {
    hb.faults.add({ route: "^GET /ping/", status: 500, times: 2 });
    const failed = await pingHeartbeat({ url: `${hb.url}/ping/${token}`, http, maxRetries: 1 });
    expect(failed).toMatchObject({ ok: false, status: 500 });
    hb.faults.add({ route: "^GET /ping/", hang: true });
    const hung = await pingHeartbeat({ url: `${hb.url}/ping/${token}`, http, maxRetries: 0, timeoutInMs: 100 });
    expect(hung.ok).toBe(false);
    expect(hung.reason).toMatch(/HTTP_TIMEOUT/);
    new SecretScanner().addSecrets([token]).collect("failed", failed).collect("hung", hung).assertClean();
  });
});

describe("heartbeat liveness incident", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("pages on a dead rotation timer, stays quiet while it stays dead, and resolves once it runs again", async () => {
    w = await startWorld({ channels: { pagerduty: "critical", slack: "warning" }, repeatIntervalMs: 24 * HOUR });
    const period = 6 * HOUR;
    let lastCompletedAt = w.clock.now();
    const pass = () =>
      w.manager.report(SERVICE_SET, HEARTBEAT_CHECK, checkRotationTimerLiveness({ lastCompletedAt, schedulePeriodMs: period, now: w.clock.now() }));

    expect((await pass()).notification).toBe("none");
    w.clock.advance(13 * HOUR);
    const opened = await pass();
    expect(opened).toMatchObject({ notification: "opened", incident: { set: SERVICE_SET, check: HEARTBEAT_CHECK, severity: "critical" } });
    w.clock.advance(HOUR);
    expect((await pass()).notification).toBe("none");

    lastCompletedAt = w.clock.now();
    expect((await pass()).notification).toBe("none");
    expect((await pass()).notification).toBe("resolved");
    expect(w.rx.pagerduty.alerts()).toMatchObject([{ dedupKey: "mcp-sso-rotator._service.heartbeat", status: "resolved", severity: "critical", triggers: 1 }]);
    expect(w.rx.slack.accepted()).toHaveLength(2);
  });
});
