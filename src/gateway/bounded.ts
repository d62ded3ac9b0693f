import { RotatorError } from "../errors.js";

/**
 * Runs `fn` over `items` with at most `limit` in flight, results in input order. Stops taking new
 * items on abort or when `onDone` throws, waits for those in flight, then rethrows (an abort as
 * ABORTED with the `cancelled` message).
 */
export async function runBounded<T extends { id: string }, R>(
  items: T[],
  limit: number,
  signal: AbortSignal | undefined,
  fn: (item: T) => Promise<R>,
  onDone?: (id: string, result: R) => void | Promise<void>,
  cancelled = "Gateway propagation was cancelled before every target was settled",
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      if (signal?.aborted) {
        failure ??= { error: abortError(signal, cancelled) };
        return;
      }
      const i = next++;
      const item = items[i]!;
      try {
        results[i] = await fn(item);
        await onDone?.(item.id, results[i]);
      } catch (e) {
        failure ??= { error: signal?.aborted ? abortError(signal, cancelled) : e };
      }
    }
  };
  const n = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure) throw failure.error;
  return results;
}

function abortError(signal: AbortSignal, message: string): RotatorError {
  return new RotatorError("ABORTED", message, {
    hint: "The operation was cancelled (function timeout or shutdown); the next run resumes it.",
    retryable: true,
    cause: signal.reason,
  });
}
