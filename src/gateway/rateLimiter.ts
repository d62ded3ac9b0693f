import { abortableDelay } from "../clock.js";

/**
 * Client-side pacing of gateway calls, so a rotation over hundreds of MCP servers stays under
 * the gateway's limit instead of living on 429s. Calls are spaced evenly (1 / rate seconds
 * apart, first-come first-served); HttpClient's own retries after a 429 wait out Retry-After
 * instead and are not paced again.
 */
export interface RateLimiter {
  /** Resolves when the caller may send one request. */
  acquire(abortSignal?: AbortSignal): Promise<void>;
}

export interface RateLimiterOptions {
  requestsPerSecond: number;
  /** Injected by tests; defaults to wall-clock time. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  if (!(options.requestsPerSecond > 0)) throw new RangeError("requestsPerSecond must be above 0");
  const intervalMs = 1000 / options.requestsPerSecond;
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? abortableDelay;
  let nextSlot = Number.NEGATIVE_INFINITY;
  return {
    async acquire(abortSignal) {
      abortSignal?.throwIfAborted();
      const t = now();
      const slot = Math.max(t, nextSlot);
      nextSlot = slot + intervalMs;
      if (slot > t) await sleep(slot - t, abortSignal);
    },
  };
}

