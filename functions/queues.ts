import { output } from "@azure/functions";

/** The rotation queue (app setting ROTATION_QUEUE_NAME) on the Functions storage account. */
export const rotationQueueName = process.env["ROTATION_QUEUE_NAME"] || "rotation-requests";
export const rotationQueue = output.storageQueue({ queueName: rotationQueueName, connection: "AzureWebJobsStorage" });
