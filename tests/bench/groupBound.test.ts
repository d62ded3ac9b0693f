import { describe, expect, it } from "vitest";
import type { LoggedRequest } from "../../emulators/common/server.js";
import { groupFigures, type GroupSpec } from "../../bench/groupBound.js";

/** The mixed bench's bound of one group: a lower bound on its time from its emulator's limits, judged from the emulator's log. */
const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const call = (ms: number, method: string, path: string, status: LoggedRequest["status"] = 200): LoggedRequest => ({
  at: new Date(T0 + ms).toISOString(),
  method,
  path,
  status,
});
const spec = (o: Partial<GroupSpec> = {}): GroupSpec => ({
  kind: "k",
  targets: 4,
  latencyMs: 10,
  maxConcurrency: 2,
  waitMsPerTarget: 0,
  buckets: [{ name: "all", capacity: 2, refillPerSecond: 2, charges: () => true }],
  isListing: (c) => c.path === "/list",
  ...o,
});

describe("groupFigures", () => {
  it("counts accepted calls only (a 429 is waste), splits listing from per-target calls, and bounds by the calls beyond the bucket's tokens at the refill rate", () => {
    const log = [
      call(1_000, "GET", "/list"),
      ...[1, 2, 3, 4].flatMap((i) => [call(1_000 + i * 500, "PUT", `/t/${i}`), call(1_000 + i * 500 + 1, "GET", `/t/${i}`)]),
    ];
    log.push(call(1_100, "PUT", "/t/1", 429));
    const f = groupFigures(spec(), log, { fullAtMs: T0, startMs: T0 + 900, endMs: T0 + 4_000 });
    expect(f).toMatchObject({ calls: 9, listingCalls: 1, callsPerTarget: 2, throttled: 1 });
    // Full at T0 and untouched before the start: 2 tokens, then 7 more calls at 2/s.
    expect(f.buckets[0]!.tokensAtStart).toBe(2);
    expect(f.rateBoundMs).toBe(3_500);
    expect(f.bindsBy).toBe("rate");
    expect(f.measuredMs).toBe(2_101);
    expect(f.ratio).toBe(1.67);
  });

  it("replays what the pass spent before the groups started (the plan's listing): the bucket holds fewer tokens then, and the bound grows", () => {
    const log = [call(0, "GET", "/list"), call(1, "GET", "/list"), call(100, "GET", "/list"), call(200, "PUT", "/t/1")];
    const f = groupFigures(spec({ targets: 1 }), log, { fullAtMs: T0, startMs: T0 + 100, endMs: T0 + 300 });
    expect(f.buckets[0]!.tokensAtStart).toBeCloseTo(0.2, 5);
    expect(f.rateBoundMs).toBe(900);
  });

  it("a latency bound: one listing round trip, the canary's chain alone, then waves of the concurrency, each chain with the waits no rate shortens", () => {
    const log = [call(10, "GET", "/list"), ...[1, 2, 3, 4, 5].map((i) => call(20 + i, "POST", `/t/${i}`))];
    const f = groupFigures(
      spec({ targets: 5, waitMsPerTarget: 2_000, buckets: [{ name: "all", capacity: 100, refillPerSecond: 100, charges: () => true }] }),
      log,
      { fullAtMs: T0, startMs: T0, endMs: T0 + 100 },
    );
    // 1 call per target: chain 10 + 2,000 ms; canary + ⌈4 ÷ 2⌉ waves = 3 chains, after 10 ms of listing.
    expect(f.latencyBoundMs).toBe(10 + 3 * 2_010);
    expect(f.bindsBy).toBe("latency");
    expect(f.boundMs).toBe(f.latencyBoundMs);
  });
});
