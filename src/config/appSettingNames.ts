/**
 * The one list of the Function App's app settings. `settings.ts` validates the rotator's own
 * (APP_SETTING_NAMES); `local.settings.example.json` lists LOCAL_SETTING_NAMES; `infra/main.bicep`
 * sets exactly AZURE_SETTING_NAMES (tests/config/appSettingNames.test.ts and tests/infra check
 * both files against this module). A new setting goes here first.
 */

/** Read and validated by the rotator (src/config/settings.ts). */
export const APP_SETTING_NAMES = [
  "CREDENTIAL_SETS_FILE",
  "CREDENTIAL_SETS_JSON",
  "AzureWebJobsStorage",
  "AzureWebJobsStorage__accountName",
  "AzureWebJobsStorage__blobServiceUri",
  "AzureWebJobsStorage__queueServiceUri",
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "ROTATION_SCHEDULE",
  "HEALTH_SCHEDULE",
  "ROTATION_QUEUE_NAME",
  "ROTATION_MAX_DEQUEUE",
  "STORAGE_CONTAINER",
  "PUBLIC_BASE_URL",
  "HEARTBEAT_URL",
  "ALERT_REPEAT_MINUTES",
  "ALERT_RESOLVE_AFTER_PROBES",
  "PROBE_TIMEOUT_MS",
  "AZURE_TENANT_ID",
  "AZURE_CLIENT_ID",
  "AZURE_CLIENT_SECRET",
  "AZURE_AUTHORITY_HOST",
  "EXTRA_CA_FILE",
  "AZURE_FUNCTIONS_ENVIRONMENT",
  "WEBSITE_INSTANCE_ID",
] as const;

/**
 * Read by the Functions host or by the telemetry module (src/telemetry), not by settings.ts.
 * The host.json override carries the queue's maxDequeueCount: host.json itself cannot use
 * %binding expressions% (https://learn.microsoft.com/azure/azure-functions/functions-host-json#override-hostjson-values).
 */
const HOST_SETTING_NAMES = [
  "FUNCTIONS_WORKER_RUNTIME",
  "AzureFunctionsJobHost__extensions__queues__maxDequeueCount",
  // The host's diagnostic events (Table storage); the rotator itself uses only blobs and queues.
  "AzureWebJobsStorage__tableServiceUri",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  // The exporter's statsbeat goes to fixed Microsoft endpoints through an HTTP client of its own,
  // which the address guard cannot reach (src/telemetry/azureMonitor.ts); "true" turns it off.
  "APPLICATION_INSIGHTS_NO_STATSBEAT",
] as const;

/** Set on a developer machine only, each for a reason Azure does not share. */
export const LOCAL_ONLY_SETTINGS: Readonly<Record<string, string>> = {
  FUNCTIONS_WORKER_RUNTIME: "Flex Consumption rejects it: the runtime is the site's functionAppConfig.runtime",
  AzureWebJobsStorage: "a connection string (Azurite); Azure uses the identity and the service URIs",
  AzureWebJobsStorage__accountName: "Azure sets the explicit service URIs instead",
  AZURE_TENANT_ID: "only for client-secret sign-in; Azure uses the managed identity",
  AZURE_CLIENT_SECRET: "Azure uses the managed identity",
  EXTRA_CA_FILE: "local emulators only; the app refuses it in Production",
};

/** Set by the platform itself, never configured. */
const PLATFORM_SETTINGS: readonly string[] = ["WEBSITE_INSTANCE_ID"];

const ALL_SETTING_NAMES: readonly string[] = [...APP_SETTING_NAMES, ...HOST_SETTING_NAMES];

/** The keys of local.settings.example.json's Values. */
export const LOCAL_SETTING_NAMES: readonly string[] = ALL_SETTING_NAMES.filter((n) => !PLATFORM_SETTINGS.includes(n));

/** The app settings infra/main.bicep writes, no more and no fewer. */
export const AZURE_SETTING_NAMES: readonly string[] = LOCAL_SETTING_NAMES.filter((n) => !(n in LOCAL_ONLY_SETTINGS));
