import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureMonitorTraceExporter } from "@azure/monitor-opentelemetry-exporter";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { EmulatorServer } from "../../emulators/common/server.js";
import { sharedCertificateAuthority } from "../../emulators/common/tls.js";
import { azureMonitorExporterOptions } from "../../src/telemetry/azureMonitor.js";
import { hostileDns, systemLoopbackAlias, useConnectionCounter } from "../helpers/hostileNetwork.js";

/**
 * Issue 26, defect 5, for the Azure Monitor exporter: its ingestion endpoint is resolved through the
 * outbound-address rule like every other call. The OpenTelemetry providers are process-global and
 * test files share a process (isolate: false), so nothing here registers one: a local tracer
 * provider makes a real span, and an exporter built from exactly the options the distro gets
 * (azureMonitorExporterOptions) exports it.
 */
const INSTRUMENTATION_KEY = "00000000-0000-0000-0000-0000000000a1";
type ExportResult = Parameters<Parameters<AzureMonitorTraceExporter["export"]>[1]>[0];
/** OpenTelemetry's ExportResultCode (@opentelemetry/core, which the exporter brings and we do not list). */
const ExportResultCode = { SUCCESS: 0, FAILED: 1 } as const;

function oneSpan(name: string): ReadableSpan {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  provider.getTracer("azure-monitor-guard-test").startSpan(name).end();
  return memory.getFinishedSpans()[0]!;
}

/**
 * One export through a fresh exporter. Statsbeat is off while it is built: it would start the
 * SDK's process-wide statsbeat exporters, which take no HTTP client of ours and would outlive the
 * test. (The SDK's OneSettings poll, which every exporter starts once per process and nothing turns
 * off, cannot be avoided: it runs on an unref'd timer, first 5–15 s after.) Offline storage is off
 * so a refused export leaves no files.
 */
async function exportThrough(ingestionEndpoint: string, guard: Parameters<typeof azureMonitorExporterOptions>[1]): Promise<ExportResult> {
  const env = { APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${INSTRUMENTATION_KEY};IngestionEndpoint=${ingestionEndpoint}` };
  const saved = process.env["APPLICATION_INSIGHTS_NO_STATSBEAT"];
  process.env["APPLICATION_INSIGHTS_NO_STATSBEAT"] = "true";
  let exporter: AzureMonitorTraceExporter;
  try {
    exporter = new AzureMonitorTraceExporter({ ...azureMonitorExporterOptions(env, guard), disableOfflineStorage: true });
  } finally {
    if (saved === undefined) delete process.env["APPLICATION_INSIGHTS_NO_STATSBEAT"];
    else process.env["APPLICATION_INSIGHTS_NO_STATSBEAT"] = saved;
  }
  try {
    return await new Promise<ExportResult>((resolve) => void exporter.export([oneSpan("rotation.run")], resolve));
  } finally {
    await exporter.shutdown();
  }
}

describe("issue 26, defect 5: host names are not resolved before connecting (Azure Monitor exporter)", () => {
  const tcp = useConnectionCounter();

  // A real /etc/hosts entry: no resolver of ours is needed to reach loopback through a name.
  const alias = systemLoopbackAlias();
  it.runIf(alias !== undefined)(
    "the Azure Monitor exporter does not connect to an ingestion endpoint whose name resolves to a loopback address (the system resolver)",
    async () => {
      const before = tcp.connections;
      const result = await exportThrough(`https://${alias}:${tcp.port}/`, {});
      expect(tcp.connections).toBe(before);
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(String(result.error)).toContain(`${alias} was not called: it resolved to the loopback address`);
    },
  );

  const answers = { "loopback.attacker.example": "127.0.0.1", "imds.attacker.example": "169.254.169.254" };
  it("the Azure Monitor exporter does not connect to an ingestion endpoint whose name resolves to a loopback address (a hostile resolver)", async () => {
    const before = tcp.connections;
    const result = await exportThrough(`https://loopback.attacker.example:${tcp.port}/`, { lookup: hostileDns(answers) });
    expect(tcp.connections).toBe(before);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(String(result.error)).toMatch(/loopback\.attacker\.example was not called: it resolved to the loopback address 127\.0\.0\.1/);
  });

  it("the Azure Monitor exporter does not connect to an ingestion endpoint whose name resolves to the link-local metadata address", async () => {
    const result = await exportThrough(`https://imds.attacker.example:${tcp.port}/`, { lookup: hostileDns(answers) });
    // No listener can count a connection to 169.254.169.254; the refusal names the address the rule judged.
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(String(result.error)).toMatch(
      /imds\.attacker\.example was not called: it resolved to an address that is a link-local address \(169\.254\.169\.254\)/,
    );
  }, 15_000);
});

describe("the Azure Monitor exporter still reaches an allowed ingestion endpoint through the guard", () => {
  const ca = sharedCertificateAuthority();
  const ingestion = new EmulatorServer({ name: "ingestion", tls: ca.issue() });
  const received: string[] = [];
  beforeAll(async () => {
    ingestion.route("POST", /\/track$/, (req) => {
      received.push(req.rawBody);
      const items = req.json<unknown[]>().length;
      return { status: 200, body: { itemsReceived: items, itemsAccepted: items, errors: [] } };
    });
    await ingestion.start();
  });
  afterAll(async () => {
    await ingestion.close();
  });

  it.each([
    ["127.0.0.1, written (the emulators)", (port: string) => `https://127.0.0.1:${port}/`],
    ["localhost, resolved through the guard's lookup", (port: string) => `https://localhost:${port}/`],
  ])("an export to %s arrives, trusted through the extra CA", async (_, endpoint) => {
    const port = new URL(ingestion.url).port;
    received.length = 0;
    const result = await exportThrough(endpoint(port), { ca: ca.caCertPem, lookup: hostileDns({ localhost: "127.0.0.1" }) });
    expect(result).toMatchObject({ code: ExportResultCode.SUCCESS });
    expect(received.join("\n")).toContain("rotation.run");
  });
});
