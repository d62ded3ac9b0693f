import type { FunctionOutput, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { z } from "zod";
import { errorCodeInfo } from "../errorCodes.js";
import { ensureRotatorError, RotatorError } from "../errors.js";
import { contextLogger } from "../logging.js";
import { acceptConfirmation, acceptRotationRequest, RunInProgressError } from "../rotation/enqueue.js";
import type { RuntimeProvider } from "../runtime/types.js";
import { CONFIRM_FIELDS, START_FIELDS, confirmBodySchema, describeZodIssues, startRotationBodySchema, type RotationMessage } from "./rotationMessage.js";
import { errorResponse, fromRotatorError, json, readJsonBody, requestProblem, shown } from "./http.js";
import { withoutUserinfo } from "../config/outbound.js";

/**
 * POST /api/rotations — validates the body, answers a dry run inline (reads only), and otherwise
 * records a queued run and hands it to the queue worker: long work never runs inside an HTTP request.
 */
export function makeStartRotationHandler(getRuntime: RuntimeProvider, queueOutput: FunctionOutput) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const refused = requestProblem(request, { methods: ["POST"], body: "json" });
    if (refused) return refused;
    const body = await readBody(request, startRotationBodySchema, START_FIELDS);
    if (!body.ok) return body.response;
    const { set: setName, mode, dryRun } = body.value;
    const runtime = await getRuntime();
    const set = runtime.sets.find((s) => s.name === setName);
    if (!set) {
      const names = runtime.sets.map((s) => s.name).join(", ");
      return errorResponse(
        404,
        "SET_NOT_FOUND",
        `set "${setName}" names no credential set — use one of: ${names}`,
        `Use one of: ${names} (GET /api/status lists them).`,
        { field: "set" },
      );
    }
    const logger = contextLogger(context, runtime.redactor, { set: set.name }).child({});
    try {
      if (dryRun) {
        const runner = await runtime.createRunner(set, logger);
        const plan = await runner.dryRun(mode);
        return json(200, { set: set.name, dryRun: true, plan });
      }
      const accepted = await acceptRotationRequest(
        { container: runtime.container, journals: runtime.journals, now: () => runtime.clock.now() },
        { set: set.name, mode },
      );
      // The request is recorded already: the message only wakes a worker sooner than the timer.
      const message: RotationMessage = { set: set.name, mode, runId: accepted.runId, trigger: "http", requestId: accepted.request.requestId };
      context.extraOutputs.set(queueOutput, message);
      logger.child({ run: accepted.runId }).info(`accepted ${mode} request ${accepted.request.requestId}`);
      const url = statusUrl(runtime.publicBaseUrl, accepted.runId);
      return json(
        202,
        {
          runId: accepted.runId,
          requestId: accepted.request.requestId,
          status: accepted.status,
          statusUrl: url,
          ...(accepted.note ? { note: accepted.note } : {}),
        },
        { Location: url },
      );
    } catch (e) {
      const err = ensureRotatorError(e);
      if (err instanceof RunInProgressError) {
        return errorResponse(409, err.code, err.message, err.hint, { runId: err.runId, statusUrl: statusUrl(runtime.publicBaseUrl, err.runId) });
      }
      logger.error(`start rotation failed: ${err.code}: ${err.message}`);
      return fromRotatorError(err, errorCodeInfo(err.code).httpStatus);
    }
  };
}

/** GET /api/rotations/{runId} — the run's journal (never holds a secret). */
export function makeGetRotationHandler(getRuntime: RuntimeProvider) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const target = runRequest(request, { methods: ["GET"], body: "none" });
    if ("response" in target) return target.response;
    const { runId } = target;
    const runtime = await getRuntime();
    const run = await runtime.journals.findRun(runId);
    if (!run) return runNotFound(runId, "Use the runId returned by POST /api/rotations, or GET /api/status for recent runs.");
    return json(200, run);
  };
}

/** POST /api/rotations/{runId}/confirm — an operator confirms a manual gateway was updated. */
export function makeConfirmRotationHandler(getRuntime: RuntimeProvider, queueOutput: FunctionOutput) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const target = runRequest(request, { methods: ["POST"], body: "json" });
    if ("response" in target) return target.response;
    const { runId } = target;
    const body = await readBody(request, confirmBodySchema, CONFIRM_FIELDS);
    if (!body.ok) return body.response;
    const runtime = await getRuntime();
    try {
      const accepted = await acceptConfirmation(
        { container: runtime.container, journals: runtime.journals, now: () => runtime.clock.now() },
        { runId, confirmedBy: body.value.confirmedBy, ...(body.value.target !== undefined ? { target: body.value.target } : {}) },
      );
      const message: RotationMessage = {
        set: accepted.request.set,
        mode: accepted.request.mode,
        runId,
        trigger: "http",
        requestId: accepted.request.requestId,
      };
      context.extraOutputs.set(queueOutput, message);
      return json(202, { runId, requestId: accepted.request.requestId, status: "confirmed", statusUrl: statusUrl(runtime.publicBaseUrl, runId) });
    } catch (e) {
      const err = ensureRotatorError(e);
      if (err.code === "RUN_NOT_FOUND") return runNotFound(runId, err.hint);
      return fromRotatorError(err, errorCodeInfo(err.code).httpStatus);
    }
  };
}

/** A well-formed run ID that names no run (shown short, like every echoed input). */
function runNotFound(runId: string, hint: string): HttpResponseInit {
  return errorResponse(
    404,
    "RUN_NOT_FOUND",
    `runId ${shown(runId, 32)} names no rotation run — use the runId returned by POST /api/rotations or shown by GET /api/status`,
    hint,
    { field: "runId" },
  );
}

/** A request on /api/rotations/{runId}: the request rules first, then the run ID — or the answer that refuses it. */
function runRequest(request: HttpRequest, rules: Parameters<typeof requestProblem>[1]): { runId: string } | { response: HttpResponseInit } {
  const refused = requestProblem(request, rules);
  if (refused) return { response: refused };
  const runId = request.params["runId"] ?? "";
  const badId = runIdProblem(runId);
  return badId ? { response: badId } : { runId };
}

/** Run IDs are ours (timestamp + random); anything else is refused before a lookup, and shown only escaped and short. */
function runIdProblem(runId: string): HttpResponseInit | undefined {
  if (/^[0-9A-Za-z-]{8,64}$/.test(runId)) return undefined;
  return errorResponse(
    400,
    "INVALID_RUN_ID",
    `runId ${shown(runId, 24)} is not a run ID — use the runId returned by POST /api/rotations`,
    "Use the runId returned by POST /api/rotations (8–64 letters, digits and dashes).",
    { field: "runId" },
  );
}

export function statusUrl(base: string | undefined, runId: string): string {
  // Never hand out credentials embedded in the base URL (202 body, Location header, alerts).
  return `${withoutUserinfo(base ?? "").replace(/\/+$/, "")}/api/rotations/${runId}`;
}

export { RotatorError };

/**
 * The request's JSON body read against the endpoint's schema. A body that is not JSON, or does not
 * fit, is answered 400 with each field and its fix (`fields`: the endpoint's own, for unknown ones).
 */
async function readBody<T>(
  request: HttpRequest,
  schema: z.ZodType<T>,
  fields: readonly string[],
): Promise<{ ok: true; value: T } | { ok: false; response: HttpResponseInit }> {
  const body = await readJsonBody(request);
  if (!body.ok) return body;
  const parsed = schema.safeParse(body.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = describeZodIssues(parsed.error, fields);
  return {
    ok: false,
    response: errorResponse(
      400,
      "INVALID_BODY",
      issues.map((i) => `${i.field}: ${i.message}`).join("; "),
      "Fix the named field(s) and send the request again.",
      { field: issues[0]?.field, issues },
    ),
  };
}
