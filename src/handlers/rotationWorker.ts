import type { FunctionOutput, InvocationContext, Timer } from "@azure/functions";
import { ensureRotatorError, RotatorError } from "../errors.js";
import { RequestStore } from "../rotation/requests.js";
import type { Runtime, RuntimeProvider } from "../runtime/types.js";
import { messageKey, newTickKey, rotationMessageSchema, type RotationMessage } from "./rotationMessage.js";
import { contextLogger, type Logger } from "../logging.js";
import { ProcessedMessages } from "../storage/processedMessages.js";
import type { CredentialSet } from "../config/schema.js";
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
      await runtime.onWorkerIncident?.(
        { set: "(unknown)", code: "QUEUE_MESSAGE_INVALID", message, hint: "Only the rotation timer and POST /api/rotations should write to this queue." },
        base,
      );
      return undefined;
    }
    const msg: RotationMessage = parsed.data;
    const logger = base.child({ set: msg.set, run: msg.runId });
    const set = runtime.sets.find((s) => s.name === msg.set);
    if (!set) {
      logger.error(`rotation message names unknown set ${msg.set}; discarded`);
      await runtime.onWorkerIncident?.(
        {
          set: msg.set,
          runId: msg.runId,
          code: "SET_NOT_FOUND",
          message: `No credential set named ${msg.set}`,
          hint: "The set was removed from configuration; nothing to do.",
        },
        logger,
      );
      return undefined;
    }
    const dequeueCount = Number(context.triggerMetadata?.["dequeueCount"] ?? 1);
    const key = messageKey(msg);
    if (key === undefined || (msg.mode !== "scheduled" && !msg.requestId)) {
      // Without a key a replay cannot be told from a new message, and force/emergency come only
      // from a recorded request (POST /api/rotations): refuse rather than rotate again (defect 3).
      const why = key === undefined ? "carries no idempotency key (requestId or key)" : `asks for ${msg.mode} without a recorded request (requestId)`;
      logger.error(`discarding rotation message: it ${why}`);
      await runtime.onWorkerIncident?.(
        {
          set: set.name,
          runId: msg.runId,
          code: "QUEUE_MESSAGE_INVALID",
          message: `rotation message ${why}`,
          hint: "Only the rotation timer, the Key Vault event handler and POST /api/rotations should write to this queue; start a rotation through the API or the CLI.",
        },
        logger,
      );
      return undefined;
    }
    if (msg.requestId) {
      // A redelivered message whose request a pass already applied has nothing left to do.
      const request = await new RequestStore(runtime.container).get(set.name, msg.requestId);
      if (!request || request.mode !== msg.mode) {
        logger.error(
          `discarding rotation message: request ${msg.requestId} ${request ? `was recorded as ${request.mode}, not ${msg.mode}` : "was never recorded"}`,
        );
        return undefined;
      }
      if (request.status === "applied") {
        logger.info(`request ${request.requestId} was applied to run ${request.appliedToRunId}; nothing left to do`);
        return undefined;
      }
    }
    const processed = new ProcessedMessages(runtime.container);
    if (!(await processed.claim(set.name, key, dequeueCount, runtime.clock.now()))) {
      logger.warn(`rotation message ${key} was already processed (a replay); nothing to do`);
      return undefined;
    }
    const result = await passFor(msg, set, logger, dequeueCount, runtime).catch(async (e: unknown) => {
      // The queue delivers it again: that delivery must be free to act.
      await processed.release(set.name, key).catch(() => undefined);
      throw e;
    });
    await processed.finish(set.name, key, dequeueCount, runtime.clock.now());
    return result;
  };
}

/** One pass for a message already checked and claimed; throws only what the queue should retry. */
async function passFor(msg: RotationMessage, set: CredentialSet, logger: Logger, dequeueCount: number, runtime: Runtime): Promise<PassResult | undefined> {
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
        logger.info(
          request
            ? `another pass holds the lease; request ${request.requestId} was applied to run ${request.appliedToRunId}`
            : "another pass holds the lease; it will carry the run forward",
        );
        return undefined;
      }
      if (dequeueCount >= runtime.maxDequeueCount) {
        logger.warn(`request ${request.requestId} still pending after ${dequeueCount} deliveries; it stays recorded and the next pass applies it`);
        await runtime.onWorkerIncident?.(
          {
            set: set.name,
            runId: msg.runId,
            code: "REQUEST_DEFERRED",
            message: `request ${request.requestId} (${request.mode}) waited ${dequeueCount} deliveries for the lease`,
            hint: "It is recorded and the next rotation pass applies it; GET /api/rotations/{runId} shows when. Check for a pass that holds the lease for long (GET /api/status).",
          },
          logger,
        );
        return undefined;
      }
      throw new RotatorError("REQUEST_DEFERRED", `request ${request.requestId} waits: another pass holds the lease of set ${set.name}`, {
        hint: "Nothing to do: the queue delivers the message again, and the pass holding the lease applies the request before it finishes.",
        retryable: true,
      });
    }
    logger.error(`rotation pass failed (delivery ${dequeueCount}/${runtime.maxDequeueCount}): ${err.code}: ${err.message}`);
    if (dequeueCount >= runtime.maxDequeueCount) {
      await runtime.onWorkerIncident?.(
        { set: set.name, runId: msg.runId, code: err.code, message: `rotation failed ${dequeueCount} times: ${err.message}`, hint: err.hint },
        logger,
      );
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
}

/** Rotation timer: one queue message per credential set; the worker does the rest. */
export function makeRotationTimerHandler(getRuntime: () => Promise<BuiltRuntime>, queueOutput: FunctionOutput) {
  return async (_timer: Timer, context: InvocationContext): Promise<RotationMessage[]> => {
    const runtime = await getRuntime();
    const messages: RotationMessage[] = runtime.sets.map((s) => ({ set: s.name, mode: "scheduled", trigger: "timer", key: newTickKey(runtime.clock.now()) }));
    context.extraOutputs.set(queueOutput, messages);
    const logger = contextLogger(context, runtime.redactor);
    logger.info(`queued scheduled rotation checks for ${messages.length} set(s): ${messages.map((m) => m.set).join(", ")}`);
    // Liveness: the health timer raises a critical incident when this record stops moving.
    await recordTimerPass(runtime, "rotationTimer", logger);
    return messages;
  };
}
