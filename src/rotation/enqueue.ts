import { confirmTarget } from "./operatorConfirmations.js";
import type { ContainerClient } from "@azure/storage-blob";
import { RotatorError, ensureRotatorError } from "../errors.js";
import { FINISHED, type RotationMode, type RunJournal } from "./model.js";
import { RotationJournalStore } from "./journal.js";
import { managedDisplayName } from "./policy.js";
import { RequestStore, type OperatorRequest } from "./requests.js";

/**
 * Accepting operator requests (HTTP API, CLI) without running them: long work belongs to the queue
 * worker. Everything a 202 promises is written here first — the request record and, for a new
 * run, its queued journal and the set's `activeRunId` — so the promise survives a dropped queue
 * message (I7). Refusals are typed errors the caller turns into 409s.
 */
export interface EnqueueDeps {
  container: ContainerClient;
  journals: RotationJournalStore;
  now: () => Date;
  abortSignal?: AbortSignal;
}

/** 409: a run is in progress; `runId` names it so the caller can follow it. */
export class RunInProgressError extends RotatorError {
  constructor(
    message: string,
    readonly runId: string,
  ) {
    super("ROTATION_IN_PROGRESS", message, {
      hint: 'Wait for it to finish (GET its statusUrl), or send mode "emergency" to finish it now without a grace period.',
      status: 409,
    });
  }
}

export interface AcceptedRequest {
  request: OperatorRequest;
  runId: string;
  status: RunJournal["status"];
  /** Set when an emergency was attached to the run already in progress. */
  note?: string;
}

/** How long the journal of a request that failed half-way may take to be marked failed. */
const CLEANUP_TIMEOUT_MS = 10_000;

export async function acceptRotationRequest(deps: EnqueueDeps, input: { set: string; mode: RotationMode }): Promise<AcceptedRequest> {
  const { journals, abortSignal } = deps;
  const requests = new RequestStore(deps.container);
  const stateDoc = await journals.readStateDocument(input.set, abortSignal);
  const state = stateDoc?.value ?? { set: input.set, failureStreak: 0 };
  if (state.activeRunId) {
    const active = await journals.readRun(input.set, state.activeRunId, abortSignal);
    if (active && !FINISHED.has(active.status)) {
      if (input.mode === "emergency") {
        // Recorded before the 202: whichever pass next holds the lease finishes this run without grace.
        const request = await requests.record({ set: input.set, mode: "emergency", runId: active.runId, now: deps.now() }, abortSignal);
        return { request, runId: active.runId, status: active.status, note: "emergency mode applied to the run in progress" };
      }
      throw new RunInProgressError(
        `Run ${active.runId} for set "${input.set}" is ${active.status} at step ${active.steps.at(-1)?.name ?? "plan"}`,
        active.runId,
      );
    }
  }
  // A pass holding the lease without an active run is planning right now; it may start a run.
  const leaseProps = await deps.container
    .getBlockBlobClient(`leases/${input.set}`)
    .getProperties({ abortSignal })
    .catch(() => undefined);
  if (leaseProps?.leaseState === "leased") {
    throw new RotatorError("ROTATION_IN_PROGRESS", `A rotation pass for set "${input.set}" is running`, {
      hint: "Send the request again in a minute; GET /api/status shows the pass's run.",
      status: 409,
    });
  }

  const now = deps.now();
  const runId = RotationJournalStore.newRunId(now);
  const run: RunJournal = {
    runId,
    set: input.set,
    mode: input.mode,
    trigger: "http",
    status: "queued",
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    passes: 0,
    displayName: managedDisplayName(input.set, runId),
    steps: [],
    targets: [],
  };
  try {
    await journals.createRun(run, abortSignal);
  } catch (e) {
    // The write may have landed although the call failed (the request's deadline aborted it while
    // Storage answered): a journal left `queued` that no state points at is a run nobody will ever
    // pass (I8; npm run chaos, seed 12). The create is create-only, so a late landing can never
    // overwrite this failed one, and this one overwrites an early landing.
    const err = ensureRotatorError(e);
    await abandonRun(journals, run, { code: err.code, message: `The request was not accepted: ${err.message}`, hint: err.hint });
    throw err;
  }
  // Conditional on the state we read: of two simultaneous requests — or a request and a pass
  // that just started a run — exactly one wins.
  try {
    await journals.writeStateIf({ ...state, activeRunId: runId }, stateDoc?.etag, abortSignal);
  } catch (e) {
    const err = ensureRotatorError(e);
    await abandonRun(
      journals,
      run,
      err.code === "STORAGE_CONFLICT"
        ? { code: "ROTATION_IN_PROGRESS", message: "Another rotation request won the race", hint: "Check GET /api/status." }
        : { code: err.code, message: `The request was not accepted: ${err.message}`, hint: err.hint },
    );
    if (err.code === "STORAGE_CONFLICT") {
      throw new RotatorError("ROTATION_IN_PROGRESS", `Another rotation for set "${input.set}" was just started`, {
        hint: "GET /api/status shows the run that won.",
        status: 409,
      });
    }
    throw err;
  }
  const request = await requests.record({ set: input.set, mode: input.mode, runId, now }, abortSignal);
  return { request, runId, status: "queued" };
}

/**
 * Marks a journal this request created (or may have created) failed. Not under the request's
 * signal: when that signal is what ended the request, the journal would stay `queued` for ever
 * beside the set's real run (I5; npm run chaos, seed 15).
 */
async function abandonRun(journals: RotationJournalStore, run: RunJournal, error: NonNullable<RunJournal["error"]>): Promise<void> {
  run.status = "failed";
  run.error = error;
  await journals.writeRun(run, AbortSignal.timeout(CLEANUP_TIMEOUT_MS)).catch(() => undefined);
}

/**
 * An operator confirms a manual gateway was updated: `confirmedBy` is written conditionally on
 * the journal's ETag (a pass writing the run meanwhile makes us re-read, never overwrite), and a
 * request is recorded so the pass holding the lease resumes the run at once.
 */
export async function acceptConfirmation(deps: EnqueueDeps, input: { runId: string; confirmedBy: string; target?: string }): Promise<AcceptedRequest> {
  const { journals, abortSignal } = deps;
  for (let attempt = 1; ; attempt++) {
    const found = await journals.findRun(input.runId, abortSignal);
    const doc = found ? await journals.readRunDocument(found.set, found.runId, abortSignal) : undefined;
    if (!doc) {
      throw new RotatorError("RUN_NOT_FOUND", `No rotation run "${input.runId}"`, { hint: "Use the runId from the awaiting-confirmation alert.", status: 404 });
    }
    const run = doc.value;
    // A pass re-checking the run shows it `running`, and one that erred since shows it `waiting`;
    // either way it still waits for this confirmation.
    const waitsForOperator =
      run.status === "awaiting_confirmation" || ((run.status === "running" || run.status === "waiting") && run.awaitingConfirmationSince !== undefined);
    if (!waitsForOperator) {
      throw new RotatorError("RUN_NOT_AWAITING_CONFIRMATION", `Run ${input.runId} is ${run.status}, not awaiting confirmation`, {
        hint: "Only a run paused for a manual gateway can be confirmed.",
        status: 409,
      });
    }
    // One server (`target`), or the whole run: every server the operator was asked to update.
    if (input.target !== undefined) confirmTarget(run, input.target, input.confirmedBy, deps.now().toISOString());
    else run.confirmedBy = input.confirmedBy;
    run.updatedAt = deps.now().toISOString();
    try {
      await journals.writeRun(run, abortSignal, { ifMatch: doc.etag });
    } catch (e) {
      const err = ensureRotatorError(e);
      if (err.code === "STORAGE_CONFLICT" && attempt < 5) continue;
      throw err;
    }
    const request = await new RequestStore(deps.container).record({ set: run.set, mode: run.mode, runId: run.runId, now: deps.now() }, abortSignal);
    return { request, runId: run.runId, status: run.status };
  }
}
