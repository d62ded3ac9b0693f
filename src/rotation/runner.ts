import type { ContainerClient } from "@azure/storage-blob";
import type { CredentialSet } from "../config/schema.js";
import { ensureRotatorError, type ErrorSummary } from "../errors.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../logging.js";
import type { Redactor } from "../redact.js";
import type { GraphApplicationsApi, TokenEndpointClient } from "../entra/types.js";
import type { SecretStore } from "../vault/types.js";
import type { GatewayAdapter } from "../gateway/types.js";
import { acquireSetLease } from "./lease.js";
import { RotationJournalStore } from "./journal.js";
import { ProcessCrash, type RotationHooks } from "./hooks.js";
import { FINISHED, STEPS, type Plan, type RotationMode, type RunJournal, type RunStatus, type StepName, type StepRecord } from "./model.js";
import { makePlan } from "./planner.js";
import { managedDisplayName, pendingSecretName, renewWindowDays } from "./policy.js";
import { DAY_MS } from "../clock.js";
import {
  adoptionFor,
  createStep,
  observe,
  planStep,
  promoteStep,
  propagateStep,
  retireStep,
  stashStep,
  verifyEntraStep,
  verifyTargetsStep,
  type StepContext,
  type StepOutcome,
} from "./steps.js";

export interface RotationEvent {
  type: "started" | "succeeded" | "failed" | "waiting" | "awaiting_confirmation" | "noop";
  set: string;
  runId: string;
  mode: RotationMode;
  step?: StepName;
  error?: ErrorSummary;
  detail?: string;
  targets?: { total: number; verified: number; names?: string[] };
}

export interface RotationDeps {
  set: CredentialSet;
  graph: GraphApplicationsApi;
  token: TokenEndpointClient;
  vault: SecretStore;
  gateway: GatewayAdapter;
  container: ContainerClient;
  clock: Clock;
  logger: Logger;
  redactor: Redactor;
  onEvent?: (event: RotationEvent) => void | Promise<void>;
  hooks?: RotationHooks;
  lease?: { durationSeconds?: number; renewEveryMs?: number };
  /** Per-target update attempts within one pass. */
  targetAttempts?: number;
  /** Wraps each step (telemetry: one span per step, src/telemetry). */
  traceStep?: <T>(step: StepName, runId: string, run: () => Promise<T>) => Promise<T>;
}

export interface RotationRequest {
  mode: RotationMode;
  trigger: RunJournal["trigger"];
  /** A run created by the HTTP API (queued journal); otherwise a new ID is made. */
  runId?: string;
  abortSignal?: AbortSignal;
}

export interface PassResult {
  runId: string;
  status: RunStatus;
  journal: RunJournal;
}

type PassContext = StepContext;

/**
 * The rotation state machine (DESIGN.md § Rotation state machine). One call is one pass: it holds
 * the set's lease, resumes the active run at its first step not recorded as done, or plans a new
 * one, and stops when the run finishes or has to wait (replication, grace period, failing targets,
 * operator confirmation). Every side effect is keyed by the new credential's keyId so a pass that
 * dies anywhere is finished by the next without creating a second credential.
 */
export class RotationRunner {
  private readonly journals: RotationJournalStore;

  constructor(private readonly deps: RotationDeps) {
    this.journals = new RotationJournalStore(deps.container, deps.redactor);
  }

  get journalStore(): RotationJournalStore {
    return this.journals;
  }

  /** Reads everything and returns the plan; writes nothing (dry run). */
  async dryRun(mode: RotationMode, abortSignal?: AbortSignal): Promise<Plan> {
    const facts = await observe(this.deps, abortSignal);
    const adoption = await adoptionFor(this.deps, facts, abortSignal);
    return makePlan({ set: this.deps.set, facts, mode, now: this.deps.clock.now(), adoption });
  }

  async runPass(request: RotationRequest): Promise<PassResult> {
    const { set, logger } = this.deps;
    const lease = await acquireSetLease(this.deps.container, set.name, {
      ...this.deps.lease,
      logger,
      abortSignal: request.abortSignal,
    });
    const signal = request.abortSignal ? AbortSignal.any([lease.signal, request.abortSignal]) : lease.signal;
    let crashed = false;
    try {
      const run = await this.openRun(request, signal);
      const log = logger.child({ set: set.name, run: run.runId });
      log.info(`pass ${run.passes} of ${run.mode} run (${request.trigger}) starting`);
      const ctx: PassContext = { deps: this.deps, journals: this.journals, run, signal, log };
      await this.execute(ctx, log);
      return { runId: run.runId, status: run.status, journal: run };
    } catch (e) {
      if (e instanceof ProcessCrash) crashed = true;
      throw e;
    } finally {
      // A crashed process never releases its lease; it expires on its own.
      if (!crashed) await lease.release();
    }
  }

  /** Resumes the set's active run or starts a new one; journals it before anything else happens. */
  private async openRun(request: RotationRequest, signal: AbortSignal): Promise<RunJournal> {
    const { set, clock } = this.deps;
    const state = await this.journals.readState(set.name, signal);
    if (state.activeRunId) {
      const active = await this.journals.readRun(set.name, state.activeRunId, signal);
      if (active && !FINISHED.has(active.status)) {
        if (request.mode === "emergency" && active.mode !== "emergency") active.mode = "emergency";
        active.passes++;
        active.status = "running";
        active.updatedAt = clock.now().toISOString();
        await this.journals.writeRun(active, signal);
        return active;
      }
    }
    const now = clock.now();
    const runId = request.runId ?? RotationJournalStore.newRunId(now);
    const existing = request.runId ? await this.journals.readRun(set.name, runId, signal) : undefined;
    const run: RunJournal = existing ?? {
      runId,
      set: set.name,
      mode: request.mode,
      trigger: request.trigger,
      status: "running",
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      passes: 0,
      displayName: managedDisplayName(set.name, runId),
      steps: [],
      targets: [],
    };
    run.passes++;
    run.status = "running";
    if (existing) await this.journals.writeRun(run, signal);
    else await this.journals.createRun(run, signal);
    await this.journals.writeState({ ...state, activeRunId: run.runId }, signal);
    await this.emit({ type: "started", set: set.name, runId: run.runId, mode: run.mode });
    return run;
  }

  private async execute(ctx: PassContext, log: Logger): Promise<void> {
    const { run } = ctx;
    for (const step of STEPS) {
      if (isDone(run, step)) continue;
      const started = this.deps.clock.now();
      let outcome: StepOutcome;
      try {
        ctx.signal.throwIfAborted();
        outcome = await this.runStep(step, ctx);
      } catch (e) {
        if (e instanceof ProcessCrash) throw e;
        const err = ensureRotatorError(e, "STEP_FAILED");
        const retryable = err.retryable || err.code === "LEASE_LOST" || err.code === "ABORTED";
        this.record(run, step, started, retryable ? "waiting" : "failed", err.message, err.toJSON());
        log.error(`step ${step} failed: ${err.code}: ${err.message} — ${err.hint}`);
        if (!retryable) await this.rollbackIfUnpromoted(ctx, log);
        await this.finishPass(ctx, retryable ? "waiting" : "failed", step, err.toJSON());
        return;
      }
      if (outcome.kind === "pause") {
        this.record(run, step, started, "waiting", outcome.detail);
        log.info(`step ${step} waiting: ${outcome.detail}`);
        await this.finishPass(ctx, outcome.status, step);
        return;
      }
      this.record(run, step, started, outcome.kind, outcome.detail);
      log.info(`step ${step} ${outcome.kind}${outcome.detail ? `: ${outcome.detail}` : ""}`);
      if (step === "plan" && run.plan?.action === "noop") {
        await this.journals.writeRun(run, ctx.signal);
        await this.deps.hooks?.afterStep?.(step);
        await this.finishPass(ctx, "noop");
        return;
      }
      await this.journals.writeRun(run, ctx.signal);
      await this.deps.hooks?.afterStep?.(step);
    }
    await this.finishPass(ctx, run.retireBlockedReason ? "needs_attention" : "succeeded");
  }

  private runStep(step: StepName, ctx: PassContext): Promise<StepOutcome> {
    const steps: Record<StepName, (c: StepContext) => Promise<StepOutcome>> = {
      plan: planStep,
      create: createStep,
      stash: stashStep,
      "verify-entra": verifyEntraStep,
      promote: promoteStep,
      propagate: propagateStep,
      "verify-targets": verifyTargetsStep,
      retire: retireStep,
    };
    return this.deps.traceStep ? this.deps.traceStep(step, ctx.run.runId, () => steps[step](ctx)) : steps[step](ctx);
  }

  // ── bookkeeping ──────────────────────────────────────────────────────────────

  /** On a permanent failure before promotion, nothing of this run may survive (I2, I3). */
  private async rollbackIfUnpromoted(ctx: PassContext, log: Logger): Promise<void> {
    const { set, graph, vault } = this.deps;
    const { run } = ctx;
    if (!run.newCredential || run.promotedVersion) return;
    try {
      const app = await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId });
      await graph.removePassword(app.id, run.newCredential.keyId);
      if (run.pendingVersion) {
        await vault.updateProperties(pendingSecretName(set.keyVault.secretName), run.pendingVersion, {
          enabled: false,
          tags: { keyId: run.newCredential.keyId, appId: set.clientId, runId: run.runId, state: "rolled-back" },
        });
      }
      log.warn(`rolled back credential ${run.newCredential.keyId}`);
    } catch (e) {
      // The orphan sweep of the next run removes it; say so rather than hide the failure.
      log.error(`rollback of ${run.newCredential.keyId} failed (${ensureRotatorError(e).code}); the next run's orphan sweep removes it`);
    }
  }

  private record(run: RunJournal, name: StepName, started: Date, status: StepRecord["status"], detail?: string, error?: ErrorSummary): void {
    const ended = this.deps.clock.now();
    run.steps.push({
      name,
      status,
      startedAt: started.toISOString(),
      endedAt: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(),
      ...(detail ? { detail } : {}),
      ...(error ? { error } : {}),
    });
  }

  private async finishPass(ctx: PassContext, status: RunStatus, step?: StepName, error?: ErrorSummary): Promise<void> {
    const { set, clock } = this.deps;
    const { run } = ctx;
    run.status = status;
    run.updatedAt = clock.now().toISOString();
    if (error) run.error = error;
    else if (status === "succeeded") delete run.error;
    // Journal and state are written even if the lease was lost mid-step: they only describe.
    await this.journals.writeRun(run);
    const state = await this.journals.readState(set.name);
    const finished = FINISHED.has(status);
    const verified = run.targets.filter((t) => t.verified).length;
    state.lastRun = { runId: run.runId, status, mode: run.mode, at: run.updatedAt, ...(step ? { step } : {}), ...(error ? { error } : {}) };
    if (finished) delete state.activeRunId;
    else state.activeRunId = run.runId;
    if (status === "succeeded" || status === "needs_attention") {
      state.lastSuccessAt = run.updatedAt;
      state.failureStreak = 0;
    } else if (status === "failed" || (status === "waiting" && error)) {
      state.failureStreak = (state.failureStreak ?? 0) + 1;
    }
    const cred = run.promotedVersion ? run.newCredential : run.plan?.current;
    if (cred) {
      state.currentKeyId = cred.keyId;
      state.currentExpiresOn = cred.endDateTime;
      state.nextRotationAt = new Date(Date.parse(cred.endDateTime) - renewWindowDays(set) * DAY_MS).toISOString();
    }
    if (run.targets.length > 0 || run.plan) state.targetsVerified = { verified: run.targets.length ? verified : 0, total: run.targets.length || run.plan?.targets.total || 0 };
    await this.journals.writeState(state);

    const type: RotationEvent["type"] =
      status === "succeeded" || status === "needs_attention"
        ? "succeeded"
        : status === "failed"
          ? "failed"
          : status === "awaiting_confirmation"
            ? "awaiting_confirmation"
            : status === "noop"
              ? "noop"
              : "waiting";
    await this.emit({
      type,
      set: set.name,
      runId: run.runId,
      mode: run.mode,
      ...(step ? { step } : {}),
      ...(error ? { error } : {}),
      detail: run.steps.at(-1)?.detail,
      targets: { total: run.targets.length, verified, ...(status === "awaiting_confirmation" ? { names: run.targets.map((t) => t.name) } : {}) },
    });
  }

  private async emit(event: RotationEvent): Promise<void> {
    try {
      await this.deps.onEvent?.(event);
    } catch (e) {
      // Alerting must never break a rotation.
      this.deps.logger.warn(`rotation event ${event.type} could not be delivered: ${ensureRotatorError(e).message}`);
    }
  }
}

function isDone(run: RunJournal, step: StepName): boolean {
  return run.steps.some((s) => s.name === step && (s.status === "done" || s.status === "skipped"));
}
