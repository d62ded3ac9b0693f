import { performance } from "node:perf_hooks";
import type { CredentialSet } from "../config/schema.js";
import { fetchDiscovery, type OidcDiscovery } from "../entra/token.js";
import { ensureRotatorError, type RotatorError } from "../errors.js";
import { Redactor } from "../redact.js";
import { FINISHED } from "../rotation/model.js";
import { ALL_CHECKS } from "./checks/index.js";
import { DEFAULT_TUNING, type CheckContext, type CheckDefinition, type ProbeDeps, type ProbeTuning, type RotationView, type SharedReads } from "./context.js";
import { resultCode, settle, withDeadline, type Read } from "./deadline.js";
import { Findings } from "./findings.js";
import { reportOk, type CheckId, type CheckResult, type ProbeReport } from "./model.js";
import { getSetApplication } from "../entra/application.js";

/**
 * One health probe of one credential set: every check in parallel, each under its own deadline
 * combined with the caller's signal, so a dependency that hangs fails the checks that need it
 * (status "error", code TIMEOUT) and never the probe. Reads several checks share — the Key Vault
 * secret, the app registration, the gateway targets, the rotation state — happen once, each with
 * its own deadline.
 */
export interface RunProbeOptions extends Partial<ProbeTuning> {
  set: CredentialSet;
  deps: ProbeDeps;
  abortSignal?: AbortSignal;
  /** Run only these checks (default: all). */
  checks?: readonly CheckId[];
}

export async function runProbe(options: RunProbeOptions): Promise<ProbeReport> {
  const { set, deps, abortSignal } = options;
  const tuning = tuningFrom(options);
  const startedAt = deps.clock.now();
  const t0 = performance.now();
  const shared = sharedReads(set, deps, tuning, abortSignal);
  const definitions = options.checks ? ALL_CHECKS.filter((c) => options.checks!.includes(c.id)) : ALL_CHECKS;

  const settled = await Promise.allSettled(definitions.map((def) => runCheck(def, { set, deps, shared, tuning, now: startedAt }, abortSignal)));
  const checks = settled.map((s, i) => (s.status === "fulfilled" ? s.value : errorResult(definitions[i]!, ensureRotatorError(s.reason), 0)));

  let report: ProbeReport = {
    set: set.name,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    ok: reportOk(checks),
    checks,
  };
  report = scrubbed(report, shared);

  const log = deps.logger?.child({ set: set.name });
  const bad = checks.filter((c) => c.status !== "pass" && c.status !== "skip").map((c) => `${c.id}=${c.status}/${c.severity}`);
  log?.info(`probe ${report.ok ? "ok" : "NOT ok"} in ${report.durationMs} ms${bad.length ? `: ${bad.join(", ")}` : ""}`);

  if (deps.store) {
    try {
      await deps.store.save(report, abortSignal);
    } catch (e) {
      const err = ensureRotatorError(e, "PROBE_STORE_FAILED");
      report.storeError = err.toJSON();
      log?.warn(`probe report not stored: ${err.code}: ${err.message}`);
    }
  }
  return report;
}

function tuningFrom(options: Partial<ProbeTuning>): ProbeTuning {
  const t: ProbeTuning = { ...DEFAULT_TUNING };
  for (const k of Object.keys(DEFAULT_TUNING) as (keyof ProbeTuning)[]) {
    const v = options[k];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) t[k] = v;
  }
  // A shared read should time out before the checks waiting for it, so they can say which read hung.
  if (options.readTimeoutInMs === undefined) t.readTimeoutInMs = Math.min(t.readTimeoutInMs, Math.max(1, Math.floor(t.timeoutInMs * 0.75)));
  return t;
}

async function runCheck(def: CheckDefinition, base: Omit<CheckContext, "abortSignal">, parent: AbortSignal | undefined): Promise<CheckResult> {
  const t0 = performance.now();
  try {
    const outcome = await withDeadline((signal) => def.run({ ...base, abortSignal: signal }, new Findings()), {
      timeoutInMs: base.tuning.timeoutInMs,
      ...(parent ? { parent } : {}),
      what: `check ${def.id}`,
    });
    return { id: def.id, title: def.title, ...outcome, durationMs: Math.round(performance.now() - t0) };
  } catch (e) {
    return errorResult(def, ensureRotatorError(e, "CHECK_FAILED"), Math.round(performance.now() - t0));
  }
}

function errorResult(def: CheckDefinition, err: RotatorError, durationMs: number): CheckResult {
  const code = resultCode(err);
  return {
    id: def.id,
    title: def.title,
    status: "error",
    severity: "error",
    summary: `the check could not run: ${err.message}`,
    hint: err.hint,
    ...(err.aadsts !== undefined ? { aadsts: err.aadsts } : {}),
    code,
    evidence: { errorCode: err.code, ...(err.status !== undefined ? { httpStatus: err.status } : {}) },
    durationMs,
  };
}

function sharedReads(
  set: CredentialSet,
  deps: ProbeDeps,
  tuning: ProbeTuning,
  parent: AbortSignal | undefined,
): SharedReads & { secretValue(): string | undefined } {
  let secretValue: string | undefined;
  const read = <T>(what: string, fn: (signal: AbortSignal) => Promise<T>): (() => Promise<Read<T>>) => {
    let p: Promise<Read<T>> | undefined;
    return () => (p ??= settle(withDeadline(fn, { timeoutInMs: tuning.readTimeoutInMs, ...(parent ? { parent } : {}), what })));
  };
  const secret = read(`reading Key Vault secret ${set.keyVault.secretName}`, async (signal) => {
    const v = await deps.vault.getLatest(set.keyVault.secretName, { abortSignal: signal });
    if (v?.value) {
      secretValue = v.value;
      deps.redactor?.add(v.value);
    }
    return v;
  });
  const app = read(`reading app registration ${set.clientId}`, (signal) => getSetApplication(deps.graph, set, { abortSignal: signal }));
  const policy = read(`reading the app management policy of ${set.clientId}`, (signal) =>
    deps.graph.getAppManagementPolicy(
      { appId: set.clientId, ...(set.applicationObjectId ? { objectId: set.applicationObjectId } : {}) },
      { abortSignal: signal },
    ),
  );
  const targets = read(`listing gateway targets for ${set.clientId}`, (signal) =>
    deps.gateway.listTargets({ clientId: set.clientId }, { abortSignal: signal }),
  );
  const documents = new Map<string, () => Promise<Read<OidcDiscovery>>>();
  const discovery = (tenant: string): Promise<Read<OidcDiscovery>> => {
    const key = tenant.toLowerCase();
    let get = documents.get(key);
    if (!get) {
      get = read(`reading the OpenID discovery document of ${tenant}`, (signal) =>
        fetchDiscovery({ http: deps.http, authorityHost: set.authorityHost, tenant }, { abortSignal: signal }),
      );
      documents.set(key, get);
    }
    return get();
  };
  const journals = deps.journals;
  const rotation = journals
    ? read(`reading rotation state of ${set.name}`, async (signal): Promise<RotationView> => {
        const state = await journals.readState(set.name, signal);
        if (!state.activeRunId) return { state };
        const run = await journals.readRun(set.name, state.activeRunId, signal);
        return run && !FINISHED.has(run.status) ? { state, activeRun: run } : { state };
      })
    : undefined;
  return {
    secret,
    app,
    policy,
    targets,
    discovery,
    rotation: async () => (rotation ? rotation() : undefined),
    secretValue: () => secretValue,
  };
}

/**
 * Checks never put the secret in a result; this proves it before the report leaves: any
 * occurrence (plain or URL-encoded) is replaced, wherever a future message might have put it.
 */
function scrubbed(report: ProbeReport, shared: { secretValue(): string | undefined }): ProbeReport {
  const value = shared.secretValue();
  if (!value) return report;
  const text = JSON.stringify(report);
  if (!text.includes(value) && !text.includes(encodeURIComponent(value)) && !text.includes(JSON.stringify(value).slice(1, -1))) return report;
  const r = new Redactor();
  r.add(value);
  r.add(JSON.stringify(value).slice(1, -1));
  return r.redactJson(report);
}
