import type { FunctionOutput, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { ensureRotatorError, RotatorError } from "../errors.js";
import { createLogger, type Logger } from "../logging.js";
import { FINISHED, type RunJournal } from "../rotation/model.js";
import { RotationJournalStore } from "../rotation/journal.js";
import type { RuntimeProvider } from "../runtime/types.js";
import { CONFIRM_FIELDS, START_FIELDS, confirmBodySchema, describeZodIssues, startRotationBodySchema, type RotationMessage } from "./rotationMessage.js";
import { errorResponse, fromRotatorError, json, readJsonBody, shown } from "./http.js";
import { JsonBlobStore } from "../storage/jsonBlobs.js";
import { withoutUserinfo } from "../config/outbound.js";
import type { SetState } from "../rotation/model.js";

export function contextLogger(context: InvocationContext, fields: Record<string, string | undefined> = {}): Logger {
  return createLogger((level, line) => {
    if (level === "error") context.error(line);
    else if (level === "warn") context.warn(line);
    else if (level === "debug") context.debug(line);
    else context.info(line);
  }, undefined, fields);
}

/**
 * POST /api/rotations — validates the body, answers a dry run inline (reads only), and otherwise
 * records a queued run and hands it to the queue worker: long work never runs inside an HTTP request.
 */
export function makeStartRotationHandler(getRuntime: RuntimeProvider, queueOutput: FunctionOutput) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const body = await readJsonBody(() => request.text());
    if (!body.ok) return body.response;
    const parsed = startRotationBodySchema.safeParse(body.value);
    if (!parsed.success) {
      const issues = describeZodIssues(parsed.error, START_FIELDS);
      return errorResponse(400, "INVALID_BODY", issues.map((i) => `${i.field}: ${i.message}`).join("; "), "Fix the named field(s) and send the request again.", {
        field: issues[0]?.field,
        issues,
      });
    }
    const { set: setName, mode, dryRun } = parsed.data;
    const runtime = await getRuntime();
    const set = runtime.sets.find((s) => s.name === setName);
    if (!set) {
      return errorResponse(404, "SET_NOT_FOUND", `No credential set named "${setName}"`, `Use one of: ${runtime.sets.map((s) => s.name).join(", ")}.`, { field: "set" });
    }
    const logger = contextLogger(context, { set: set.name }).child({});
    try {
      if (dryRun) {
        const runner = await runtime.createRunner(set, logger);
        const plan = await runner.dryRun(mode);
        return json(200, { set: set.name, dryRun: true, plan });
      }

      const stateStore = new JsonBlobStore(runtime.container);
      const stateDoc = await stateStore.read<SetState>(`state/${set.name}.json`);
      const state: SetState = stateDoc?.value ?? { set: set.name, failureStreak: 0 };
      if (state.activeRunId) {
        const active = await runtime.journals.readRun(set.name, state.activeRunId);
        if (active && !FINISHED.has(active.status)) {
          if (mode === "emergency") {
            // An emergency finishes the active run at once, retiring the old secret without grace.
            const message: RotationMessage = { set: set.name, mode, runId: active.runId, trigger: "http" };
            context.extraOutputs.set(queueOutput, message);
            return json(202, { runId: active.runId, status: active.status, statusUrl: statusUrl(runtime.publicBaseUrl, active.runId), note: "emergency mode applied to the run in progress" });
          }
          return errorResponse(409, "ROTATION_IN_PROGRESS", `Run ${active.runId} for set "${set.name}" is ${active.status} at step ${active.steps.at(-1)?.name ?? "plan"}`, "Wait for it to finish (GET its statusUrl), or send mode \"emergency\" to finish it now without a grace period.", {
            runId: active.runId,
            statusUrl: statusUrl(runtime.publicBaseUrl, active.runId),
          });
        }
      }
      // A pass holding the lease without an active run (a scheduled pass planning right now).
      const leaseProps = await runtime.container.getBlockBlobClient(`leases/${set.name}`).getProperties().catch(() => undefined);
      if (leaseProps?.leaseState === "leased") {
        return errorResponse(409, "ROTATION_IN_PROGRESS", `A rotation pass for set "${set.name}" is running`, "Wait for it to finish; GET /api/status shows its run.");
      }

      const now = runtime.clock.now();
      const runId = RotationJournalStore.newRunId(now);
      const run: RunJournal = {
        runId,
        set: set.name,
        mode,
        trigger: "http",
        status: "queued",
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        passes: 0,
        displayName: `mcp-sso-rotator/${set.name}/${runId}`,
        steps: [],
        targets: [],
      };
      await runtime.journals.createRun(run);
      // Conditional on the state we read: of two simultaneous requests, exactly one wins.
      try {
        await stateStore.write(`state/${set.name}.json`, { ...state, activeRunId: runId }, stateDoc ? { ifMatch: stateDoc.etag } : { ifNoneExists: true });
      } catch (e) {
        const err = ensureRotatorError(e);
        run.status = "failed";
        run.error = { code: "ROTATION_IN_PROGRESS", message: "Another rotation request won the race", hint: "Check GET /api/status." };
        await runtime.journals.writeRun(run);
        if (err.code === "STORAGE_CONFLICT") {
          return errorResponse(409, "ROTATION_IN_PROGRESS", `Another rotation for set "${set.name}" was just started`, "GET /api/status shows the run that won.");
        }
        throw err;
      }
      const message: RotationMessage = { set: set.name, mode, runId, trigger: "http" };
      context.extraOutputs.set(queueOutput, message);
      logger.child({ run: runId }).info(`queued ${mode} rotation`);
      return json(202, { runId, status: "queued", statusUrl: statusUrl(runtime.publicBaseUrl, runId) }, { Location: statusUrl(runtime.publicBaseUrl, runId) });
    } catch (e) {
      const err = ensureRotatorError(e);
      logger.error(`start rotation failed: ${err.code}: ${err.message}`);
      return fromRotatorError(err, err.code === "ROTATION_IN_PROGRESS" ? 409 : err.code.startsWith("POLICY_") ? 422 : 502);
    }
  };
}

/** GET /api/rotations/{runId} — the run's journal (never holds a secret). */
export function makeGetRotationHandler(getRuntime: RuntimeProvider) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const runId = request.params["runId"] ?? "";
    const badId = runIdProblem(runId);
    if (badId) return badId;
    const runtime = await getRuntime();
    const run = await runtime.journals.findRun(runId);
    if (!run) return errorResponse(404, "RUN_NOT_FOUND", `No rotation run "${runId}"`, "Use the runId returned by POST /api/rotations, or GET /api/status for recent runs.", { field: "runId" });
    return json(200, run);
  };
}

/** POST /api/rotations/{runId}/confirm — an operator confirms a manual gateway was updated. */
export function makeConfirmRotationHandler(getRuntime: RuntimeProvider, queueOutput: FunctionOutput) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const runId = request.params["runId"] ?? "";
    const badId = runIdProblem(runId);
    if (badId) return badId;
    const body = await readJsonBody(() => request.text());
    if (!body.ok) return body.response;
    const parsed = confirmBodySchema.safeParse(body.value);
    if (!parsed.success) {
      const issues = describeZodIssues(parsed.error, CONFIRM_FIELDS);
      return errorResponse(400, "INVALID_BODY", issues.map((i) => `${i.field}: ${i.message}`).join("; "), "Fix the named field(s) and send the request again.", { field: issues[0]?.field, issues });
    }
    const runtime = await getRuntime();
    const run = await runtime.journals.findRun(runId);
    if (!run) return errorResponse(404, "RUN_NOT_FOUND", `No rotation run "${runId}"`, "Use the runId from the awaiting-confirmation alert.", { field: "runId" });
    if (run.status !== "awaiting_confirmation") {
      return errorResponse(409, "RUN_NOT_AWAITING_CONFIRMATION", `Run ${runId} is ${run.status}, not awaiting confirmation`, "Only a run paused for a manual gateway can be confirmed.");
    }
    run.confirmedBy = parsed.data.confirmedBy;
    run.updatedAt = runtime.clock.now().toISOString();
    await runtime.journals.writeRun(run);
    const message: RotationMessage = { set: run.set, mode: run.mode, runId, trigger: "http" };
    context.extraOutputs.set(queueOutput, message);
    return json(202, { runId, status: "confirmed", statusUrl: statusUrl(runtime.publicBaseUrl, runId) });
  };
}

/** Run IDs are ours (timestamp + random); anything else is refused before a lookup, and shown only escaped and short. */
function runIdProblem(runId: string): HttpResponseInit | undefined {
  if (/^[0-9A-Za-z-]{8,64}$/.test(runId)) return undefined;
  return errorResponse(400, "INVALID_RUN_ID", `runId ${shown(runId, 24)} is not a run ID — use the runId returned by POST /api/rotations`, "Use the runId returned by POST /api/rotations (8–64 letters, digits and dashes).", { field: "runId" });
}

export function statusUrl(base: string | undefined, runId: string): string {
  // Never hand out credentials embedded in the base URL (202 body, Location header, alerts).
  return `${withoutUserinfo(base ?? "").replace(/\/+$/, "")}/api/rotations/${runId}`;
}

export { RotatorError };
