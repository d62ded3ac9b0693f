/**
 * What the gateway saw, in its own clock: the arrival time of every public call (before latency
 * and throttling) and its status. Tests and benchmarks judge the client's pacing from here, never
 * from the client's own bookkeeping.
 */
export interface TrafficEntry {
  /** performance.now() when the request reached the gateway, in ms. */
  atMs: number;
  method: string;
  /** Decoded path without the query string. */
  path: string;
  status: number;
}

export interface TrafficSummary {
  requests: number;
  /** Answered 429. */
  throttled: number;
  /** The most arrivals in any window of `windowMs` (default 1,000 ms) starting at an arrival. */
  peakPerWindow: number;
  windowMs: number;
  /** First to last arrival. */
  spanMs: number;
}

export class TrafficLog {
  private entries: TrafficEntry[] = [];

  record(entry: TrafficEntry): void {
    this.entries.push(entry);
  }

  all(): TrafficEntry[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }

  summary(windowMs = 1000): TrafficSummary {
    const times = this.entries.map((e) => e.atMs).sort((a, b) => a - b);
    let peak = 0;
    let j = 0;
    for (let i = 0; i < times.length; i++) {
      // Half-open window [t_i, t_i + windowMs): evenly paced calls at R/s never count more than R.
      while (j < times.length && times[j]! < times[i]! + windowMs) j++;
      peak = Math.max(peak, j - i);
    }
    return {
      requests: times.length,
      throttled: this.entries.filter((e) => e.status === 429).length,
      peakPerWindow: peak,
      windowMs,
      spanMs: times.length ? times[times.length - 1]! - times[0]! : 0,
    };
  }
}
