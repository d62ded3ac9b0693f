import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Histogram,
  type Meter,
  type Span,
  type Tracer,
  type Counter,
  type Gauge,
} from "@opentelemetry/api";
import { SeverityNumber, type Logger as OtelLogger } from "@opentelemetry/api-logs";
import type { LogLevel } from "../logging.js";
import type { ProbeReport } from "../probe/model.js";
import type { RotationEvent, RunJournal, SetState } from "../rotation/model.js";
import { FINISHED } from "../rotation/model.js";
import { ATTR, METRICS } from "./names.js";
import { DAY_MS, type Clock } from "../clock.js";

export interface TelemetryOptions {
  tracer: Tracer;
  meter: Meter;
  /** Log records with the set and run IDs as attributes (dimensions in Application Insights). */
  logger?: OtelLogger;
  clock: Clock;
}

/** A failed delivery, as the alert dispatcher reports it (secret-free: channel names and codes). */
export interface DeliveryFailure {
  set: string;
  channel: string;
  kind: string;
  code?: string;
}

const SEVERITY: Record<LogLevel, SeverityNumber> = {
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

/**
 * The rotator's OpenTelemetry signals, fed from events the runtime already has: rotation events
 * with their journal and set state, probe reports, alert deliveries, log lines. Attributes are
 * identifiers, names, statuses, codes and counts only — never a value read from Key Vault, a
 * token, a URL of a channel or a log line's text (log records carry the already-redacted line as
 * their body, and only the `[key=value]` identifiers as attributes).
 */
export class Telemetry {
  private readonly tracer: Tracer;
  private readonly logger?: OtelLogger;
  private readonly clock: Clock;
  private readonly daysUntilExpiry: Gauge;
  private readonly passes: Counter;
  private readonly duration: Histogram;
  private readonly updated: Counter;
  private readonly failed: Gauge;
  private readonly stale: Gauge;
  private readonly checks: Counter;
  private readonly deliveryFailures: Counter;

  constructor(options: TelemetryOptions) {
    this.tracer = options.tracer;
    this.logger = options.logger;
    this.clock = options.clock;
    const m = options.meter;
    this.daysUntilExpiry = m.createGauge(METRICS.daysUntilExpiry, { unit: "d", description: "Days until the set's current client secret expires" });
    this.passes = m.createCounter(METRICS.rotationPasses, { description: "Rotation passes by outcome" });
    this.duration = m.createHistogram(METRICS.rotationDuration, { unit: "ms", description: "Duration of a rotation run, creation to end" });
    this.updated = m.createCounter(METRICS.targetsUpdated, { description: "Gateway targets updated" });
    this.failed = m.createGauge(METRICS.targetsFailed, { description: "Gateway targets whose last update or verification failed" });
    this.stale = m.createGauge(METRICS.targetsStale, { description: "Gateway targets not verified on the current secret" });
    this.checks = m.createCounter(METRICS.checkResults, { description: "Health check results" });
    this.deliveryFailures = m.createCounter(METRICS.alertDeliveryFailures, { description: "Failed alert deliveries" });
  }

  /**
   * One rotation event. At the end of a pass (anything but `started`) the journal says what the
   * pass did to the targets, and the state how long the current secret has left.
   */
  rotationEvent(e: RotationEvent, facts: { journal?: RunJournal; state?: SetState; renewalWindowDays?: number }): void {
    if (e.type === "started") return;
    const set = { [ATTR.set]: e.set };
    const outcome = facts.journal?.status === "needs_attention" ? "succeeded" : e.type;
    this.passes.add(1, { ...set, [ATTR.mode]: e.mode, [ATTR.outcome]: outcome });
    const j = facts.journal;
    if (j) {
      // The journal is the run's, across passes: gauges say where the targets stand now; the
      // counter and the histogram count each run once, when it ends.
      this.failed.record(j.targets.filter((t) => t.error && !t.verified).length, set);
      this.stale.record(j.targets.filter((t) => !t.verified).length, set);
      if (FINISHED.has(j.status)) {
        this.updated.add(j.targets.filter((t) => t.updated).length, set);
        this.duration.record(Math.max(0, Date.parse(j.updatedAt) - Date.parse(j.createdAt)), { ...set, [ATTR.mode]: j.mode, [ATTR.outcome]: j.status });
      }
    }
    const expires = facts.state?.currentExpiresOn;
    if (expires) {
      const days = Math.round(((Date.parse(expires) - this.clock.now().getTime()) / DAY_MS) * 100) / 100;
      this.daysUntilExpiry.record(days, { ...set, ...(facts.renewalWindowDays !== undefined ? { [ATTR.renewalWindowDays]: facts.renewalWindowDays } : {}) });
    }
  }

  /** One probe report: a count per check result. */
  probeReport(report: ProbeReport): void {
    for (const c of report.checks) {
      this.checks.add(1, { [ATTR.set]: report.set, [ATTR.check]: c.id, [ATTR.status]: c.status, [ATTR.severity]: c.severity });
    }
  }

  alertDeliveryFailed(f: DeliveryFailure): void {
    this.deliveryFailures.add(1, { [ATTR.set]: f.set, [ATTR.channel]: f.channel, [ATTR.kind]: f.kind, ...(f.code ? { [ATTR.code]: f.code } : {}) });
  }

  /** A span around one rotation step; the dependency spans inside it become its children. */
  async traceStep<T>(ids: { set: string; runId: string }, step: string, fn: () => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan(
      `rotation ${step}`,
      { kind: SpanKind.INTERNAL, attributes: { [ATTR.set]: ids.set, [ATTR.run]: ids.runId, [ATTR.step]: step } },
      (span) => settle(span, fn),
    );
  }

  /**
   * The same object, with a CLIENT span around each method call: one per outbound call to Graph,
   * the token endpoint, Key Vault or the gateway. Only the operation's name becomes an attribute,
   * never its arguments (they include secret values).
   */
  traced<T extends object>(dependency: string, target: T, ids: { set: string }): T {
    const tracer = this.tracer;
    return new Proxy(target, {
      get(obj, prop) {
        const value: unknown = Reflect.get(obj, prop, obj);
        if (typeof value !== "function" || typeof prop !== "string") return value;
        return (...args: unknown[]) => {
          const span = tracer.startSpan(`${dependency} ${prop}`, {
            kind: SpanKind.CLIENT,
            attributes: { [ATTR.set]: ids.set, [ATTR.dependency]: dependency, [ATTR.operation]: prop },
          });
          return context.with(trace.setSpan(context.active(), span), () => {
            try {
              const result: unknown = (value as (...a: unknown[]) => unknown).apply(obj, args);
              if (result instanceof Promise) return settle(span, () => result);
              span.end();
              return result;
            } catch (e) {
              // A synchronous throw ends the span too, or it is never exported (issue 26, defect 13).
              fail(span, e);
              span.end();
              throw e;
            }
          });
        };
      },
    });
  }

  /**
   * One log line as a log record: the body is the line as the redacting logger wrote it, the
   * attributes are the line's identifiers (set, run, channel …), so Application Insights can
   * filter a whole rotation by its run ID.
   */
  log(level: LogLevel, redactedMessage: string, fields: Readonly<Record<string, string | undefined>>): void {
    if (!this.logger) return;
    const attributes: Attributes = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== "") attributes[k] = v;
    this.logger.emit({ severityNumber: SEVERITY[level], severityText: level.toUpperCase(), body: redactedMessage, attributes });
  }
}

async function settle<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    const result = await fn();
    span.setStatus({ code: SpanStatusCode.OK });
    return result;
  } catch (e) {
    fail(span, e);
    throw e;
  } finally {
    span.end();
  }
}

/** Errors are recorded by code only: messages can quote upstream bodies. */
function fail(span: Span, e: unknown): void {
  const code = typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : "ERROR";
  span.setAttribute(ATTR.code, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}
