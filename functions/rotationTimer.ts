import { app } from "@azure/functions";
import { lazyHandler, runtimeFromEnv } from "../src/runtime/host.js";
import { rotationQueue } from "./queues.js";

export const rotationTimer = lazyHandler(async () =>
  (await import("../src/handlers/rotationWorker.js")).makeRotationTimerHandler(runtimeFromEnv, rotationQueue),
);

app.timer("rotationTimer", {
  // Resolved by the host from the app setting ROTATION_SCHEDULE (binding expression).
  schedule: "%ROTATION_SCHEDULE%",
  extraOutputs: [rotationQueue],
  handler: rotationTimer,
});
