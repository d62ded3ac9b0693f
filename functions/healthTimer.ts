import { app } from "@azure/functions";
import { makeHealthTimerHandler } from "../src/api/health.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";

export const healthTimer = makeHealthTimerHandler(runtimeFromEnv);

app.timer("healthTimer", {
  schedule: process.env["HEALTH_SCHEDULE"] || "0 */15 * * * *",
  handler: healthTimer,
});
