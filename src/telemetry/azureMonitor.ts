import { metrics, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import type { Env } from "../config/settings.js";
import type { Clock } from "../clock.js";
import { INSTRUMENTATION_SCOPE } from "./names.js";
import { Telemetry } from "./telemetry.js";

let started: Promise<void> | undefined;

/**
 * Starts the Azure Monitor OpenTelemetry distro once per process when the Function App has an
 * Application Insights connection string, authenticating with the managed identity named in
 * APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`ClientId=<id>;Authorization=AAD`: the component has
 * local auth disabled). Without a connection string the OpenTelemetry API stays a no-op. The
 * distro is imported here, on first use, so a cold start does not load it.
 */
export async function startTelemetry(env: Env, clock: Clock): Promise<Telemetry> {
  const connectionString = env["APPLICATIONINSIGHTS_CONNECTION_STRING"]?.trim();
  if (connectionString) {
    started ??= (async () => {
      const [{ useAzureMonitor }, { ManagedIdentityCredential }] = await Promise.all([import("@azure/monitor-opentelemetry"), import("@azure/identity")]);
      const auth = env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "";
      const aad = /(^|;)\s*Authorization\s*=\s*AAD\s*(;|$)/i.test(auth);
      const clientId = /(^|;)\s*ClientId\s*=\s*([^;\s]+)/i.exec(auth)?.[2];
      useAzureMonitor({
        azureMonitorExporterOptions: {
          connectionString,
          ...(aad ? { credential: new ManagedIdentityCredential(clientId ? { clientId } : {}) } : {}),
        },
        enableLiveMetrics: false,
      });
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
