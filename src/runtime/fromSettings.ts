import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { loadConfig, type LoadedConfig } from "../config/load.js";
import type { Env } from "../config/settings.js";
import { createAzureCredential } from "../entra/credential.js";
import { createRuntime, type BuiltRuntime } from "./createRuntime.js";
import { startTelemetry } from "../telemetry/azureMonitor.js";
import { systemClock } from "../clock.js";

/**
 * The composition root for the Functions host: app settings → clients → runtime. Built once per
 * host process on first use; a configuration error fails every invocation with the one message
 * that lists every bad field, instead of half-working.
 */
export async function createRuntimeFromEnv(env: Env): Promise<BuiltRuntime> {
  const config = loadConfig(env);
  const telemetry = await startTelemetry(env, systemClock);
  return createRuntime({
    telemetry,
    sets: config.sets,
    credential: rotatorCredential(config),
    container: storageContainer(config),
    ca: config.extraCaPem,
    queueName: config.settings.rotationQueueName,
    maxDequeueCount: config.settings.rotationMaxDequeue,
    publicBaseUrl: config.settings.publicBaseUrl,
    rotationSchedule: config.settings.rotationSchedule,
    healthSchedule: config.settings.healthSchedule,
    heartbeatUrl: config.settings.heartbeatUrl,
    probeTimeoutMs: config.settings.probeTimeoutMs,
    alerting: { repeatIntervalMs: config.settings.alertRepeatMinutes * 60_000, resolveAfterHealthy: config.settings.alertResolveAfterProbes },
  });
}

function rotatorCredential({ settings, extraCaPem }: LoadedConfig) {
  const id = settings.identity;
  if (id.kind === "clientSecret") {
    return createAzureCredential({ tenantId: id.tenantId, clientId: id.clientId, clientSecret: id.clientSecret, authorityHost: id.authorityHost, ca: extraCaPem });
  }
  return createAzureCredential({ managedIdentityClientId: id.clientId, authorityHost: id.authorityHost, ca: extraCaPem });
}

function storageContainer({ settings }: LoadedConfig): ContainerClient {
  const s = settings.storage;
  const service =
    s.kind === "connectionString"
      ? BlobServiceClient.fromConnectionString(s.connectionString)
      : new BlobServiceClient(s.blobServiceUri, s.clientId ? new ManagedIdentityCredential({ clientId: s.clientId }) : new DefaultAzureCredential());
  return service.getContainerClient(settings.storageContainer);
}
