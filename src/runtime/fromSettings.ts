import type { ContainerClient } from "@azure/storage-blob";
import { createStorageContainer } from "../storage/containerClient.js";
import type { TokenCredential } from "@azure/identity";
import { loadConfig, type LoadedConfig } from "../config/load.js";
import type { Env } from "../config/settings.js";
import { createAzureCredential, createStorageCredential } from "../entra/credential.js";
import { createRuntime, type BuiltRuntime, type RuntimeOptions } from "./createRuntime.js";
import { startTelemetry } from "../telemetry/azureMonitor.js";
import { systemClock } from "../clock.js";

/**
 * The composition root for the Functions host: app settings → clients → runtime. Built once per
 * host process on first use; a configuration error fails every invocation with the one message
 * that lists every bad field, instead of half-working.
 */
export interface RuntimeFromEnvOptions {
  /** Folder a relative CREDENTIAL_SETS_FILE / EXTRA_CA_FILE resolves against (default: the process's). */
  cwd?: string;
  /** The identity for Graph, Key Vault and identity-based storage; default: the app's own (managed identity or client secret). The operator CLI passes DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Extra runtime options (the CLI's progress hooks). */
  extra?: Partial<RuntimeOptions>;
}

export async function createRuntimeFromEnv(env: Env, options: RuntimeFromEnvOptions = {}): Promise<BuiltRuntime> {
  const config = loadConfig(env, options.cwd ? { cwd: options.cwd } : {});
  const telemetry = await startTelemetry(env, systemClock, { ca: config.extraCaPem });
  return createRuntime({
    telemetry,
    sets: config.sets,
    credential: options.credential ?? rotatorCredential(config),
    container: storageContainer(config, options.credential),
    ca: config.extraCaPem,
    queueName: config.settings.rotationQueueName,
    maxDequeueCount: config.settings.rotationMaxDequeue,
    publicBaseUrl: config.settings.publicBaseUrl,
    rotationSchedule: config.settings.rotationSchedule,
    healthSchedule: config.settings.healthSchedule,
    heartbeatUrl: config.settings.heartbeatUrl,
    probeTimeoutInMs: config.settings.probeTimeoutInMs,
    alerting: { repeatIntervalMs: config.settings.alertRepeatMinutes * 60_000, resolveAfterHealthy: config.settings.alertResolveAfterProbes },
    ...options.extra,
  });
}

function rotatorCredential({ settings, extraCaPem }: LoadedConfig) {
  const id = settings.identity;
  if (id.kind === "clientSecret") {
    return createAzureCredential({
      tenantId: id.tenantId,
      clientId: id.clientId,
      clientSecret: id.clientSecret,
      authorityHost: id.authorityHost,
      ca: extraCaPem,
    });
  }
  return createAzureCredential({ managedIdentityClientId: id.clientId, authorityHost: id.authorityHost, ca: extraCaPem });
}

function storageContainer({ settings, extraCaPem }: LoadedConfig, credential?: TokenCredential): ContainerClient {
  const s = settings.storage;
  return createStorageContainer({
    location:
      s.kind === "connectionString"
        ? { kind: "connectionString", connectionString: s.connectionString }
        : {
            kind: "identity",
            blobServiceUri: s.blobServiceUri,
            credential: credential ?? createStorageCredential({ clientId: s.clientId, ca: extraCaPem }),
          },
    container: settings.storageContainer,
  });
}
