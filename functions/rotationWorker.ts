import { app } from "@azure/functions";
import { makeRotationWorkerHandler } from "../src/api/rotationWorker.js";
import { runtimeFromEnv } from "../src/runtime/fromSettings.js";
import { rotationQueueName } from "./queues.js";

export const rotationWorker = makeRotationWorkerHandler(runtimeFromEnv);

app.storageQueue("rotationWorker", {
  queueName: rotationQueueName,
  connection: "AzureWebJobsStorage",
  handler: rotationWorker,
});
