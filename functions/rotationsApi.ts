import { app } from "@azure/functions";
import { lazyHandler, runtimeFromEnv } from "../src/runtime/host.js";
import { rotationQueue } from "./queues.js";

const api = () => import("../src/handlers/rotations.js");
export const startRotation = lazyHandler(async () => (await api()).makeStartRotationHandler(runtimeFromEnv, rotationQueue));
export const getRotation = lazyHandler(async () => (await api()).makeGetRotationHandler(runtimeFromEnv));
export const confirmRotation = lazyHandler(async () => (await api()).makeConfirmRotationHandler(runtimeFromEnv, rotationQueue));

app.http("startRotation", { methods: ["POST"], route: "rotations", authLevel: "function", extraOutputs: [rotationQueue], handler: startRotation });
app.http("getRotation", { methods: ["GET"], route: "rotations/{runId}", authLevel: "function", handler: getRotation });
app.http("confirmRotation", {
  methods: ["POST"],
  route: "rotations/{runId}/confirm",
  authLevel: "function",
  extraOutputs: [rotationQueue],
  handler: confirmRotation,
});
