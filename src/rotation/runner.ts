import { RotatorError, ensureRotatorError, type ErrorSummary } from "../errors.js";
import type { Logger } from "../logging.js";
import { acquireSetLease } from "./lease.js";
import { RotationJournalStore } from "./journal.js";
import { abandonsPass } from "./hooks.js";
import {
  FINISHED,
  STEPS,
  type PassResult,
  type Plan,
  type RotationDeps,
  type RotationEvent,
  type RotationRequest,
  type RotationMode,
  type RunJournal,
  type RunStatus,
  type StepName,
  type StepRecord,
} from "./model.js";
import { makePlan } from "./planner.js";
import { readPromotionRecord } from "./orphans.js";
import { reconcileStep } from "./reconcile.js";
import { stallOf } from "./progress.js";
import { RequestStore, strongerMode, type OperatorRequest } from "./requests.js";
import { liveTargets, staleTargetNames } from "./targets.js";
import { managedDisplayName, pendingSecretName, renewalDueAt, renewWindowDays } from "./policy.js";
import {
  adoptionFor,
  createStep,
  groupWarnings,
  observe,
  planStep,
  promoteStep,
  propagateStep,
  retireStep,
  stashStep,
  verifyEntraStep,
  verifyTargetsStep,
} from "./steps.js";
import type { StepContext, StepOutcome } from "./stepContext.js";
import { getSetApplication } from "../entra/application.js";
import { hasOperatorGroup, operatorTargetNames } from "./groups.js";
import { keepTargetConfirmations } from "./operatorConfirmations.js";

interface PassContext extends StepContext {
  /** How the set's previous run ended, read when this pass opened its run. */
  previousStatus?: RunStatus;
  /** Failed or erroring passes since the last success, read when this pass opened its run. */
  failureStreak: number;
}

/** Extra passes one invocation runs, under the same lease, for requests accepted while it worked. */
const MAX_EXTRA_PASSES = 3;

/**
 * The rotation state machine (DESIGN.md § Rotation state machine). One call is one pass: it holds
 * the set's lease, resumes the active run at its first step not recorded as done, or plans a new
 * one, and stops when the run finishes or has to wait (replication, grace period, failing targets,
 * operator confirmation). Every side effect is keyed by the new credential's keyId so a pass that
 * dies anywhere is finished by the next without creating a second credential.
 */
export class RotationRunner {
  private readonly journals: RotationJournalStore;
  private readonly requests: RequestStore;
  /** ETag of each run journal as this runner last read or wrote it: journal writes are conditional. */
  private readonly etags = new Map<string, string>();

  constructor(private readonly deps: RotationDeps) {
    this.journals = new RotationJournalStore(deps.container, deps.redactor);
    this.requests = new RequestStore(deps.container);
  }

  get journalStore(): RotationJournalStore {
    return this.journals;
  }

  /** Reads everything and returns the plan; writes nothing (dry run). */
  async dryRun(mode: RotationMode, abortSignal?: AbortSignal): Promise<Plan> {
    const facts = await observe(this.deps, abortSignal);
    const adoption = await adoptionFor(this.deps, facts, abortSignal);
    const record = await readPromotionRecord(this.journals, this.deps.set, facts, abortSignal);
    const plan = makePlan({ set: this.deps.set, facts, mode, now: this.deps.clock.now(), adoption, record });
    // The printed plan carries the same advice as a pass's (a grace period shorter than a group's pickup delay).
    const warnings = groupWarnings(this.deps);
    return warnings.length > 0 ? { ...plan, warnings } : plan;
  }

  async runPass(request: RotationRequest): Promise<PassResult> {
    const { set, logger } = this.deps;
    const lease = await acquireSetLease(this.deps.container, set.name, {
      ...this.deps.lease,
      logger,
      abortSignal: request.abortSignal,
    });
    const signal = request.abortSignal ? AbortSignal.any([lease.abortSignal, request.abortSignal]) : lease.abortSignal;
    let crashed = false;
    try {
      let result = await this.onePass(request, signal);
      // I7: a request accepted while this pass held the lease found it taken; act on it now rather
      // than at the next timer tick. Bounded, and only for requests this pass can act on.
      for (let extra = 0; extra < MAX_EXTRA_PASSES; extra++) {
        const pending = await this.requests.pending(set.name, signal);
        const actionable = FINISHED.has(result.status)
          ? pending.length > 0
          : pending.some((r) => r.runId === result.runId || (r.mode === "emergency" && result.journal.mode !== "emergency"));
        if (!actionable) break;
        result = await this.onePass({ mode: "scheduled", trigger: request.trigger }, signal);
      }
      return result;
    } catch (e) {
      if (abandonsPass(e)) crashed = true;
      throw e;
    } finally {
      // A crashed process never releases its lease; it expires on its own.
      if (!crashed) await lease.release();
    }
  }

  private async onePass(request: RotationRequest, signal: AbortSignal): Promise<PassResult> {
    const { set, logger } = this.deps;
    const { run, previousStatus, failureStreak } = await this.openRun(request, signal);
    const log = logger.child({ set: set.name, run: run.runId });
    log.info(`pass ${run.passes} of ${run.mode} run (${request.trigger}) starting`);
    const ctx: PassContext = {
      deps: this.deps,
      journals: this.journals,
      run,
      abortSignal: signal,
      log,
      previousStatus,
      failureStreak,
      save: () => this.saveRun(run, signal),
      listings: new Map(),
    };
    await this.execute(ctx, log);
    return { runId: run.runId, status: run.status, journal: run };
  }

  /**
   * Resumes the set's active run, or opens the queued run a request names, or starts a new one;
   * applies every pending operator request it can (an emergency upgrades the run) and journals
   * the run before anything else happens. Requests are marked applied only after that write.
   */
  private async openRun(
    request: RotationRequest,
    signal: AbortSignal,
    attempt = 1,
  ): Promise<{ run: RunJournal; previousStatus?: RunStatus; failureStreak: number }> {
    const { set, clock } = this.deps;
    const state = await this.journals.readState(set.name, signal);
    const pending = await this.requests.pending(set.name, signal);
    const finishedRuns = new Set<string>();
    const open = async (runId: string | undefined): Promise<RunJournal | undefined> => {
      if (!runId) return undefined;
      const doc = await this.journals.readRunDocument(set.name, runId, signal);
      if (!doc) return undefined;
      if (FINISHED.has(doc.value.status)) {
        finishedRuns.add(runId);
        return undefined;
      }
      this.etags.set(runId, doc.etag);
      return doc.value;
    };

    let run = await open(state.activeRunId);
    const isNew = !run;
    for (const candidate of [request.runId, ...pending.map((r) => r.runId)]) {
      if (run) break;
      run = await open(candidate);
    }
    const now = clock.now();
    const created = !run;
    if (!run) {
      const runId = RotationJournalStore.newRunId(now);
      run = {
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
    }
    // A request applies to the run it names, or — when it names none, or a run that finished
    // before any pass picked the request up — to this one. One naming another live run waits.
    const applied: OperatorRequest[] = [];
    for (const r of pending) {
      if (r.runId && r.runId !== run.runId && !finishedRuns.has(r.runId)) {
        const other = await this.journals.readRun(set.name, r.runId, signal);
        if (other && !FINISHED.has(other.status)) continue;
      }
      run.mode = strongerMode(run.mode, r.mode);
      run.requests ??= [];
      if (!run.requests.some((x) => x.requestId === r.requestId))
        run.requests.push({ requestId: r.requestId, mode: r.mode, receivedAt: r.receivedAt, appliedAt: now.toISOString() });
      applied.push(r);
    }
    if (!created) run.mode = strongerMode(run.mode, request.mode);
    run.passes++;
    run.status = "running";
    run.updatedAt = now.toISOString();
    const runId = run.runId;
    if (created) {
      // Claim the set before journaling: if the API queued a run since we read the state, that run
      // is the one to open (its request was answered 202), not a second one beside it.
      const claimed = await this.journals.updateState(
        set.name,
        (s) => {
          if (s.activeRunId && s.activeRunId !== state.activeRunId && attempt < 3) return false;
          s.activeRunId = runId;
        },
        signal,
      );
      if (!claimed) return this.openRun(request, signal, attempt + 1);
      this.etags.set(runId, await this.journals.createRun(run, signal));
    } else {
      await this.saveRun(run, signal);
      await this.journals.updateState(
        set.name,
        (s) => {
          s.activeRunId = runId;
        },
        signal,
      );
    }
    for (const r of applied) await this.requests.markApplied(r, runId, now, signal);
    if (isNew) await this.emit({ type: "started", set: set.name, runId: run.runId, mode: run.mode });
    return { run, previousStatus: state.lastRun?.status, failureStreak: state.failureStreak ?? 0 };
  }

  /** Writes the journal over the version this runner holds; on a conflict (an operator's confirm) merges and writes again. */
  private async saveRun(run: RunJournal, signal?: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const etag = this.etags.get(run.runId);
      try {
        this.etags.set(run.runId, await this.journals.writeRun(run, signal, etag ? { ifMatch: etag } : {}));
        return;
      } catch (e) {
        if (!(e instanceof RotatorError && e.code === "STORAGE_CONFLICT") || attempt >= 5) throw e;
        const latest = await this.journals.readRunDocument(run.set, run.runId, signal);
        if (!latest) throw e;
        // Another pass opened the run since (it took the lease over) or finished it: this pass lost
        // its lease and must not write its stale view over theirs (I5; it left zombie runs, I8).
        if (latest.value.passes > run.passes || (FINISHED.has(latest.value.status) && !FINISHED.has(run.status))) {
          throw new RotatorError(
            "LEASE_LOST",
            `Run ${run.runId} was taken over by another pass (pass ${latest.value.passes}, ${latest.value.status}); this pass stops without writing`,
            {
              hint: "Nothing to do: the pass that holds the lease carries the run forward.",
              retryable: true,
            },
          );
        }
        // Only operators write a run this pass holds; keep what they wrote.
        if (latest.value.confirmedBy && !run.confirmedBy) run.confirmedBy = latest.value.confirmedBy;
        keepTargetConfirmations(run, latest.value);
        run.mode = strongerMode(run.mode, latest.value.mode);
        this.etags.set(run.runId, latest.etag);
      }
    }
  }

  private async execute(ctx: PassContext, log: Logger): Promise<void> {
    const { run } = ctx;
    for (const step of STEPS) {
      if (isDone(run, step)) {
        // A noop run that died while reconciling resumes there, never at create.
        if (step === "plan" && run.plan?.action === "noop") return this.reconcile(ctx, log);
        continue;
      }
      const started = this.deps.clock.now();
      let outcome: StepOutcome;
      try {
        ctx.abortSignal.throwIfAborted();
        outcome = await this.runStep(step, ctx);
      } catch (e) {
        if (abandonsPass(e)) throw e;
        const err = ensureRotatorError(e, "STEP_FAILED");
        // A manual gateway's run past promote is never ended by an error: no later reconcile can
        // finish it (its targets cannot be read back), so a failed run would keep the credential it
        // replaced forever and leave the operator nothing to confirm (chaos seeds 184, 458). It
        // waits with the error — an incident — and the next pass retries.
        const keptOpen = hasOperatorGroup(this.deps) && run.promotedVersion !== undefined;
        const retryable = err.retryable || keptOpen || err.code === "LEASE_LOST" || err.code === "ABORTED";
        this.record(run, step, started, retryable ? "waiting" : "failed", err.message, err.toJSON());
        log.error(`step ${step} failed: ${err.code}: ${err.message} — ${err.hint}`);
        if (!retryable) await this.rollbackIfUnpromoted(ctx, log);
        await this.finishPass(ctx, retryable ? "waiting" : "failed", step, err.toJSON());
        return;
      }
      if (outcome.kind === "pause") {
        this.record(run, step, started, "waiting", outcome.detail, outcome.error);
        if (outcome.error) {
          // No progress because of errors: the run stays open, but the pass says so (issue 25).
          log.error(`step ${step} made no progress: ${outcome.error.code}: ${outcome.error.message} — ${outcome.error.hint}`);
          await this.finishPass(ctx, outcome.status, step, outcome.error, { stalled: true });
          return;
        }
        run.lastProgressAt = this.deps.clock.now().toISOString();
        log.info(`step ${step} waiting: ${outcome.detail}`);
        await this.finishPass(ctx, outcome.status, step);
        return;
      }
      run.lastProgressAt = this.deps.clock.now().toISOString();
      this.record(run, step, started, outcome.kind, outcome.detail);
      log.info(`step ${step} ${outcome.kind}${outcome.detail ? `: ${outcome.detail}` : ""}`);
      await this.saveRun(run, ctx.abortSignal);
      await this.deps.hooks?.afterStep?.(step);
      if (step === "plan" && run.plan?.action === "noop") return this.reconcile(ctx, log);
    }
    await this.finishPass(ctx, run.retireBlockedReason ? "needs_attention" : "succeeded");
  }

  /**
   * No rotation is due: bring drifted targets to the current secret and finish a pending
   * retirement. A reconcile that repaired or retired something — or that found all well after a
   * failed run — ends `succeeded`, which resolves the failure's incident; otherwise `noop`.
   * A noop run is never left active: whatever fails here, the next pass reconciles again.
   */
  private async reconcile(ctx: PassContext, log: Logger): Promise<void> {
    const { run } = ctx;
    const started = this.deps.clock.now();
    let outcome: Awaited<ReturnType<typeof reconcileStep>>;
    try {
      ctx.abortSignal.throwIfAborted();
      outcome = await reconcileStep(ctx);
    } catch (e) {
      if (abandonsPass(e)) throw e;
      const err = ensureRotatorError(e, "RECONCILE_FAILED");
      this.record(run, "reconcile", started, "failed", err.message, err.toJSON());
      log.error(`reconcile failed: ${err.code}: ${err.message} — ${err.hint}`);
      await this.finishPass(ctx, "failed", "reconcile", err.toJSON());
      return;
    }
    this.record(run, "reconcile", started, outcome.kind === "skipped" ? "skipped" : "done", outcome.detail);
    log.info(`reconcile ${outcome.kind}: ${outcome.detail ?? ""}`);
    await this.saveRun(run, ctx.abortSignal);
    await this.deps.hooks?.afterStep?.("reconcile");
    const changed = (outcome.summary?.repaired ?? 0) > 0 || outcome.summary?.retired !== undefined;
    // A clean reconcile after any failure (even one followed by a pass that only waited) is the
    // recovery the run-failure incident waits for; without it that incident stays open for months.
    // (A manual gateway's reconcile is "skipped": nothing it can read back, and nothing failed.)
    const recovered = ctx.previousStatus === "failed" || ctx.failureStreak > 0;
    await this.finishPass(ctx, changed || recovered ? "succeeded" : "noop");
  }

  private runStep(step: (typeof STEPS)[number], ctx: PassContext): Promise<StepOutcome> {
    const steps: Record<(typeof STEPS)[number], (c: StepContext) => Promise<StepOutcome>> = {
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
      const app = await getSetApplication(graph, set);
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

  private async finishPass(ctx: PassContext, status: RunStatus, step?: StepName, error?: ErrorSummary, pass: { stalled?: boolean } = {}): Promise<void> {
    const { set, clock } = this.deps;
    const { run } = ctx;
    run.status = status;
    const stalled = pass.stalled ? stallOf(run, set) : undefined;
    run.updatedAt = clock.now().toISOString();
    // A run that fails after promote leaves targets on the previous secret: name them (critical).
    const stale = status === "failed" ? staleTargetNames(run) : [];
    if (error && stale.length > 0) {
      error = {
        ...error,
        hint: `${error.hint} ${stale.length} MCP server(s) still hold the previous secret: ${stale.join(", ")}. The previous credential is kept until they are updated; once the cause is fixed the next pass updates them, or paste the current Key Vault secret into them by hand.`,
      };
    }
    if (error) run.error = error;
    else if (status === "succeeded") delete run.error;
    // Journal and state are written even if the lease was lost mid-step: they only describe.
    await this.saveRun(run);
    const finished = FINISHED.has(status);
    const live = liveTargets(run);
    const verified = live.filter((t) => t.verified).length;
    const reconciling = run.plan?.action === "noop";
    const targetsVerified = reconciling
      ? { verified: (run.plan?.targets.total ?? 0) - live.filter((t) => !t.verified).length, total: run.plan?.targets.total ?? 0 }
      : { verified: live.length ? verified : 0, total: live.length || run.plan?.targets.total || 0 };
    const cred = run.promotedVersion ? run.newCredential : run.plan?.current;
    await this.journals.updateState(set.name, (state) => {
      state.lastRun = { runId: run.runId, status, mode: run.mode, at: run.updatedAt, ...(step ? { step } : {}), ...(error ? { error } : {}) };
      // Only this run's own marker is cleared: the API may have queued the next run meanwhile.
      if (!finished) state.activeRunId = run.runId;
      else if (state.activeRunId === run.runId) delete state.activeRunId;
      if (status === "succeeded" || status === "needs_attention") {
        state.lastSuccessAt = run.updatedAt;
        state.failureStreak = 0;
      } else if (status === "failed" || (status === "waiting" && error)) {
        state.failureStreak = (state.failureStreak ?? 0) + 1;
      }
      if (cred) {
        state.currentKeyId = cred.keyId;
        state.currentExpiresOn = cred.endDateTime;
        state.nextRotationAt = renewalDueAt(cred.endDateTime, renewWindowDays(set, run.plan?.lifetimeDays ?? set.secret.lifetimeDays));
      }
      if (run.targets.length > 0 || run.plan) state.targetsVerified = targetsVerified;
    });

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
      targets: {
        total: targetsVerified.total,
        verified: targetsVerified.verified,
        ...(status === "awaiting_confirmation" ? { names: operatorTargetNames(this.deps, run) } : {}),
        ...(stale.length > 0 ? { stale } : {}),
      },
      ...(stalled ? { stalled } : {}),
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
