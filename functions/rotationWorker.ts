import { app } from "@azure/functions";
import { lazyHandler, runtimeFromEnv } from "../src/runtime/host.js";
import { rotationQueueName } from "./queues.js";

export const rotationWorker = lazyHandler(async () => (await import("../src/handlers/rotationWorker.js")).makeRotationWorkerHandler(runtimeFromEnv));

app.storageQueue("rotationWorker", {
  queueName: rotationQueueName,
  connection: "AzureWebJobsStorage",
  handler: rotationWorker,
});
