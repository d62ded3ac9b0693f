/**
 * Replication as a window, not a switch. Entra replicates a new application credential to its
 * token-issuing replicas over seconds to minutes; until then a token request with it fails with
 * AADSTS7000215 ("Invalid client secret provided"), and while replicas disagree successive requests
 * can succeed and fail again, so callers are told to require several consecutive successes. A
 * removed credential likewise lingers on replicas that have not seen the removal yet.
 *
 * Everything here is a pure function of the settings, the emulator clock and a per-credential
 * ordinal, so a seeded simulator replays the same acceptance pattern.
 */
export interface ReplicationSettings {
  /** Emulator-clock ms after creation during which the new secret is refused outright. */
  delayMs: number;
  /** After the delay, ms during which acceptance flaps (accepted, refused, …) before it settles on accepted. */
  flapMs: number;
  /** Length of one flap slot; default flapMs/4 (at least 1 ms), so the window holds accepted, refused and two seeded slots. */
  flapPeriodMs?: number;
  /** Emulator-clock ms after removePassword during which the removed secret is still accepted. */
  removalLagMs: number;
  /** Seeds the flap pattern (default 0). */
  seed: number;
}

export const NO_REPLICATION_LAG: ReplicationSettings = { delayMs: 0, flapMs: 0, removalLagMs: 0, seed: 0 };

/** What a credential carries from the settings in force when it was created. */
export interface ReplicationProfile {
  /** Emulator-clock ms from which the secret is (first) accepted. */
  replicatedAtMs: number;
  /** Emulator-clock ms from which acceptance no longer flaps. */
  settledAtMs: number;
  periodMs: number;
  seed: number;
  /** The credential's creation ordinal within this emulator: the deterministic stand-in for its random keyId. */
  ordinal: number;
}

export function validateReplication(s: Partial<ReplicationSettings>): string | undefined {
  for (const k of ["delayMs", "flapMs", "removalLagMs"] as const) {
    const v = s[k];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) return `${k} must be a number ≥ 0`;
  }
  if (s.flapPeriodMs !== undefined && (typeof s.flapPeriodMs !== "number" || !Number.isFinite(s.flapPeriodMs) || s.flapPeriodMs <= 0)) {
    return "flapPeriodMs must be a number > 0";
  }
  if (s.seed !== undefined && (typeof s.seed !== "number" || !Number.isInteger(s.seed))) return "seed must be an integer";
  return undefined;
}

export function profileFor(settings: ReplicationSettings, createdAtMs: number, ordinal: number): ReplicationProfile {
  const replicatedAtMs = createdAtMs + settings.delayMs;
  return {
    replicatedAtMs,
    settledAtMs: replicatedAtMs + settings.flapMs,
    periodMs: settings.flapPeriodMs ?? Math.max(1, settings.flapMs / 4),
    seed: settings.seed,
    ordinal,
  };
}

/** An already replicated credential (seeded by hand): accepted from the start. */
export const REPLICATED: ReplicationProfile = {
  replicatedAtMs: Number.NEGATIVE_INFINITY,
  settledAtMs: Number.NEGATIVE_INFINITY,
  periodMs: 1,
  seed: 0,
  ordinal: 0,
};

/** 32-bit integer hash (murmur3 finaliser over the three inputs): stable across runs and platforms. */
function mix(seed: number, ordinal: number, slot: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [ordinal, slot]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/**
 * Would a replica answering now accept the credential? Before replication: no. In the flap window:
 * slot 0 yes, slot 1 no (so a window of two slots or more always flaps once), later slots by the
 * seeded hash. From `settledAtMs` on: yes.
 */
export function acceptedAt(p: ReplicationProfile, nowMs: number): boolean {
  if (nowMs < p.replicatedAtMs) return false;
  if (nowMs >= p.settledAtMs) return true;
  const slot = Math.floor((nowMs - p.replicatedAtMs) / p.periodMs);
  if (slot === 0) return true;
  if (slot === 1) return false;
  return (mix(p.seed, p.ordinal, slot) & 1) === 1;
}
