import { metrics, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import type { AzureMonitorOpenTelemetryOptions } from "@azure/monitor-opentelemetry";
import { ManagedIdentityCredential } from "@azure/identity";
import type { Env } from "../config/settings.js";
import type { Clock } from "../clock.js";
import { INSTRUMENTATION_SCOPE } from "./names.js";
import { Telemetry } from "./telemetry.js";

let started: Promise<void> | undefined;

type ExporterOptions = NonNullable<AzureMonitorOpenTelemetryOptions["azureMonitorExporterOptions"]>;

/**
 * The Azure Monitor exporters' options from the app settings, or undefined without a connection
 * string: the connection string, and the managed identity named in
 * APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`ClientId=<id>;Authorization=AAD`: the component has
 * local auth disabled).
 */
export function azureMonitorExporterOptions(env: Env): ExporterOptions | undefined {
  const connectionString = env["APPLICATIONINSIGHTS_CONNECTION_STRING"]?.trim();
  if (!connectionString) return undefined;
  const auth = env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "";
  const aad = /(^|;)\s*Authorization\s*=\s*AAD\s*(;|$)/i.test(auth);
  const clientId = /(^|;)\s*ClientId\s*=\s*([^;\s]+)/i.exec(auth)?.[2];
  return {
    connectionString,
    ...(aad ? { credential: new ManagedIdentityCredential(clientId ? { clientId } : {}) } : {}),
  };
}

/**
 * Starts the Azure Monitor OpenTelemetry distro once per process when the Function App has an
 * Application Insights connection string. Without one the OpenTelemetry API stays a no-op. The
 * distro is imported here, on first use, so a cold start does not load it.
 */
export async function startTelemetry(env: Env, clock: Clock): Promise<Telemetry> {
  const exporterOptions = azureMonitorExporterOptions(env);
  if (exporterOptions) {
    started ??= (async () => {
      const { useAzureMonitor } = await import("@azure/monitor-opentelemetry");
      useAzureMonitor({ azureMonitorExporterOptions: exporterOptions, enableLiveMetrics: false });
    })();
    await started;
  }
  return new Telemetry({
    tracer: trace.getTracer(INSTRUMENTATION_SCOPE),
    meter: metrics.getMeter(INSTRUMENTATION_SCOPE),
    logger: logs.getLogger(INSTRUMENTATION_SCOPE),
    clock,
  });
}
