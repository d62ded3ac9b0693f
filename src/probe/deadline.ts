import { RotatorError, ensureRotatorError } from "../errors.js";

/**
 * Runs `work` with its own deadline, combined with the caller's signal. The result settles when
 * the deadline passes even if the dependency ignores the signal (an SDK that does not honour
 * abortSignal, a socket that never answers): a hanging dependency costs its own check, never the
 * probe.
 */
export function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, options: { timeoutInMs: number; parent?: AbortSignal; what: string }): Promise<T> {
  const timeout = AbortSignal.timeout(Math.max(1, options.timeoutInMs));
  const signal = options.parent ? AbortSignal.any([timeout, options.parent]) : timeout;
  const reason = (): RotatorError =>
    timeout.aborted
      ? new RotatorError("TIMEOUT", `${options.what} did not finish within ${options.timeoutInMs} ms`, {
          hint: "The dependency did not answer in time; check its health and the network path. The next probe retries.",
          retryable: true,
        })
      : new RotatorError("ABORTED", `${options.what} was cancelled`, {
          hint: "The probe was cancelled (function timeout or shutdown); the next probe runs it again.",
          retryable: true,
        });
  if (signal.aborted) return Promise.reject(reason());

  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(reason());
    signal.addEventListener("abort", onAbort, { once: true });
  });
  let running: Promise<T>;
  try {
    running = work(signal);
  } catch (e) {
    running = Promise.reject(ensureRotatorError(e));
  }
  // Whichever loses the race must not surface later as an unhandled rejection.
  running.catch(() => undefined);
  aborted.catch(() => undefined);
  return Promise.race([running, aborted]).finally(() => {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  });
}

/** A read that already happened, successfully or not; checks decide whether they can do without it. */
export type Read<T> = { ok: true; value: T } | { ok: false; error: RotatorError };

export async function settle<T>(p: Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, error: ensureRotatorError(e) };
  }
}

/** The short code a CheckResult carries when it could not run. */
export function resultCode(err: RotatorError): string {
  return err.code === "HTTP_TIMEOUT" ? "TIMEOUT" : err.code;
}
