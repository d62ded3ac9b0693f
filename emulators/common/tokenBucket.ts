/**
 * A token-bucket throttle, shared by the emulators that rate-limit (the gateway per API token, a
 * Kong API with `setRateLimit`). A request takes one token; an empty bucket answers 429 with
 * Retry-After in whole seconds (at least 1, as HTTP requires).
 */
export interface RateLimitOptions {
  capacity: number;
  refillPerSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!(options.capacity >= 1)) throw new RangeError("rateLimit.capacity must be at least 1");
    if (!(options.refillPerSecond > 0)) throw new RangeError("rateLimit.refillPerSecond must be above 0");
    this.tokens = options.capacity;
    this.last = this.nowMs();
  }

  /** Takes a token, or says how long until one is available. */
  take(): { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number } {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, remaining: Math.floor(this.tokens) };
    }
    const waitSeconds = (1 - this.tokens) / this.options.refillPerSecond;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) };
  }

  get capacity(): number {
    return this.options.capacity;
  }

  private refill(): void {
    const now = this.nowMs();
    this.tokens = Math.min(this.options.capacity, this.tokens + ((now - this.last) / 1000) * this.options.refillPerSecond);
    this.last = now;
  }
}
