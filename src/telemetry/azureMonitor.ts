import { metrics, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import type dns from "node:dns";
import type { AzureMonitorOpenTelemetryOptions } from "@azure/monitor-opentelemetry";
import type { Env } from "../config/settings.js";
import type { Clock } from "../clock.js";
import { createAzureCredential } from "../entra/credential.js";
import { guardedAzureHttpClient } from "../http/addressGuard.js";
import type { ExtraCa } from "../http/tls.js";
import { INSTRUMENTATION_SCOPE } from "./names.js";
import { Telemetry } from "./telemetry.js";

let started: Promise<void> | undefined;

type ExporterOptions = NonNullable<AzureMonitorOpenTelemetryOptions["azureMonitorExporterOptions"]>;

export interface TelemetryNetworkOptions {
  /** PEM of an extra CA to trust besides the public roots (EXTRA_CA_FILE; see http/tls.ts). */
  ca?: ExtraCa;
  /** The resolver behind the connect-time address rule (tests give a hostile one); the system's by default. */
  lookup?: typeof dns.lookup;
}

/**
 * The Azure Monitor exporters' options from the app settings, or undefined without a connection
 * string: the connection string, and the managed identity named in
 * APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`ClientId=<id>;Authorization=AAD`: the component has
 * local auth disabled).
 *
 * The ingestion endpoint comes from the connection string, so it is resolved through the
 * outbound-address rule at connect time like every other call (issue 26, defect 5): the exporters
 * send through the guarded HTTP client (they wrap it for gzip and keep it across a redirect), and
 * the managed identity is the rotator's own guarded one (entra/credential.ts).
 */
export function azureMonitorExporterOptions(env: Env, network: TelemetryNetworkOptions = {}): ExporterOptions | undefined {
  const connectionString = env["APPLICATIONINSIGHTS_CONNECTION_STRING"]?.trim();
  if (!connectionString) return undefined;
  const auth = env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "";
  const aad = /(^|;)\s*Authorization\s*=\s*AAD\s*(;|$)/i.test(auth);
  const clientId = /(^|;)\s*ClientId\s*=\s*([^;\s]+)/i.exec(auth)?.[2];
  return {
    connectionString,
    httpClient: guardedAzureHttpClient(network),
    ...(aad ? { credential: createAzureCredential({ ...network, ...(clientId ? { managedIdentityClientId: clientId } : {}) }) } : {}),
  };
}

/**
 * Starts the Azure Monitor OpenTelemetry distro once per process when the Function App has an
 * Application Insights connection string. Without one the OpenTelemetry API stays a no-op. The
 * distro is imported here, on first use, so a cold start does not load it.
 */
export async function startTelemetry(env: Env, clock: Clock, network: TelemetryNetworkOptions = {}): Promise<Telemetry> {
  const exporterOptions = azureMonitorExporterOptions(env, network);
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
