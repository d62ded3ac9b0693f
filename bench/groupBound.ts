import type { LoggedRequest } from "../emulators/common/server.js";

/**
 * One target group's figures in a pass, judged from what its emulator saw (its request log), never
 * from the engine's own bookkeeping: how many calls it needed, how many the emulator refused (429),
 * and how long it took against the least time its emulator's limits allow.
 *
 * The bound is a lower bound on the group's time, the larger of two:
 * - rate: for each token bucket the group spends, the calls it needed of that class beyond the
 *   tokens the bucket held when the groups started, at the bucket's refill rate. Only accepted calls
 *   count (a 429 is waste, not need). The bucket is full when the pass starts (the bench lets it
 *   fill); what the pass's own earlier steps (the plan's listing) spent of it is replayed from the log.
 * - latency: one round trip for discovery, then the canary's chain of calls alone (it goes first),
 *   then the other targets in waves of the group's concurrency, each a chain of its calls' latency
 *   plus the waits no rate can shorten (a long-running operation's polls, each after its Retry-After).
 * The ratio is bound ÷ measured: 1 means the group ran at its limit.
 */
export interface BucketSpec {
  /** e.g. `reads`, `writes`, `all`. */
  name: string;
  capacity: number;
  refillPerSecond: number;
  /** The calls this bucket charges. */
  charges: (call: LoggedRequest) => boolean;
}

export interface GroupSpec {
  kind: string;
  targets: number;
  latencyMs: number;
  buckets: readonly BucketSpec[];
  maxConcurrency: number;
  /** Per target, the waits between calls that no rate shortens (operation polls' Retry-After), in ms. */
  waitMsPerTarget: number;
  /** Discovery calls (listing pages), told apart from per-target calls. */
  isListing: (call: LoggedRequest) => boolean;
}

export interface GroupFigures {
  kind: string;
  targets: number;
  /** Accepted calls of the group in the pass (429s not counted). */
  calls: number;
  listingCalls: number;
  /** (calls − listing calls) ÷ targets, from the log. */
  callsPerTarget: number;
  throttled: number;
  /** Accepted calls per bucket, beside the bucket's limit. */
  buckets: { name: string; calls: number; capacity: number; refillPerSecond: number; tokensAtStart: number }[];
  rateBoundMs: number;
  latencyBoundMs: number;
  boundMs: number;
  /** Which of the two bounds binds. */
  bindsBy: "rate" | "latency";
  /** From the groups' start to the group's last answered call. */
  measuredMs: number;
  targetsPerSecond: number;
  boundTargetsPerSecond: number;
  /** boundMs ÷ measuredMs. */
  ratio: number;
}

/** Epoch ms: when every bucket was full, when the groups started, when the last group finished. */
export interface PassWindow {
  fullAtMs: number;
  startMs: number;
  endMs: number;
}

/** The group's figures from its emulator's log of the pass (calls answered from `fullAtMs` on). */
export function groupFigures(spec: GroupSpec, log: readonly LoggedRequest[], window: PassWindow): GroupFigures {
  const { startMs } = window;
  const calls = callsBetween(log, startMs, window.endMs);
  const before = callsBetween(log, window.fullAtMs, startMs - 1).filter((c) => c.status !== 429);
  const accepted = calls.filter((c) => c.status !== 429);
  const listingCalls = accepted.filter(spec.isListing).length;
  const callsPerTarget = spec.targets > 0 ? (accepted.length - listingCalls) / spec.targets : 0;
  const buckets = spec.buckets.map((b) => ({
    name: b.name,
    calls: accepted.filter(b.charges).length,
    capacity: b.capacity,
    refillPerSecond: b.refillPerSecond,
    tokensAtStart: round2(tokensLeft(b, before.filter(b.charges), window)),
  }));
  const rateBoundMs = Math.max(0, ...buckets.map((b) => (Math.max(0, b.calls - b.tokensAtStart) / b.refillPerSecond) * 1000));
  const chainMs = callsPerTarget * spec.latencyMs + spec.waitMsPerTarget;
  const waves = spec.targets > 0 ? 1 + Math.ceil((spec.targets - 1) / spec.maxConcurrency) : 0;
  const latencyBoundMs = spec.latencyMs + waves * chainMs;
  const boundMs = Math.max(rateBoundMs, latencyBoundMs);
  const last = Math.max(startMs, ...calls.map((c) => Date.parse(c.at)));
  const measuredMs = Math.max(1, last - startMs);
  return {
    kind: spec.kind,
    targets: spec.targets,
    calls: accepted.length,
    listingCalls,
    callsPerTarget: round2(callsPerTarget),
    throttled: calls.length - accepted.length,
    buckets,
    rateBoundMs: Math.round(rateBoundMs),
    latencyBoundMs: Math.round(latencyBoundMs),
    boundMs: Math.round(boundMs),
    bindsBy: rateBoundMs >= latencyBoundMs ? "rate" : "latency",
    measuredMs: Math.round(measuredMs),
    targetsPerSecond: round2(spec.targets / (measuredMs / 1000)),
    boundTargetsPerSecond: round2(spec.targets / (boundMs / 1000)),
    ratio: round2(boundMs / measuredMs),
  };
}

/** A bucket full at `fullAtMs`, replayed over the calls it accepted before `startMs`: the tokens it holds then. */
function tokensLeft(bucket: BucketSpec, spent: readonly LoggedRequest[], window: PassWindow): number {
  let tokens = bucket.capacity;
  let at = window.fullAtMs;
  const refillTo = (t: number): void => {
    tokens = Math.min(bucket.capacity, tokens + ((t - at) / 1000) * bucket.refillPerSecond);
    at = t;
  };
  for (const t of spent.map((c) => Date.parse(c.at)).sort((a, b) => a - b)) {
    refillTo(Math.max(at, t));
    tokens = Math.max(0, tokens - 1);
  }
  refillTo(window.startMs);
  return tokens;
}

/** The calls of a log answered within [fromMs, toMs] (epoch ms; the log stamps each call when it is answered). */
function callsBetween(log: readonly LoggedRequest[], fromMs: number, toMs: number): LoggedRequest[] {
  return log.filter((c) => {
    const at = Date.parse(c.at);
    return at >= fromMs && at <= toMs;
  });
}

export const round2 = (n: number): number => Math.round(n * 100) / 100;
