import type { FunctionOutput, InvocationContext, Timer } from "@azure/functions";
import { ensureRotatorError, RotatorError } from "../errors.js";
import { RequestStore } from "../rotation/requests.js";
import type { RuntimeProvider } from "../runtime/types.js";
import { rotationMessageSchema, type RotationMessage } from "./rotationMessage.js";
import { contextLogger } from "../logging.js";
import type { PassResult } from "../rotation/model.js";
import type { BuiltRuntime } from "../runtime/createRuntime.js";
import { recordTimerPass } from "./health.js";
import { triggerPayload } from "./triggerPayload.js";

/**
 * Queue worker: one rotation pass per message. Transient failures are rethrown so the queue
 * retries with back-off; on the last allowed delivery the failure becomes an incident instead of a
 * poison message looping silently.
 */
export function makeRotationWorkerHandler(getRuntime: RuntimeProvider) {
  return async (queueItem: unknown, context: InvocationContext): Promise<PassResult | undefined> => {
    const runtime = await getRuntime();
    const base = contextLogger(context, runtime.redactor);
    const parsed = rotationMessageSchema.safeParse(triggerPayload(queueItem));
    if (!parsed.success) {
      // A malformed message can never succeed: report it once instead of retrying it.
      const message = parsed.error.issues.map((i) => `${i.path.join(".") || "(message)"}: ${i.message}`).join("; ");
      base.error(`discarding malformed rotation message: ${message}`);
      await runtime.onWorkerIncident?.({ set: "(unknown)", code: "QUEUE_MESSAGE_INVALID", message, hint: "Only the rotation timer and POST /api/rotations should write to this queue." }, base);
      return undefined;
    }
    const msg: RotationMessage = parsed.data;
    const logger = base.child({ set: msg.set, run: msg.runId });
    const set = runtime.sets.find((s) => s.name === msg.set);
    if (!set) {
      logger.error(`rotation message names unknown set ${msg.set}; discarded`);
      await runtime.onWorkerIncident?.({ set: msg.set, runId: msg.runId, code: "SET_NOT_FOUND", message: `No credential set named ${msg.set}`, hint: "The set was removed from configuration; nothing to do." }, logger);
      return undefined;
    }
    const dequeueCount = Number(context.triggerMetadata?.["dequeueCount"] ?? 1);
    if (msg.requestId) {
      // A redelivered message whose request a pass already applied has nothing left to do.
      const request = await new RequestStore(runtime.container).get(set.name, msg.requestId);
      if (request?.status === "applied") {
        logger.info(`request ${request.requestId} was applied to run ${request.appliedToRunId}; nothing left to do`);
        return undefined;
      }
    }
    try {
      const runner = await runtime.createRunner(set, logger);
      const result = await runner.runPass({ mode: msg.mode, trigger: msg.trigger, runId: msg.runId });
      logger.info(`pass finished: ${result.status}`);
      return result;
    } catch (e) {
      const err = ensureRotatorError(e);
      if (err.code === "ROTATION_IN_PROGRESS") {
        // The pass holding the lease acts on every recorded request before it lets go. Until a
        // pass has, this message is not done: fail it so the queue delivers it again (I7).
        const request = msg.requestId ? await new RequestStore(runtime.container).get(set.name, msg.requestId) : undefined;
        if (request?.status !== "pending") {
          logger.info(request ? `another pass holds the lease; request ${request.requestId} was applied to run ${request.appliedToRunId}` : "another pass holds the lease; it will carry the run forward");
          return undefined;
        }
        if (dequeueCount >= runtime.maxDequeueCount) {
          logger.warn(`request ${request.requestId} still pending after ${dequeueCount} deliveries; it stays recorded and the next pass applies it`);
          await runtime.onWorkerIncident?.({ set: set.name, runId: msg.runId, code: "REQUEST_DEFERRED", message: `request ${request.requestId} (${request.mode}) waited ${dequeueCount} deliveries for the lease`, hint: "It is recorded and the next rotation pass applies it; GET /api/rotations/{runId} shows when. Check for a pass that holds the lease for long (GET /api/status)." }, logger);
          return undefined;
        }
        throw new RotatorError("REQUEST_DEFERRED", `request ${request.requestId} waits: another pass holds the lease of set ${set.name}`, {
          hint: "Nothing to do: the queue delivers the message again, and the pass holding the lease applies the request before it finishes.",
          retryable: true,
        });
      }
      logger.error(`rotation pass failed (delivery ${dequeueCount}/${runtime.maxDequeueCount}): ${err.code}: ${err.message}`);
      if (dequeueCount >= runtime.maxDequeueCount) {
        await runtime.onWorkerIncident?.({ set: set.name, runId: msg.runId, code: err.code, message: `rotation failed ${dequeueCount} times: ${err.message}`, hint: err.hint }, logger);
        return undefined;
      }
      // The host logs what we throw, past our logger: hand it a redacted copy without the cause chain.
      throw new RotatorError(err.code, runtime.redactor.redact(err.message), {
        hint: runtime.redactor.redact(err.hint),
        retryable: err.retryable,
        status: err.status,
        aadsts: err.aadsts,
        upstreamCode: err.upstreamCode,
      });
    }
  };
}

/** Rotation timer: one queue message per credential set; the worker does the rest. */
export function makeRotationTimerHandler(getRuntime: () => Promise<BuiltRuntime>, queueOutput: FunctionOutput) {
  return async (_timer: Timer, context: InvocationContext): Promise<RotationMessage[]> => {
    const runtime = await getRuntime();
    const messages: RotationMessage[] = runtime.sets.map((s) => ({ set: s.name, mode: "scheduled", trigger: "timer" }));
    context.extraOutputs.set(queueOutput, messages);
    const logger = contextLogger(context, runtime.redactor);
    logger.info(`queued scheduled rotation checks for ${messages.length} set(s): ${messages.map((m) => m.set).join(", ")}`);
    // Liveness: the health timer raises a critical incident when this record stops moving.
    await recordTimerPass(runtime, "rotationTimer", logger);
    return messages;
  };
}
