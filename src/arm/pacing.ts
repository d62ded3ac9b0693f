import { abortableDelay } from "../clock.js";
import { RotatorError } from "../errors.js";
import type { HttpMethod } from "../http/client.js";
import { silentLogger, type Logger } from "../logging.js";

/**
 * Client-side pacing of Resource Manager calls from ARM's own throttling headers ("Understand how
 * Azure Resource Manager throttles requests"): a token bucket per subscription (and principal) and
 * per kind of call — reads, writes, deletes — whose count left comes back on every answer as
 * `x-ms-ratelimit-remaining-subscription-{reads|writes|deletes}`; an empty bucket answers 429 with
 * `Retry-After`, and a call sent before that has passed is refused again.
 *
 * Waiting for the count to reach 0 is too late: by then a group's whole concurrency is in flight and
 * each of those calls meets a 429 whose Retry-After (whole seconds) is far longer than the time a
 * token takes to come back. So one gate per subscription and kind admits a call only while the
 * count ARM last reported, plus what has come back since, exceeds the calls in flight; below that
 * it spreads calls at the refill rate it measured from the same headers while callers were
 * waiting. A 429 still holds every call of its kind until its Retry-After has passed.
 *
 * The state lives in the gate map of one ArmClient (one per group and pass), never in a module.
 */

type RateKind = "reads" | "writes" | "deletes";

export interface ArmPacingOptions {
  /**
   * With nothing in flight, no count left and no refill rate measured yet, one call goes after this
   * long to read the count again (default 100 ms).
   */
  probeIntervalInMs?: number;
  /** The longest a gate holds calls for one 429 (default 60 s, the HTTP layer's longest Retry-After wait). */
  maxPauseInMs?: number;
  /** Injected by tests; default wall-clock time (ARM's buckets refill in real time). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** One admitted call: it spends one token of its gate until it is answered. */
export interface PacedCall {
  /** ARM answered (any status): `remaining` is the count its headers reported, if any. */
  answered(headers: Record<string, string>, status: number): void;
  /** ARM answered 429: the slot is handed back and the gate holds every call until Retry-After has passed. */
  throttled(retryAfterMs: number | undefined): void;
  /** Before the HTTP layer retries: a call that handed its slot back (a 429) queues for one again. */
  again(abortSignal: AbortSignal | undefined): Promise<void>;
  /** No answer (a transport error, an abort): the slot is handed back. */
  release(): void;
}

/** Windows shorter than this measure the refill rate too coarsely (answers arrive in bursts). */
const MIN_WINDOW_MS = 300;
/** With nothing in flight, the longest the gate trusts its measured rate before letting one call look again. */
const MAX_PROBE_MS = 1_000;

function kindOf(method: HttpMethod): RateKind {
  return method === "GET" || method === "HEAD" ? "reads" : method === "DELETE" ? "deletes" : "writes";
}

/**
 * The lowest count ARM reports for a kind of call: subscription, global subscription and tenant
 * buckets (`x-ms-ratelimit-remaining-…-{kind}`), and `…-resource-requests`, which a resource
 * provider that overrides the default limits sends instead of reads or writes.
 */
function remainingOf(headers: Record<string, string>, kind: RateKind): number | undefined {
  const values = Object.entries(headers)
    .filter(([k]) => k.startsWith("x-ms-ratelimit-remaining-") && (k.endsWith(`-${kind}`) || k.endsWith("-resource-requests")))
    .map(([, v]) => Number(v))
    .filter((n) => Number.isFinite(n));
  return values.length > 0 ? Math.max(0, Math.min(...values)) : undefined;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort?: () => void;
}

class Gate {
  /** The count ARM last reported, when, and the highest it ever reported (what the bucket can hold at least). */
  private remaining: number | undefined;
  private at = 0;
  private peak = 0;
  /** An answer came back without a count (not ARM's subscription limits, or a proxy): nothing to pace by. */
  private uncounted = false;
  private inFlight = 0;
  /** Tokens per ms, measured from the headers while calls were held back (the bucket was not full then). */
  private refillPerMs: number | undefined;
  private window: { at: number; remaining: number; accepted: number } | undefined;
  private pausedUntil = Number.NEGATIVE_INFINITY;
  private probeAt: number | undefined;
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private wake: AbortController | undefined;

  constructor(
    private readonly now: () => number,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
    private readonly probeIntervalMs: number,
    private readonly maxPauseMs: number,
  ) {}

  acquire(abortSignal: AbortSignal | undefined, first: boolean, describe: string): Promise<void> {
    if (abortSignal?.aborted) return Promise.reject(cancelled(describe));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal: abortSignal };
      if (abortSignal) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(cancelled(describe));
        };
        abortSignal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      // A retry after a 429 has waited already: it goes before calls that have not been sent yet.
      if (first) this.queue.unshift(waiter);
      else this.queue.push(waiter);
      void this.pump();
    });
  }

  answered(remaining: number | undefined, accepted: boolean): void {
    this.inFlight--;
    this.probeAt = undefined;
    if (remaining === undefined) this.uncounted = this.remaining === undefined;
    else {
      const t = this.now();
      this.remaining = remaining;
      this.at = t;
      this.peak = Math.max(this.peak, remaining);
      this.measure(t, remaining, accepted);
    }
    this.kick();
  }

  throttled(retryAfterMs: number | undefined): void {
    this.inFlight--;
    const t = this.now();
    this.remaining = 0;
    this.at = t;
    // The rate we measured let a call through too early: trust half of it until measured again.
    if (this.refillPerMs !== undefined) this.refillPerMs /= 2;
    this.window = undefined;
    const pause = Math.min(this.maxPauseMs, Math.max(0, retryAfterMs ?? this.probeIntervalMs));
    this.pausedUntil = Math.max(this.pausedUntil, t + pause);
    // ARM said when tokens are back: one call looks then, the rest follow its answer.
    this.probeAt = this.pausedUntil;
    this.kick();
  }

  release(): void {
    this.inFlight--;
    this.kick();
  }

  /**
   * The refill rate over a window that starts with the first answer while calls wait (so the bucket
   * is being drained, not capped at its size): tokens that came back = count now − count then +
   * calls ARM accepted in between. It ends when nobody waits; the last rate is kept.
   */
  private measure(t: number, remaining: number, accepted: boolean): void {
    if (this.queue.length === 0) {
      this.window = undefined;
      return;
    }
    if (!this.window) {
      this.window = { at: t, remaining, accepted: 0 };
      return;
    }
    if (accepted) this.window.accepted++;
    const span = t - this.window.at;
    if (span < MIN_WINDOW_MS) return;
    const rate = (remaining - this.window.remaining + this.window.accepted) / span;
    this.refillPerMs = rate > 0 ? rate : undefined;
  }

  /** Calls that may start now: what ARM reported, plus what came back since at the measured rate, minus those in flight. */
  private room(t: number): number {
    // Until ARM has told the count, one call at a time: the first answer says how many may follow.
    if (this.remaining === undefined) return this.uncounted ? Number.POSITIVE_INFINITY : 1 - this.inFlight;
    const refilled = this.refillPerMs !== undefined ? this.refillPerMs * Math.max(0, t - this.at) : 0;
    return Math.min(this.peak, this.remaining + refilled) - this.inFlight;
  }

  /** Admits the first waiter and answers 0, or answers how long to wait before looking again. */
  private admitOrWait(t: number): number {
    if (t < this.pausedUntil) return this.pausedUntil - t;
    const room = this.room(t);
    const probe = this.inFlight === 0 && this.probeAt !== undefined && t >= this.probeAt;
    if (room >= 1 || probe) {
      const w = this.queue.shift()!;
      if (w.onAbort) w.signal?.removeEventListener("abort", w.onAbort);
      this.inFlight++;
      this.probeAt = undefined;
      w.resolve();
      return 0;
    }
    // Nothing in flight means no answer will bring a new count: one call goes when a token should
    // be back (by the measured rate, never trusted for more than a second), else after a short look.
    if (this.inFlight === 0 && this.probeAt === undefined) {
      this.probeAt = t + (this.refillPerMs !== undefined ? Math.min((1 - room) / this.refillPerMs, MAX_PROBE_MS) : this.probeIntervalMs);
    }
    const byRate = this.refillPerMs !== undefined ? (1 - room) / this.refillPerMs : MAX_PROBE_MS;
    const byProbe = this.probeAt !== undefined ? this.probeAt - t : MAX_PROBE_MS;
    return Math.max(1, Math.min(byRate, byProbe, MAX_PROBE_MS));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const wait = this.admitOrWait(this.now());
        if (wait > 0) await this.nap(wait);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Sleeps, or less when an answer brings a new count. */
  private async nap(ms: number): Promise<void> {
    this.wake = new AbortController();
    try {
      await this.sleep(ms, this.wake.signal);
    } catch {
      // woken by an answer
    } finally {
      this.wake = undefined;
    }
  }

  private kick(): void {
    this.wake?.abort();
    if (this.queue.length > 0) void this.pump();
  }
}

function cancelled(describe: string): RotatorError {
  return new RotatorError("ABORTED", `Resource Manager: ${describe} was cancelled while waiting for the subscription's request budget`, {
    hint: "The next pass resumes it.",
  });
}

/** The gates of one ArmClient, one per subscription and kind of call. */
export class ArmPacer {
  private readonly gates = new Map<string, Gate>();
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(
    private readonly options: ArmPacingOptions = {},
    private readonly log: Logger = silentLogger,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? abortableDelay;
  }

  /** Waits until the call may be sent; the answer must be reported on the returned handle. */
  async admit(method: HttpMethod, url: string, abortSignal: AbortSignal | undefined, describe: string): Promise<PacedCall> {
    const kind = kindOf(method);
    const subscription = /\/subscriptions\/([^/?#]+)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase() ?? "(tenant)";
    const key = `${subscription}|${kind}`;
    let gate = this.gates.get(key);
    if (!gate) {
      gate = new Gate(this.now, this.sleep, this.options.probeIntervalInMs ?? 100, this.options.maxPauseInMs ?? 60_000);
      this.gates.set(key, gate);
    }
    const g = gate;
    await g.acquire(abortSignal, false, describe);
    let held = true;
    const handBack = (fn: () => void): void => {
      if (!held) return;
      held = false;
      fn();
    };
    return {
      answered: (headers, status) => handBack(() => g.answered(remainingOf(headers, kind), status !== 429)),
      throttled: (retryAfterMs) =>
        handBack(() => {
          this.log.warn(`Resource Manager throttled ${describe} (${kind} of subscription ${subscription}); holding its ${kind} for ${retryAfterMs ?? "?"} ms`);
          g.throttled(retryAfterMs);
        }),
      release: () => handBack(() => g.release()),
      again: async (signal) => {
        if (held) return;
        await g.acquire(signal, true, describe);
        held = true;
      },
    };
  }
}
