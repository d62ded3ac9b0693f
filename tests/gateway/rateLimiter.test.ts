import { describe, expect, it } from "vitest";
import { createRateLimiter } from "../../src/gateway/rateLimiter.js";

/** Client-side pacing, on a simulated time source (the limiter's waits are what is checked, not wall time). */
function simulatedTime() {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    // Records each wait without moving time, so concurrent waits are all measured from the same instant.
    sleep: async (ms: number) => void waits.push(ms),
    waits,
    advance: (ms: number) => void (now += ms),
  };
}

describe("client-side rate limiter", () => {
  it("spaces concurrent callers 1/rate apart, first come first served", async () => {
    const t = simulatedTime();
    const limiter = createRateLimiter({ requestsPerSecond: 4, now: t.now, sleep: t.sleep });
    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    expect(t.waits).toEqual([250, 500, 750]);
  });

  it("does not make a caller wait after an idle period", async () => {
    const t = simulatedTime();
    const limiter = createRateLimiter({ requestsPerSecond: 2, now: t.now, sleep: t.sleep });
    await limiter.acquire();
    t.advance(5_000);
    await limiter.acquire();
    expect(t.waits).toEqual([]);
  });

  it("honours fractional rates such as one call every two seconds", async () => {
    const t = simulatedTime();
    const limiter = createRateLimiter({ requestsPerSecond: 0.5, now: t.now, sleep: t.sleep });
    await limiter.acquire();
    await limiter.acquire();
    expect(t.waits).toEqual([2_000]);
  });

  it("refuses a rate of zero and rejects at once when already aborted", async () => {
    expect(() => createRateLimiter({ requestsPerSecond: 0 })).toThrow(RangeError);
    const limiter = createRateLimiter({ requestsPerSecond: 1 });
    await expect(limiter.acquire(AbortSignal.abort(new Error("stop")))).rejects.toThrow("stop");
  });
});
