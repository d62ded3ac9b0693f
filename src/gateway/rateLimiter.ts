import { abortableDelay } from "../clock.js";

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

export interface RateLimiterStats {
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
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? abortableDelay;
  let rate = max;
  let nextSlot = Number.NEGATIVE_INFINITY;
  let pausedUntil = Number.NEGATIVE_INFINITY;
  /** Bumped on every 429, so a caller that slept through one takes a new slot after the pause. */
  let throttleEpoch = 0;
  let throttled = 0;

  return {
    async acquire(abortSignal) {
      for (;;) {
        abortSignal?.throwIfAborted();
        const epoch = throttleEpoch;
        const t = now();
        const slot = Math.max(t, nextSlot, pausedUntil);
        nextSlot = slot + 1000 / rate;
        if (slot > t) await sleep(slot - t, abortSignal);
        // A 429 arrived while this caller waited for a slot granted at the old pace: queue again.
        if (epoch === throttleEpoch || pausedUntil <= now()) return;
      }
    },
    onThrottled(retryAfterMs) {
      throttled++;
      throttleEpoch++;
      rate = Math.max(min, rate / 2);
      const t = now();
      pausedUntil = Math.max(pausedUntil, t + Math.max(retryAfterMs ?? 0, 1000 / rate));
      // Slots granted at the old pace are void: the next caller starts after the pause.
      nextSlot = pausedUntil;
    },
    onAccepted() {
      if (rate >= max) return;
      // Additive increase: about (max − min) / recoverySeconds per second of accepted calls.
      rate = Math.min(max, rate + (max - min) / (recoverySeconds * rate));
    },
    stats: () => ({ requestsPerSecond: rate, maxRequestsPerSecond: max, throttled }),
  };
}
