import { output } from "@azure/functions";

/**
 * The rotation queue on the Functions storage account. The host resolves the binding expression
 * from the app setting ROTATION_QUEUE_NAME (local.settings.json locally, infra/main.bicep in Azure),
 * so the name lives in one place.
 */
export const rotationQueueName = "%ROTATION_QUEUE_NAME%";
export const rotationQueue = output.storageQueue({ queueName: rotationQueueName, connection: "AzureWebJobsStorage" });
