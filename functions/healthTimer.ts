import { app } from "@azure/functions";
import { makeHealthTimerHandler } from "../src/api/health.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";

export const healthTimer = makeHealthTimerHandler(runtimeFromEnv);

app.timer("healthTimer", {
  // Resolved by the host from the app setting HEALTH_SCHEDULE (binding expression).
  schedule: "%HEALTH_SCHEDULE%",
  handler: healthTimer,
});
