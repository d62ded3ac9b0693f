import { app } from "@azure/functions";
import { lazyHandler, runtimeFromEnv } from "../src/runtime/host.js";

export const health = lazyHandler(async () => (await import("../src/handlers/health.js")).makeHealthHandler(runtimeFromEnv));
export const status = lazyHandler(async () => (await import("../src/handlers/health.js")).makeStatusHandler(runtimeFromEnv));

app.http("health", { methods: ["GET"], route: "health", authLevel: "function", handler: health });
app.http("status", { methods: ["GET"], route: "status", authLevel: "function", handler: status });
