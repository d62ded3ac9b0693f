import { describe, expect, it, vi } from "vitest";
import { app } from "@azure/functions";

/**
 * The Functions host discovers triggers through these registrations, so their shape (routes,
 * auth level, schedules, queue bindings) is what users get from `func start` and in Azure.
 */
describe("function registrations", () => {
  it("register every trigger with function-level auth, the documented routes and the rotation queue", async () => {
    const http = vi.spyOn(app, "http").mockImplementation(() => undefined);
    const timer = vi.spyOn(app, "timer").mockImplementation(() => undefined);
    const queue = vi.spyOn(app, "storageQueue").mockImplementation(() => undefined);
    const eventGrid = vi.spyOn(app, "eventGrid").mockImplementation(() => undefined);
    // Imported afresh, so its registrations run again although another test file in this worker
    // may have imported it already (test files share a module cache: vitest.config.ts, isolate).
    vi.resetModules();
    await import("../../functions/rotationTimer.js");
    await import("../../functions/rotationWorker.js");
    await import("../../functions/rotationsApi.js");
    await import("../../functions/healthTimer.js");
    await import("../../functions/healthApi.js");
    await import("../../functions/keyVaultEvents.js");

    const routes = Object.fromEntries(http.mock.calls.map(([name, o]) => [name, { route: o.route, methods: o.methods, authLevel: o.authLevel }]));
    expect(routes).toMatchObject({
      startRotation: { route: "rotations", methods: ["POST"], authLevel: "function" },
      getRotation: { route: "rotations/{runId}", methods: ["GET"], authLevel: "function" },
      confirmRotation: { route: "rotations/{runId}/confirm", methods: ["POST"], authLevel: "function" },
      health: { route: "health", methods: ["GET"], authLevel: "function" },
      status: { route: "status", methods: ["GET"], authLevel: "function" },
    });
    expect(timer.mock.calls.map(([name, o]) => [name, o.schedule])).toContainEqual(["healthTimer", "%HEALTH_SCHEDULE%"]);
    expect(timer.mock.calls.map(([name, o]) => [name, o.schedule])).toContainEqual(["rotationTimer", "%ROTATION_SCHEDULE%"]);
    expect(queue.mock.calls.map(([name, o]) => [name, o.queueName, o.connection])).toEqual([
      ["rotationWorker", "%ROTATION_QUEUE_NAME%", "AzureWebJobsStorage"],
    ]);
    const timerOptions = timer.mock.calls.find(([n]) => n === "rotationTimer")![1];
    expect(timerOptions.extraOutputs?.[0]).toMatchObject({ type: "queue", queueName: "%ROTATION_QUEUE_NAME%" });
    // infra/app/events.bicep subscribes this function name to SecretNearExpiry.
    expect(eventGrid.mock.calls.map(([name, o]) => [name, o.extraOutputs?.[0]?.["queueName"]])).toEqual([["keyVaultEvents", "%ROTATION_QUEUE_NAME%"]]);
  });
});

describe("binding expressions", () => {
  it("schedules copied into four places: every %SETTING% a registration uses is an app setting both local.settings.example.json and infra/main.bicep set", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const { AZURE_SETTING_NAMES, LOCAL_SETTING_NAMES } = await import("../../src/config/appSettingNames.js");
    const dir = path.resolve(import.meta.dirname, "../../functions");
    const used = new Set<string>();
    for (const f of readdirSync(dir)) for (const m of readFileSync(path.join(dir, f), "utf8").matchAll(/"%([A-Za-z0-9_]+)%"/g)) used.add(m[1]!);
    expect([...used].sort()).toEqual(["HEALTH_SCHEDULE", "ROTATION_QUEUE_NAME", "ROTATION_SCHEDULE"]);
    for (const name of used) {
      expect(AZURE_SETTING_NAMES).toContain(name);
      expect(LOCAL_SETTING_NAMES).toContain(name);
    }
  });
});
