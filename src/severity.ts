/**
 * The one severity scale, lowest first: probe findings, incidents, alert-channel thresholds and
 * error codes all use it, so "at least error" means the same thing everywhere.
 */
export const SEVERITIES = ["info", "warning", "error", "critical"] as const;

export type Severity = (typeof SEVERITIES)[number];

/** 0 for info up to 3 for critical. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function severityAtLeast(s: Severity, min: Severity): boolean {
  return severityRank(s) >= severityRank(min);
}
