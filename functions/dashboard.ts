import { app } from "@azure/functions";
import { lazyHandler, runtimeFromEnv } from "../src/runtime/host.js";

export const dashboard = lazyHandler(async () => (await import("../src/dashboard/handler.js")).makeDashboardHandler(runtimeFromEnv));

app.http("dashboard", { methods: ["GET"], route: "dashboard", authLevel: "function", handler: dashboard });
