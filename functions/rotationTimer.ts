import { app } from "@azure/functions";
import { makeRotationTimerHandler } from "../src/api/rotationWorker.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";
import { rotationQueue } from "./queues.js";

export const rotationTimer = makeRotationTimerHandler(runtimeFromEnv, rotationQueue);

app.timer("rotationTimer", {
  // Resolved by the host from the app setting ROTATION_SCHEDULE (binding expression).
  schedule: "%ROTATION_SCHEDULE%",
  extraOutputs: [rotationQueue],
  handler: rotationTimer,
});
