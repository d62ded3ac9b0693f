import { app } from "@azure/functions";
import { makeRotationTimerHandler } from "../src/api/rotationWorker.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";
import { rotationQueue } from "./queues.js";

export const rotationTimer = makeRotationTimerHandler(runtimeFromEnv, rotationQueue);

app.timer("rotationTimer", {
  schedule: process.env["ROTATION_SCHEDULE"] || "0 0 3 * * *",
  extraOutputs: [rotationQueue],
  handler: rotationTimer,
});
