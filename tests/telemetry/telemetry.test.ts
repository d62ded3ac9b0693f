import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from "@opentelemetry/sdk-metrics";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { World } from "../harness/world.js";
import { probeSet } from "../../src/handlers/health.js";
import { ATTR, INSTRUMENTATION_SCOPE, METRICS } from "../../src/telemetry/names.js";
import { Telemetry } from "../../src/telemetry/telemetry.js";
import { STEPS } from "../../src/rotation/model.js";
import { Scenario } from "../rotation/harness.js";

/**
 * The rotator's OpenTelemetry signals, captured with the SDKs' in-memory exporters while the real
 * runtime rotates, probes and alerts against the emulators. Azure Monitor receives exactly these
 * (src/telemetry/azureMonitor.ts registers the distro's exporters instead).
 */
const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const logExporter = new InMemoryLogRecordExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider({ readers: [reader] });
const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });

let world: World;
let telemetry: Telemetry;
beforeAll(async () => {
  // Span nesting needs a context manager, as the distro installs in Azure.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  world = await World.start();
  telemetry = new Telemetry({
    tracer: tracerProvider.getTracer(INSTRUMENTATION_SCOPE),
    meter: meterProvider.getMeter(INSTRUMENTATION_SCOPE),
    logger: loggerProvider.getLogger(INSTRUMENTATION_SCOPE),
    clock: world.clock,
  });
});
afterAll(async () => {
  await world?.stop();
  context.disable();
  trace.disable();
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
});

async function points(name: string): Promise<DataPoint<unknown>[]> {
  metricExporter.reset();
  await reader.forceFlush();
  const all = metricExporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  return all.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as DataPoint<unknown>[]);
}

const forSet = (ps: DataPoint<unknown>[], set: string) => ps.filter((p) => p.attributes[ATTR.set] === set);

describe("telemetry of a rotation", () => {
  let s: Scenario;
  let runId: string;
  beforeAll(async () => {
    spans.reset();
    logExporter.reset();
    s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3, otherTargets: 1 }, { telemetry });
    const res = await s.runToEnd("scheduled");
    expect(res.status).toBe("succeeded");
    runId = res.runId;
  });

  it("one span per rotation step, each carrying the set and run IDs", () => {
    const steps = spans.getFinishedSpans().filter((sp) => sp.name.startsWith("rotation "));
    expect(new Set(steps.map((sp) => sp.attributes[ATTR.step]))).toEqual(new Set(STEPS));
    for (const sp of steps) expect(sp.attributes).toMatchObject({ [ATTR.set]: s.set.name, [ATTR.run]: runId });
  });

  it("one CLIENT span per outbound call, inside the step that made it", () => {
    const all = spans.getFinishedSpans();
    const byId = new Map(all.map((sp) => [sp.spanContext().spanId, sp]));
    const parentStep = (sp: ReadableSpan) => byId.get(sp.parentSpanContext?.spanId ?? "")?.attributes[ATTR.step];
    const deps = all.filter((sp) => sp.attributes[ATTR.dependency] !== undefined);
    expect(new Set(deps.map((sp) => sp.attributes[ATTR.dependency]))).toEqual(new Set(["Microsoft Graph", "Entra token endpoint", "Key Vault", "Gateway"]));
    expect(deps.find((sp) => sp.name === "Microsoft Graph addPassword" && parentStep(sp) === "create")).toBeDefined();
    expect(deps.find((sp) => sp.name === "Key Vault setSecret" && parentStep(sp) === "promote")).toBeDefined();
    expect(deps.filter((sp) => sp.name.startsWith("Gateway ") && parentStep(sp) === "propagate").length).toBeGreaterThan(0);
    for (const sp of deps) expect(sp.attributes[ATTR.set]).toBe(s.set.name);
  });

  it("metrics: passes by outcome, run duration, targets updated and stale, days until expiry with the renewal window", async () => {
    expect(forSet(await points(METRICS.rotationPasses), s.set.name).find((p) => p.attributes[ATTR.outcome] === "succeeded")?.value).toBe(1);
    expect(forSet(await points(METRICS.rotationDuration), s.set.name)).toHaveLength(1);
    expect(forSet(await points(METRICS.targetsUpdated), s.set.name)[0]?.value).toBe(3);
    expect(forSet(await points(METRICS.targetsFailed), s.set.name)[0]?.value).toBe(0);
    expect(forSet(await points(METRICS.targetsStale), s.set.name)[0]?.value).toBe(0);
    const days = forSet(await points(METRICS.daysUntilExpiry), s.set.name)[0]!;
    expect(days.value as number).toBeGreaterThan(170); // the new secret: lifetime 180 days
    expect(days.attributes[ATTR.renewalWindowDays]).toBe(30);
  });

  it("log records carry the set and run IDs as attributes (dimensions)", () => {
    const records = logExporter.getFinishedLogRecords().filter((r) => r.attributes[ATTR.run] === runId);
    expect(records.length).toBeGreaterThan(3);
    for (const r of records) expect(r.attributes[ATTR.set]).toBe(s.set.name);
    expect(records.map((r) => (typeof r.body === "string" ? r.body : JSON.stringify(r.body))).join("\n")).toContain("step promote done");
  });

  it("health checks and failed alert deliveries are counted per set, check and channel", async () => {
    const report = await probeSet(s.runtime, s.set, s.logger);
    const results = forSet(await points(METRICS.checkResults), s.set.name);
    for (const c of report.checks) {
      expect(results.find((p) => p.attributes[ATTR.check] === c.id && p.attributes[ATTR.status] === c.status)?.value, c.id).toBeGreaterThanOrEqual(1);
    }

    world.keyVault.seedSecret("dead-hook-url", "https://127.0.0.1:9/hook");
    world.keyVault.seedSecret("dead-hook-key", "whsec-dead-0123456789abcdef");
    const alerting = await Scenario.create(
      world,
      {
        name: "telemetry-alerts",
        targets: 1,
        otherTargets: 0,
        overrides: {
          alerts: [{ kind: "webhook", name: "dead-hook", urlSecretName: "dead-hook-url", signingKeySecretName: "dead-hook-key", minSeverity: "info" }],
        },
      },
      { telemetry },
    );
    await alerting.runtime.onWorkerIncident!({ set: "telemetry-alerts", code: "STEP_FAILED", message: "test incident", hint: "none" }, alerting.logger);
    const failures = forSet(await points(METRICS.alertDeliveryFailures), "telemetry-alerts");
    expect(failures).toHaveLength(1);
    expect(failures[0]!.attributes).toMatchObject({ [ATTR.channel]: "dead-hook", [ATTR.kind]: "webhook" });
    expect(failures[0]!.attributes[ATTR.code]).toMatch(/^[A-Z_]+$/);
  });

  it("no secret in any attribute, span name or log record", async () => {
    const scan = s.scanner().addSecrets(["whsec-dead-0123456789abcdef", "https://127.0.0.1:9/hook"]);
    for (const sp of spans.getFinishedSpans())
      scan.collect(`span ${sp.name}`, { name: sp.name, attributes: sp.attributes, status: sp.status, events: sp.events });
    metricExporter.reset();
    await reader.forceFlush();
    for (const m of metricExporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((x) => x.metrics)))
      scan.collect(
        `metric ${m.descriptor.name}`,
        m.dataPoints.map((p) => p.attributes),
      );
    for (const r of logExporter.getFinishedLogRecords()) scan.collect("log record", { body: r.body, attributes: r.attributes });
    expect(scan.leaks()).toEqual([]);
    // The scan is not vacuous: it sees the values it must not find.
    expect(world.secrets().filter(Boolean).length).toBeGreaterThan(3);
  });
});

describe("issue 26, defect 13: spans left open", () => {
  it("a function that throws synchronously inside traced() ends its span, with the error code, so it is exported", () => {
    spans.reset();
    const client = telemetry.traced("parser", { parse: (text: string): unknown => JSON.parse(text), ok: (n: number) => n + 1 }, { set: "sync-throw" });
    expect(() => client.parse("{not json")).toThrow(SyntaxError);
    expect(client.ok(1)).toBe(2);
    const exported = spans.getFinishedSpans().filter((sp) => sp.attributes[ATTR.set] === "sync-throw");
    expect(exported.map((sp) => sp.name).sort()).toEqual(["parser ok", "parser parse"]);
    const failed = exported.find((sp) => sp.name === "parser parse")!;
    expect(failed.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(failed.attributes[ATTR.code]).toBe("ERROR");
    expect(failed.ended).toBe(true);
  });
});
