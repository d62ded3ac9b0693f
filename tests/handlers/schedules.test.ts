import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { HttpRequest, InvocationContext } from "@azure/functions";
import { World, freshContainer } from "../harness/world.js";
import type { EmulatorServer } from "../../emulators/common/server.js";
import { makeHealthHandler, makeHealthTimerHandler } from "../../src/handlers/health.js";
import type { RuntimeOptions } from "../../src/runtime/createRuntime.js";
import { startHeartbeatMonitor } from "../helpers/heartbeat.js";

let world: World;
let heartbeat: EmulatorServer;
beforeAll(async () => {
  world = await World.start();
  heartbeat = await startHeartbeatMonitor();
});
afterAll(async () => {
  await world?.stop();
  await heartbeat?.close();
});

const ctx = (name: string) => new InvocationContext({ functionName: name, invocationId: name, logHandler: () => undefined });

async function setup(name: string, extra: Partial<RuntimeOptions>) {
  const seeded = world.seedSet({ name, targets: 1, otherTargets: 0 });
  const container = await freshContainer(inject("storageConnectionString"));
  const runtime = world.runtime([seeded.set], container, extra);
  return { runtime, provider: () => Promise.resolve(runtime) };
}

describe("timer schedules with day and month names (the handlers use the same parser as validation)", () => {
  it("one schedule parser: GET /api/health answers with a day name in HEALTH_SCHEDULE", async () => {
    const t = await setup("sched-health", { healthSchedule: "0 */15 * * * Mon-Fri" });
    const res = await makeHealthHandler(t.provider)(new HttpRequest({ method: "GET", url: "http://localhost/api/health" }), ctx("health"));
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ ok: true, sets: [{ set: "sched-health", ok: true }] });
  });

  it("one schedule parser: with a day name in ROTATION_SCHEDULE the health timer records its run and pings the heartbeat", async () => {
    const t = await setup("sched-timer", { rotationSchedule: "0 0 3 * * Monday", heartbeatUrl: `${heartbeat.url}/ping/abc123` });
    const pings = heartbeat.count("GET", /^\/ping\//);
    expect(await t.runtime.timers.read("timers/healthTimer.json")).toBeUndefined();
    const reports = await makeHealthTimerHandler(t.provider)({} as never, ctx("healthTimer"));
    expect(reports.map((r) => r.set)).toEqual(["sched-timer"]);
    expect(heartbeat.count("GET", /^\/ping\//)).toBe(pings + 1);
    const before = world.clock.now().getTime();
    const record = await t.runtime.timers.read<{ lastCompletedAt?: string }>("timers/healthTimer.json");
    expect(Date.parse(record?.value.lastCompletedAt ?? "")).toBeLessThanOrEqual(before);
    // The rotation timer has not run yet but is within its weekly period: no heartbeat incident.
    expect((await t.runtime.alerting.manager.listOpen("_service")).some((i) => i.check === "heartbeat")).toBe(false);
  });
});
