import { describe, expect, it } from "vitest";
import { createRateLimiter } from "../../src/gateway/rateLimiter.js";

/**
 * Client-side pacing on a simulated clock: `sleep` moves time forward, and every release time is
 * recorded, so spacing is checked exactly (the gateway-side view is in propagateScale.test.ts).
 */
function simulatedTime() {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      // Callers released before this wait record their time first (microtasks run before setImmediate).
      await new Promise((r) => setImmediate(r));
      now += ms;
    },
    waits,
    advance: (ms: number) => void (now += ms),
  };
}

async function releases(limiter: ReturnType<typeof createRateLimiter>, n: number, now: () => number): Promise<number[]> {
  const at: number[] = [];
  await Promise.all(Array.from({ length: n }, () => limiter.acquire().then(() => void at.push(now()))));
  return at;
}

describe("client-side rate limiter", () => {
  it("spaces concurrent callers 1/rate apart, first come first served", async () => {
    const t = simulatedTime();
    const limiter = createRateLimiter({ requestsPerSecond: 4, now: t.now, sleep: t.sleep });
    const at = await releases(limiter, 5, t.now);
    // The first release after idle may catch up half a step; from then on exactly 1/rate apart.
    expect(at).toEqual([0, 125, 375, 625, 875]);
  });

  it("never lets more than rate + 1 calls through in any one-second window", async () => {
    const t = simulatedTime();
    const limiter = createRateLimiter({ requestsPerSecond: 10, now: t.now, sleep: t.sleep });
    const at = await releases(limiter, 50, t.now);
    for (let i = 0; i < at.length; i++) expect(at.filter((x) => x >= at[i]! && x < at[i]! + 1000).length).toBeLessThanOrEqual(10 + 1);
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
    const at = await releases(limiter, 3, t.now);
    expect(at[2]! - at[1]!).toBe(2_000);
  });

  it("on a 429 halves the rate and holds every caller until Retry-After has passed", async () => {
    const t = simulatedTime();
    const limiter = createRateLimiter({ requestsPerSecond: 10, now: t.now, sleep: t.sleep });
    await limiter.acquire();
    limiter.onThrottled!(2_000);
    expect(limiter.stats!().requestsPerSecond).toBe(5);
    const at = await releases(limiter, 3, t.now);
    expect(at[0]).toBeGreaterThanOrEqual(2_000);
    expect(at[2]! - at[1]!).toBe(200); // 5 per second now
    expect(limiter.stats!().throttled).toBe(1);
  });

  it("speeds back up to the ceiling once the gateway accepts again, and never above it", () => {
    const t = simulatedTime();
    const limiter = createRateLimiter({ requestsPerSecond: 100, recoverySeconds: 2, now: t.now, sleep: t.sleep });
    limiter.onThrottled!(1_000);
    limiter.onThrottled!(1_000);
    expect(limiter.stats!().requestsPerSecond).toBe(25);
    let accepted = 0;
    while (limiter.stats!().requestsPerSecond < 100 && accepted < 10_000) {
      limiter.onAccepted!();
      accepted++;
    }
    expect(limiter.stats!().requestsPerSecond).toBe(100);
    // About recoverySeconds × the average rate of accepted calls: additive, not instant.
    expect(accepted).toBeGreaterThan(20);
    expect(accepted).toBeLessThan(400);
    for (let i = 0; i < 100; i++) limiter.onAccepted!();
    expect(limiter.stats!().requestsPerSecond).toBe(100);
  });

  it("never falls below its floor however many 429s arrive", () => {
    const limiter = createRateLimiter({ requestsPerSecond: 64, minRequestsPerSecond: 2 });
    for (let i = 0; i < 50; i++) limiter.onThrottled!(0);
    expect(limiter.stats!().requestsPerSecond).toBe(2);
  });

  it("refuses a rate of zero and rejects at once when already aborted, or when aborted while queued", async () => {
    expect(() => createRateLimiter({ requestsPerSecond: 0 })).toThrow(RangeError);
    const limiter = createRateLimiter({ requestsPerSecond: 1 });
    await expect(limiter.acquire(AbortSignal.abort(new Error("stop")))).rejects.toThrow("stop");
    await limiter.acquire();
    await limiter.acquire();
    const ac = new AbortController();
    const queued = limiter.acquire(ac.signal);
    ac.abort(new Error("cancelled"));
    await expect(queued).rejects.toThrow("cancelled");
  });
});
