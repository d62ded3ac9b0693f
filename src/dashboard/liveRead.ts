import { RotatorError, ensureRotatorError, type ErrorSummary } from "../errors.js";

/**
 * The live reads behind `status`, `GET /api/status` and the status page, each bounded by one
 * per-dependency deadline. A dependency that cannot be read within it is named, never hidden
 * behind a verdict built from Storage alone: Key Vault answering 503, refusing connections or
 * hanging all end the same way, within the same bound.
 */

/**
 * How long each dependency (Key Vault, Microsoft Graph) may take to answer a status read. Five
 * seconds: a healthy Key Vault or Graph read answers in well under a second, the SDKs' own retries
 * of a 503 take ~9 s and a hang ~30 s (issue 25), and on-call must not wait that long to learn that
 * a dependency is down. The dependencies are read in parallel, so a status waits at most about this
 * long for them, whatever fails.
 */
export const LIVE_READ_DEADLINE_MS = 5_000;

export type Dependency = "Key Vault" | "Microsoft Graph";

/** A dependency status could not read: which one, and the error it gave (or the deadline). */
export interface DependencyFailure extends ErrorSummary {
  dependency: Dependency;
}

/**
 * Resolves with `read`, or rejects with DEPENDENCY_UNAVAILABLE once `signal` aborts — also when
 * the read itself ignores the signal (the SDK client setup reads the gateway token without one).
 */
export async function readWithin<T>(dependency: Dependency, read: Promise<T>, signal: AbortSignal, deadlineMs: number): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(timedOut(dependency, deadlineMs));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  // The losing read may still reject later; that is already accounted for.
  read.catch(() => undefined);
  try {
    return await Promise.race([read, aborted]);
  } catch (e) {
    throw signal.aborted ? timedOut(dependency, deadlineMs) : e;
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

export function dependencyFailure(dependency: Dependency, e: unknown): DependencyFailure {
  return { dependency, ...ensureRotatorError(e).toJSON() };
}

function timedOut(dependency: Dependency, deadlineMs: number): RotatorError {
  return new RotatorError("DEPENDENCY_UNAVAILABLE", `${dependency} did not answer within ${Math.round(deadlineMs / 1000)} s`, {
    hint: `Check that ${dependency} is reachable from here (network, firewall, service health); status cannot vouch for this set until it answers.`,
    retryable: true,
  });
}
