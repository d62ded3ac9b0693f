import { app } from "@azure/functions";
import { lazyHandler, runtimeFromEnv } from "../src/runtime/host.js";

export const healthTimer = lazyHandler(async () => (await import("../src/handlers/health.js")).makeHealthTimerHandler(runtimeFromEnv));

app.timer("healthTimer", {
  // Resolved by the host from the app setting HEALTH_SCHEDULE (binding expression).
  schedule: "%HEALTH_SCHEDULE%",
  handler: healthTimer,
});
