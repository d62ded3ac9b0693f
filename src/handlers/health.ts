import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import type { CredentialSet } from "../config/schema.js";
import { stallOf } from "../rotation/progress.js";
import { ensureRotatorError } from "../errors.js";
import type { Logger } from "../logging.js";
import { CHECK_IDS, runProbe, type CheckResult, type ProbeReport } from "../probe/index.js";
import { EXPIRY_AT_RISK_CHECK, HEARTBEAT_CHECK, SERVICE_SET, checkRotationTimerLiveness, pingHeartbeat } from "../alerts/index.js";
import type { BuiltRuntime } from "../runtime/createRuntime.js";
import { parseSchedule } from "../schedule.js";
import { contextLogger } from "../logging.js";
import { json, requestProblem } from "./http.js";
import { gatherStatus, statusApiBody } from "../dashboard/statusData.js";

export type BuiltRuntimeProvider = () => Promise<BuiltRuntime>;

interface TimerRecord {
  firstRunAt?: string;
  lastCompletedAt?: string;
}

const failing = (c: CheckResult): boolean => c.status === "fail" || c.status === "error" || c.status === "warn";

/** Probes one set with its real clients; a set whose clients cannot even be built fails every check. */
export async function probeSet(runtime: BuiltRuntime, set: CredentialSet, logger: Logger, abortSignal?: AbortSignal): Promise<ProbeReport> {
  const started = runtime.clock.now();
  try {
    const clients = await runtime.clientsFor(set);
    return await runProbe({
      set,
      deps: {
        graph: clients.graph,
        token: clients.token,
        signIns: clients.signIns,
        vault: clients.vault,
        gateway: clients.gateway,
        groups: clients.groups,
        http: runtime.http,
        journals: runtime.journals,
        clock: runtime.clock,
        store: runtime.probeStore,
        redactor: runtime.redactor,
        logger,
      },
      ...(runtime.probeTimeoutInMs ? { timeoutInMs: runtime.probeTimeoutInMs } : {}),
      abortSignal,
    });
  } catch (e) {
    const err = ensureRotatorError(e);
    const checks: CheckResult[] = CHECK_IDS.map((id) => ({
      id,
      title: id,
      status: "error",
      severity: "critical",
      summary: `could not prepare the probe: ${err.message}`,
      hint: err.hint,
      code: err.code,
      evidence: {},
      durationMs: 0,
    }));
    const report: ProbeReport = {
      set: set.name,
      startedAt: started.toISOString(),
      durationMs: runtime.clock.now().getTime() - started.getTime(),
      ok: false,
      checks,
    };
    await runtime.probeStore.save(report).catch(() => undefined);
    return report;
  }
}

/** Each check's outcome feeds its incident: opened, updated, repeated or resolved by the manager. */
async function reportChecks(runtime: BuiltRuntime, report: ProbeReport, logger: Logger): Promise<void> {
  for (const c of report.checks) {
    if (c.status === "skip") continue;
    try {
      await runtime.alerting.manager.report(report.set, c.id, {
        healthy: !failing(c),
        severity: c.severity,
        title: `${c.title}: ${c.summary}`,
        hint: c.hint,
        evidence: { status: c.status, ...(c.aadsts !== undefined ? { aadsts: c.aadsts } : {}), ...(c.code ? { code: c.code } : {}) },
      });
    } catch (e) {
      logger.warn(`incident update for ${report.set}/${c.id} failed: ${ensureRotatorError(e).message}`);
    }
  }
}

/**
 * The secret is inside its renewal window and no rotation has succeeded since renewal was due:
 * nothing is going to replace it unless someone acts, so this pages (critical) until a rotation
 * succeeds or the expiry check is healthy again.
 */
async function reportExpiryAtRisk(runtime: BuiltRuntime, report: ProbeReport, logger: Logger): Promise<void> {
  const expiry = report.checks.find((c) => c.id === "expiry");
  if (!expiry || expiry.status === "skip" || expiry.status === "error") return;
  try {
    const state = await runtime.journals.readState(report.set);
    const dueAt = typeof expiry.evidence["renewDueAt"] === "string" ? Date.parse(expiry.evidence["renewDueAt"]) : NaN;
    const expiresOn = state.currentExpiresOn ?? (typeof expiry.evidence["currentEndDateTime"] === "string" ? expiry.evidence["currentEndDateTime"] : undefined);
    const rotatedSinceDue = state.lastSuccessAt !== undefined && Date.parse(state.lastSuccessAt) >= dueAt;
    const atRisk = expiry.status !== "pass" && Number.isFinite(dueAt) && runtime.clock.now().getTime() >= dueAt && !rotatedSinceDue && expiresOn !== undefined;
    if (atRisk) {
      await runtime.alerting.manager.rotationEvent(report.set, {
        type: "expiry_at_risk",
        secretExpiresOn: expiresOn,
        detail: expiry.summary,
        ...(state.activeRunId ? { runId: state.activeRunId } : {}),
      });
    } else if (expiry.status === "pass") {
      await runtime.alerting.manager.report(report.set, EXPIRY_AT_RISK_CHECK, { healthy: true });
    }
  } catch (e) {
    logger.warn(`expiry-at-risk evaluation failed: ${ensureRotatorError(e).message}`);
  }
}

/**
 * An open run whose last pass made no progress because of errors: re-checked on every health tick,
 * so the run-stalled incident opens (and turns critical) on time even when the rotation timer runs
 * once a day. The manager raises nothing while the stall is within the set's budget.
 */
async function reportStalledRun(runtime: BuiltRuntime, setName: string, logger: Logger): Promise<void> {
  const set = runtime.sets.find((s) => s.name === setName);
  if (!set) return;
  try {
    const state = await runtime.journals.readState(setName);
    const run = state.activeRunId ? await runtime.journals.readRun(setName, state.activeRunId) : undefined;
    const stall = run ? stallOf(run, set) : undefined;
    if (!run || !stall) return;
    const last = run.steps.at(-1)!;
    await runtime.alerting.manager.rotationEvent(setName, {
      type: "stalled",
      runId: run.runId,
      ...stall,
      step: last.name,
      ...(last.error ? { code: last.error.code, hint: last.error.hint, message: last.error.message } : {}),
    });
  } catch (e) {
    logger.warn(`stalled-run evaluation failed: ${ensureRotatorError(e).message}`);
  }
}

/**
 * Health timer: probes every set in parallel, turns results into incidents, checks that the
 * rotation timer is still alive (two missed periods → critical), re-notifies due incidents, and
 * pings the heartbeat URL once all of that ran.
 */
export function makeHealthTimerHandler(getRuntime: BuiltRuntimeProvider) {
  return async (_timer: Timer, context: InvocationContext): Promise<ProbeReport[]> => {
    const runtime = await getRuntime();
    const logger = contextLogger(context, runtime.redactor);
    const reports = await runHealthPass(runtime, logger);
    await recordTimerPass(runtime, "healthTimer", logger);
    for (const r of reports)
      logger.info(
        `[set=${r.set}] probe ${r.ok ? "ok" : "FAILING"}: ${
          r.checks
            .filter(failing)
            .map((c) => `${c.id}=${c.status}`)
            .join(", ") || "all checks pass"
        }`,
      );
    return reports;
  };
}

/**
 * One health pass, as the timer runs it and `mcp-sso-rotator probe --alert` runs it by hand: probes
 * the sets in parallel, turns results into incidents (checks, expiry at risk, stalled runs), checks
 * the rotation timer's liveness and re-notifies due incidents. Recording the health timer's own
 * completion and pinging the heartbeat URL are the timer's alone (a laptop's pass must not tell the
 * dead-man switch that the Function App is alive).
 */
export async function runHealthPass(runtime: BuiltRuntime, logger: Logger, sets: readonly CredentialSet[] = runtime.sets): Promise<ProbeReport[]> {
  const now = runtime.clock.now();
  const reports = await Promise.all(sets.map((set) => probeSet(runtime, set, logger.child({ set: set.name }))));
  for (const r of reports) {
    await reportChecks(runtime, r, logger.child({ set: r.set }));
    await reportExpiryAtRisk(runtime, r, logger.child({ set: r.set }));
    await reportStalledRun(runtime, r.set, logger.child({ set: r.set }));
  }

  // Storage failing for a moment must not cost the probes' results, only this pass's liveness check.
  const records = await Promise.all([
    runtime.timers.read<TimerRecord>("timers/healthTimer.json"),
    runtime.timers.read<TimerRecord>("timers/rotationTimer.json"),
  ]).catch((e: unknown) => {
    logger.warn(`rotation timer liveness not checked this pass: ${ensureRotatorError(e).message}`);
    return undefined;
  });
  if (records) {
    const [health, rotation] = [records[0]?.value ?? {}, records[1]?.value];
    const liveness = checkRotationTimerLiveness({
      lastCompletedAt: rotation?.lastCompletedAt,
      schedulePeriodMs: parseSchedule(runtime.rotationSchedule).periodMs(now),
      now,
      since: health.firstRunAt ?? now.toISOString(),
    });
    await runtime.alerting.manager
      .report(SERVICE_SET, HEARTBEAT_CHECK, liveness)
      .catch((e: unknown) => logger.warn(`heartbeat incident failed: ${ensureRotatorError(e).message}`));
  }
  await runtime.alerting.manager.renotifyDue().catch((e: unknown) => logger.warn(`re-notification failed: ${ensureRotatorError(e).message}`));
  return reports;
}

/** Records a timer's completion (liveness) and pings the heartbeat URL when one is configured. */
export async function recordTimerPass(runtime: BuiltRuntime, name: "rotationTimer" | "healthTimer", logger: Logger): Promise<void> {
  const now = runtime.clock.now().toISOString();
  try {
    const prev = (await runtime.timers.read<TimerRecord>(`timers/${name}.json`))?.value ?? {};
    await runtime.timers.write(`timers/${name}.json`, { firstRunAt: prev.firstRunAt ?? now, lastCompletedAt: now });
  } catch (e) {
    logger.warn(`could not record ${name} completion: ${ensureRotatorError(e).message}`);
  }
  if (runtime.heartbeatUrl) {
    const res = await pingHeartbeat({ url: runtime.heartbeatUrl, http: runtime.http });
    if (!res.ok) logger.warn(`heartbeat ping failed: ${res.reason ?? `status ${res.status ?? "unknown"}`}`);
  }
}

/**
 * GET /api/health — for uptime monitors: 200 unless a critical check fails, never a secret.
 * It serves the stored probe result. When there is none (or it is stale), at most one probe per set
 * runs at a time and concurrent callers wait for it: a burst of monitor calls must not turn into a
 * burst of token requests carrying the real secret.
 */
export function makeHealthHandler(getRuntime: BuiltRuntimeProvider) {
  // Per handler (one per Function App instance), keyed by set: the single-flight probes.
  const inFlight = new Map<string, Promise<ProbeReport>>();
  const probeOnce = (runtime: BuiltRuntime, set: CredentialSet, logger: Logger): Promise<ProbeReport> => {
    let p = inFlight.get(set.name);
    if (!p) {
      p = probeSet(runtime, set, logger).finally(() => inFlight.delete(set.name));
      inFlight.set(set.name, p);
    }
    return p;
  };
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    // Checked before anything is read or probed: a malformed call never costs a token request.
    const refused = requestProblem(request, { methods: ["GET"], body: "none" });
    if (refused) return refused;
    const runtime = await getRuntime();
    const logger = contextLogger(context, runtime.redactor);
    const staleMs = 2 * parseSchedule(runtime.healthSchedule).periodMs(runtime.clock.now());
    const sets = await Promise.all(
      runtime.sets.map(async (set) => {
        let report = await runtime.probeStore.latest(set.name).catch(() => undefined);
        // No stored result yet (fresh deployment) or a stale one: probe now; checks are time-bounded.
        if (!report || runtime.clock.now().getTime() - Date.parse(report.startedAt) > staleMs)
          report = await probeOnce(runtime, set, logger.child({ set: set.name }));
        const bad = report.checks.filter(failing);
        const critical = bad.filter((c) => c.severity === "critical");
        return {
          set: set.name,
          ok: critical.length === 0,
          checkedAt: report.startedAt,
          failing: bad.map((c) => ({
            check: c.id,
            status: c.status,
            severity: c.severity,
            ...(c.aadsts !== undefined ? { aadsts: c.aadsts } : {}),
            summary: c.summary,
          })),
        };
      }),
    );
    const ok = sets.every((s) => s.ok);
    return json(ok ? 200 : 503, { ok, checkedAt: runtime.clock.now().toISOString(), sets });
  };
}

/** GET /api/status — what an operator wants to see first, per set (gathered with the dashboard's data). */
export function makeStatusHandler(getRuntime: BuiltRuntimeProvider) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const refused = requestProblem(request, { methods: ["GET"], body: "none" });
    if (refused) return refused;
    const runtime = await getRuntime();
    return json(200, statusApiBody(await gatherStatus(runtime)));
  };
}
