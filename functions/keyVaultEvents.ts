import { app } from "@azure/functions";
import { lazyHandler, runtimeFromEnv } from "../src/runtime/host.js";
import { rotationQueue } from "./queues.js";

/** Key Vault SecretNearExpiry via the Event Grid system topic on the vault (infra/app/events.bicep). */
export const keyVaultEvents = lazyHandler(async () =>
  (await import("../src/events/keyVaultEvents.js")).makeKeyVaultEventsHandler(runtimeFromEnv, rotationQueue),
);

app.eventGrid("keyVaultEvents", { extraOutputs: [rotationQueue], handler: keyVaultEvents });
