import { app } from "@azure/functions";
import { makeDashboardHandler } from "../src/dashboard/handler.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";

export const dashboard = makeDashboardHandler(runtimeFromEnv);

app.http("dashboard", { methods: ["GET"], route: "dashboard", authLevel: "function", handler: dashboard });
