import { app } from "@azure/functions";
import { makeHealthHandler, makeStatusHandler } from "../src/api/health.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";

export const health = makeHealthHandler(runtimeFromEnv);
export const status = makeStatusHandler(runtimeFromEnv);

app.http("health", { methods: ["GET"], route: "health", authLevel: "function", handler: health });
app.http("status", { methods: ["GET"], route: "status", authLevel: "function", handler: status });
