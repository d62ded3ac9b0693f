import { abortReason } from "./errors.js";

/** Time source injected everywhere a decision depends on "now" (grace periods, expiry horizons). */
export interface Clock {
  now(): Date;
  /** Waits `ms` of this clock's time; a simulated clock may return at once. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) => abortableDelay(ms, signal),
};

export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const t = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = (): void => {
      clearTimeout(t);
      // Only ever registered on a signal.
      if (signal) reject(abortReason(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export const DAY_MS = 86_400_000;
