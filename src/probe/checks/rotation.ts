import type { CredentialSet } from "../../config/schema.js";
import { STEPS, type RunJournal, type SetState, type StepName } from "../../rotation/model.js";
import { need, type CheckDefinition, type ProbeTuning } from "../context.js";
import type { Evidence } from "../model.js";

/**
 * The rotation engine's own health, from the set's state and active run: a rotation that is due
 * but not running, a run stuck in one step past its budget, repeated failed passes (poison), and a
 * manual gateway waiting for an operator.
 */
export interface StepPosition {
  step: StepName | "queued";
  /** When the run entered this step. */
  since: Date;
  /** How long the step may take before the run counts as stuck. */
  budgetMs: number;
}

/** Where an unfinished run is and how long it may stay there. */
export function stepPosition(run: RunJournal, set: Pick<CredentialSet, "verification">, tuning: Pick<ProbeTuning, "stepBudgetMs">): StepPosition {
  if (run.status === "queued") return { step: "queued", since: new Date(run.createdAt), budgetMs: tuning.stepBudgetMs };
  const done = new Set(run.steps.filter((s) => s.status === "done" || s.status === "skipped").map((s) => s.name));
  const step = STEPS.find((s) => !done.has(s)) ?? "retire";
  const attempts = run.steps.filter((s) => s.name === step);
  const previous = [...run.steps].reverse().find((s) => s.name !== step && done.has(s.name));
  const sinceIso = attempts[0]?.startedAt ?? previous?.endedAt ?? run.createdAt;
  let since = new Date(sinceIso);
  let budgetMs = tuning.stepBudgetMs;
  if (step === "verify-entra") {
    if (run.verify?.firstAttemptAt) since = new Date(run.verify.firstAttemptAt);
    budgetMs = set.verification.budgetSeconds * 1000 + tuning.stepBudgetMs;
  } else if (step === "retire" && run.retireAfter) {
    // Retire waits out the grace period on purpose; it is stuck only once that has passed.
    const after = new Date(run.retireAfter);
    if (after > since) since = after;
  }
  return { step, since, budgetMs };
}

export const rotationCheck: CheckDefinition = {
  id: "rotation",
  title: "Rotation schedule and run health",
  async run(ctx, f) {
    const { set, now, tuning } = ctx;
    const read = await ctx.shared.rotation();
    if (!read) {
      return { status: "skip", severity: "info", summary: "no rotation journal store was given to the probe", hint: "Nothing to do.", evidence: {} };
    }
    const { state, activeRun } = need(read, "The rotation state");
    const evidence = stateEvidence(state);

    if (activeRun) {
      evidence.activeRunId = activeRun.runId;
      evidence.activeRunStatus = activeRun.status;
      evidence.activeRunMode = activeRun.mode;
      if (activeRun.status === "awaiting_confirmation") {
        const since = new Date(activeRun.updatedAt);
        f.warn(
          "warning",
          `run ${activeRun.runId} has waited for operator confirmation since ${since.toISOString()} (${hoursSince(now, since)} h)`,
          `Update the client secret on every listed MCP server, then confirm with POST /api/rotations/${activeRun.runId}/confirm; the old secret is retired only after that.`,
        );
      } else {
        const pos = stepPosition(activeRun, set, tuning);
        evidence.activeStep = pos.step;
        evidence.activeStepSince = pos.since.toISOString();
        const elapsed = now.getTime() - pos.since.getTime();
        const lastProgress = new Date(activeRun.updatedAt);
        if (elapsed > pos.budgetMs) {
          f.fail(
            "error",
            `run ${activeRun.runId} has been in step ${pos.step} since ${pos.since.toISOString()} (${Math.round(elapsed / 60_000)} min, budget ${Math.round(pos.budgetMs / 60_000)} min); last progress ${lastProgress.toISOString()}`,
            stuckHint(pos.step, activeRun),
          );
        }
      }
    }

    if (state.nextRotationAt && !activeRun) {
      const due = new Date(state.nextRotationAt);
      if (due < now) {
        f.fail(
          "error",
          `rotation was due at ${state.nextRotationAt} (${hoursSince(now, due)} h ago) and no run is active`,
          'The rotation timer is not running or every pass ends before planning: check the function app is running and its logs for this set, then run POST /api/rotations {"mode": "force"}.',
        );
      }
    }

    if (state.failureStreak >= tuning.poisonStreak) {
      f.fail(
        "error",
        `the last ${state.failureStreak} passes failed${state.lastRun?.error ? ` (${state.lastRun.error.code}: ${state.lastRun.error.message})` : ""}; the set is poisoned until fixed`,
        state.lastRun?.error?.hint ?? "Read the last run's journal (GET /api/rotations/<runId>) for the failing step and fix its cause.",
      );
    } else if (state.failureStreak > 0) {
      f.warn(
        "warning",
        `${state.failureStreak} consecutive pass(es) failed${state.lastRun?.error ? ` (${state.lastRun.error.code})` : ""}`,
        state.lastRun?.error?.hint ?? "The next pass retries; read the last run's journal if it keeps failing.",
      );
    }
    if (state.lastRun?.status === "needs_attention" && !activeRun) {
      f.warn(
        "warning",
        `the last run ${state.lastRun.runId} finished needing attention${state.lastRun.error ? ` (${state.lastRun.error.code})` : ""}`,
        state.lastRun.error?.hint ?? `Read GET /api/rotations/${state.lastRun.runId}: the previous secret was not retired and needs a decision.`,
      );
    }

    const summary = activeRun
      ? `run ${activeRun.runId} is ${activeRun.status}${typeof evidence.activeStep === "string" ? ` in step ${evidence.activeStep}` : ""} within budget`
      : state.lastRun
        ? `last run ${state.lastRun.runId} ${state.lastRun.status}; next rotation ${state.nextRotationAt ?? "not scheduled"}`
        : "no rotation has run for this set yet";
    return f.outcome(summary, evidence);
  },
};

function stateEvidence(state: SetState): Evidence {
  const e: Evidence = { failureStreak: state.failureStreak };
  if (state.nextRotationAt) e.nextRotationAt = state.nextRotationAt;
  if (state.lastSuccessAt) e.lastSuccessAt = state.lastSuccessAt;
  if (state.currentKeyId) e.currentKeyId = state.currentKeyId;
  if (state.lastRun) {
    e.lastRunId = state.lastRun.runId;
    e.lastRunStatus = state.lastRun.status;
    e.lastRunAt = state.lastRun.at;
    if (state.lastRun.step) e.lastRunStep = state.lastRun.step;
    if (state.lastRun.error) e.lastRunError = state.lastRun.error.code;
  }
  if (state.targetsVerified) e.targetsVerified = `${state.targetsVerified.verified}/${state.targetsVerified.total}`;
  return e;
}

function stuckHint(step: StepPosition["step"], run: RunJournal): string {
  const journal = `GET /api/rotations/${run.runId}`;
  switch (step) {
    case "queued":
      return "The rotation queue worker is not picking up requests: check the function app is running and the queue's poison messages.";
    case "verify-entra":
      return `Entra keeps refusing the new secret beyond the replication budget (${journal} shows the last AADSTS code); if it does not recover, run an emergency rotation.`;
    case "propagate":
    case "verify-targets":
      return `Some gateway targets keep failing (${journal} lists them): fix the gateway side, the next pass resumes.`;
    case "retire":
      return `The previous secret is past its grace period but not retired: ${journal} shows why.`;
    default:
      return `The run stopped making progress (a pass died holding the lease, or the step keeps failing): ${journal} shows the last error; the next pass resumes it.`;
  }
}

function hoursSince(now: Date, then: Date): number {
  return Math.round(((now.getTime() - then.getTime()) / 3_600_000) * 10) / 10;
}
