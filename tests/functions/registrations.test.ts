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
    await import("../../functions/rotationTimer.js");
    await import("../../functions/rotationWorker.js");
    await import("../../functions/rotationsApi.js");
    await import("../../functions/healthTimer.js");
    await import("../../functions/healthApi.js");

    const routes = Object.fromEntries(http.mock.calls.map(([name, o]) => [name, { route: o.route, methods: o.methods, authLevel: o.authLevel }]));
    expect(routes).toMatchObject({
      startRotation: { route: "rotations", methods: ["POST"], authLevel: "function" },
      getRotation: { route: "rotations/{runId}", methods: ["GET"], authLevel: "function" },
      confirmRotation: { route: "rotations/{runId}/confirm", methods: ["POST"], authLevel: "function" },
      health: { route: "health", methods: ["GET"], authLevel: "function" },
      status: { route: "status", methods: ["GET"], authLevel: "function" },
    });
    expect(timer.mock.calls.map(([name, o]) => [name, o.schedule])).toContainEqual(["healthTimer", "0 */15 * * * *"]);
    expect(timer.mock.calls.map(([name, o]) => [name, o.schedule])).toContainEqual(["rotationTimer", "0 0 3 * * *"]);
    expect(queue.mock.calls.map(([name, o]) => [name, o.queueName, o.connection])).toEqual([["rotationWorker", "rotation-requests", "AzureWebJobsStorage"]]);
    const timerOptions = timer.mock.calls.find(([n]) => n === "rotationTimer")![1];
    expect(timerOptions.extraOutputs?.[0]).toMatchObject({ type: "queue", queueName: "rotation-requests" });
  });
});
