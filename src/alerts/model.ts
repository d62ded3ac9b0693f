import type { Severity } from "../config/schema.js";

/**
 * The shapes on-call sees: one incident per (set, check), identified by a dedup key that every
 * channel reuses (PagerDuty `dedup_key`, Opsgenie `alias`), and the events that move it.
 */

/** Checks the alert layer raises itself; probe checks use their own stable IDs. */
export const RUN_FAILURE_CHECK = "run-failure";
export const ROTATION_CHECK = "rotation";
/** A run that made no progress, because of errors, for longer than its set's budget (issue 25). */
export const RUN_STALLED_CHECK = "run-stalled";
export const EXPIRY_AT_RISK_CHECK = "rotation-expiry";
export const HEARTBEAT_CHECK = "heartbeat";
/** The pseudo set for incidents about the service itself (set names cannot start with "_"). */
export const SERVICE_SET = "_service";

type IncidentState = "open" | "resolved";

/** JSON-able, secret-free facts about an incident. Keep them stable: a change re-notifies. */
export type EvidenceValue = string | number | boolean | null | EvidenceValue[] | { [key: string]: EvidenceValue };
export type Evidence = Record<string, EvidenceValue>;

export interface IncidentLinks {
  /** GET /api/status (no function key in it). */
  status?: string;
  /** GET /api/rotations/{runId}. */
  run?: string;
}

export interface Incident {
  dedupKey: string;
  set: string;
  /** A probe check ID, or run-failure / rotation / rotation-expiry / heartbeat. */
  check: string;
  severity: Severity;
  title: string;
  /** What the operator should do next. */
  hint: string;
  evidence: Evidence;
  state: IncidentState;
  openedAt: string;
  updatedAt: string;
  /** Last time an opened/updated/repeat notification was sent. */
  lastNotifiedAt: string;
  resolvedAt?: string;
  /** Consecutive healthy reports while open; resolves at the manager's threshold. */
  healthyStreak: number;
  runId?: string;
  links: IncidentLinks;
  /** Channels that received a notification of this opening; the resolve goes to exactly these. */
  deliveredTo: string[];
  /** Channels whose last notification failed; retried on the next report. */
  pendingChannels: string[];
  /**
   * Channels a notification of this incident was sent to whose answer neither confirmed nor
   * refused it: no answer at all (timeout, dropped connection) or a 2xx that could not be read. It
   * may have landed (PagerDuty took the trigger, its 202 never arrived), so the resolve goes to these
   * as well as to `deliveredTo`; closing a page that never opened is a no-op. A refusal (4xx, 5xx)
   * did not land and does not count.
   */
  unconfirmedTo?: string[];
}

/** Channels that heard, or may have heard, this incident's opening: the ones its resolve must reach. */
export function mayHaveHeard(incident: Pick<Incident, "deliveredTo" | "unconfirmedTo">, channel: string): boolean {
  return incident.deliveredTo.includes(channel) || (incident.unconfirmedTo ?? []).includes(channel);
}

export type AlertEventType = "opened" | "updated" | "repeat" | "resolved" | "event";

export interface AlertEvent {
  type: AlertEventType;
  incident: Incident;
}

export { severityAtLeast } from "../severity.js";

/**
 * The key every channel dedups on. Bounded to PagerDuty's 255 characters and to characters that
 * are safe in a blob name and an Opsgenie URL path segment.
 */
export function dedupKeyFor(set: string, check: string): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, "_");
  return `mcp-sso-rotator.${safe(set)}.${safe(check)}`.slice(0, 255);
}

/** A short human label for an event, shared by every channel's wording. */
export function eventLabel(event: AlertEvent): string {
  switch (event.type) {
    case "opened":
      return "OPENED";
    case "updated":
      return "UPDATED";
    case "repeat":
      return "STILL OPEN";
    case "resolved":
      return "RESOLVED";
    case "event":
      return "EVENT";
  }
}

/** Evidence flattened to "key: value" lines for channels that only show text. */
export function evidenceLines(evidence: Evidence): { key: string; value: string }[] {
  return Object.entries(evidence).map(([key, value]) => ({
    key,
    value: typeof value === "string" ? value : JSON.stringify(value),
  }));
}

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 1 ? text.slice(0, max) : `${text.slice(0, max - 1)}…`;
}
