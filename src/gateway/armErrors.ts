import { RotatorError, ensureRotatorError } from "../errors.js";
import { GatewayErrorCode } from "./errors.js";

/**
 * An ARM error (src/arm) as the engine reads target errors: a 404 on a target is the target gone,
 * a 412 is a stale ETag the propagation re-reads for, 429 is throttling. Everything else keeps its
 * ARM_* code, hint and retryability.
 */
export function mapArmTargetError(err: unknown, ctx: { targetId?: string; what: string }): RotatorError {
  const e = ensureRotatorError(err);
  const base = { ...(e.status !== undefined ? { status: e.status } : {}), ...(e.upstreamCode ? { upstreamCode: e.upstreamCode } : {}), cause: e };
  if (e.code === "ARM_NOT_FOUND" && ctx.targetId !== undefined) {
    return new RotatorError(GatewayErrorCode.TargetNotFound, `${ctx.what}: ${ctx.targetId} does not exist (${e.message})`, {
      ...base,
      hint: "It was deleted since it was listed; the next run rediscovers targets.",
    });
  }
  if (e.code === "ARM_PRECONDITION_FAILED") {
    return new RotatorError(GatewayErrorCode.PreconditionFailed, `${ctx.what}: it changed since it was read (${e.message})`, {
      ...base,
      retryable: true,
      hint: "Someone edited it while the rotation ran; it is read again and retried with the fresh ETag.",
    });
  }
  if (e.code === "ARM_THROTTLED") return new RotatorError(GatewayErrorCode.Throttled, `${ctx.what}: ${e.message}`, { ...base, retryable: true, hint: e.hint });
  return e;
}
