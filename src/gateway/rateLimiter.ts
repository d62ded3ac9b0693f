import { abortableDelay } from "../clock.js";
import { abortReason } from "../errors.js";

/**
 * Client-side pacing of gateway calls, so a rotation over thousands of MCP servers runs at the
 * gateway's limit instead of living on 429s. One limiter per gateway, shared by every call of a
 * pass (listing, updates, read-backs, test connections, the drift probe): they all spend the
 * same budget.
 *
 * Calls are spaced evenly, 1 / rate seconds apart, first come first served, and the rate never
 * exceeds `requestsPerSecond`. It adapts (AIMD): a 429 halves the rate and holds every caller
 * until Retry-After has passed; each accepted call raises it again by a small step, so the
 * limiter is back at full speed within about `recoverySeconds` of accepted traffic.
 */
export interface RateLimiter {
  /** Resolves when the caller may send one request. */
  acquire(abortSignal?: AbortSignal): Promise<void>;
  /** The gateway answered 429: slow down, and send nothing before `retryAfterMs` has passed. */
  onThrottled?(retryAfterMs?: number): void;
  /** The gateway accepted a call (any answer but 429): speed back up. */
  onAccepted?(): void;
  /** Current rate and how often the gateway throttled, for logs and benchmarks. */
  stats?(): RateLimiterStats;
}

interface RateLimiterStats {
  requestsPerSecond: number;
  maxRequestsPerSecond: number;
  throttled: number;
}

export interface RateLimiterOptions {
  /** The ceiling: the limiter never paces faster than this. */
  requestsPerSecond: number;
  /** The floor the rate may fall to after repeated 429s (default: ceiling ÷ 32). */
  minRequestsPerSecond?: number;
  /** Roughly how many seconds of accepted traffic bring a halved rate back to the ceiling (default 3). */
  recoverySeconds?: number;
  /**
   * The longest pause one 429 may impose (default 60 s, the HTTP layer's longest Retry-After wait).
   * A gateway answering `Retry-After: <a year>` must not hold every later call of the set for a year:
   * the throttled call fails (retryable) instead, and the next pass tries again.
   */
  maxPauseMs?: number;
  /** Injected by tests; defaults to wall-clock time. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  if (!(options.requestsPerSecond > 0)) throw new RangeError("requestsPerSecond must be above 0");
  const max = options.requestsPerSecond;
  const min = Math.min(max, options.minRequestsPerSecond ?? max / 32);
  if (!(min > 0)) throw new RangeError("minRequestsPerSecond must be above 0");
  const recoverySeconds = options.recoverySeconds ?? 3;
  const maxPauseMs = options.maxPauseMs ?? 60_000;
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? abortableDelay;
  let rate = max;
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let throttled = 0;
  /**
   * The grid point the last caller was released on. Callers are released one at a time by a single
   * pump, each on the next grid point after the previous one, so a late timer never releases a
   * bunch at once; a late release catches up by at most half a step, so no window of 1 / rate × k
   * seconds ever holds more than k + 1 releases.
   */
  let lastRelease = Number.NEGATIVE_INFINITY;
  const queue: { resolve: () => void; reject: (e: unknown) => void; signal: AbortSignal | undefined; onAbort?: () => void }[] = [];
  let pumping = false;

  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length > 0) {
        const interval = 1000 / rate;
        const at = Math.max(lastRelease + interval, pausedUntil);
        const wait = at - now();
        if (wait > 0) {
          // Rate and pause may change while we wait (a 429); the loop looks again after waking.
          await sleep(wait);
          continue;
        }
        const w = queue.shift()!;
        if (w.onAbort) w.signal?.removeEventListener("abort", w.onAbort);
        lastRelease = Math.max(at, now() - interval / 2);
        w.resolve();
      }
    } finally {
      pumping = false;
    }
  };

  return {
    acquire(abortSignal) {
      if (abortSignal?.aborted) return Promise.reject(abortReason(abortSignal));
      return new Promise<void>((resolve, reject) => {
        const waiter: (typeof queue)[number] = { resolve, reject, signal: abortSignal };
        if (abortSignal) {
          waiter.onAbort = () => {
            const i = queue.indexOf(waiter);
            if (i >= 0) queue.splice(i, 1);
            reject(abortReason(abortSignal));
          };
          abortSignal.addEventListener("abort", waiter.onAbort, { once: true });
        }
        queue.push(waiter);
        void pump();
      });
    },
    onThrottled(retryAfterMs) {
      throttled++;
      rate = Math.max(min, rate / 2);
      const asked = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? retryAfterMs : 0;
      pausedUntil = Math.max(pausedUntil, now() + Math.min(maxPauseMs, Math.max(asked, 1000 / rate)));
    },
    onAccepted() {
      if (rate >= max) return;
      // Additive increase: about (max − min) / recoverySeconds per second of accepted calls.
      rate = Math.min(max, rate + (max - min) / (recoverySeconds * rate));
    },
    stats: () => ({ requestsPerSecond: rate, maxRequestsPerSecond: max, throttled }),
  };
}
