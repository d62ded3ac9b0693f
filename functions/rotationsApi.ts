import { app } from "@azure/functions";
import { makeConfirmRotationHandler, makeGetRotationHandler, makeStartRotationHandler } from "../src/api/rotations.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";
import { rotationQueue } from "./queues.js";

export const startRotation = makeStartRotationHandler(runtimeFromEnv, rotationQueue);
export const getRotation = makeGetRotationHandler(runtimeFromEnv);
export const confirmRotation = makeConfirmRotationHandler(runtimeFromEnv, rotationQueue);

app.http("startRotation", { methods: ["POST"], route: "rotations", authLevel: "function", extraOutputs: [rotationQueue], handler: startRotation });
app.http("getRotation", { methods: ["GET"], route: "rotations/{runId}", authLevel: "function", handler: getRotation });
app.http("confirmRotation", { methods: ["POST"], route: "rotations/{runId}/confirm", authLevel: "function", extraOutputs: [rotationQueue], handler: confirmRotation });
