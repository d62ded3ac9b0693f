import type { ErrorSummary } from "../errors.js";
import { severityAtLeast, type Severity } from "../severity.js";

/**
 * What a health probe reports. Everything here is read by people (alerts, GET /api/status) and
 * stored in Storage, so nothing may carry a secret: no secret value, no token, no full secret ID
 * of a value. A secret's first three characters (Entra's own "hint") are allowed.
 */
export const CHECK_IDS = ["discovery", "token", "authorize", "app-registration", "expiry", "rotation", "gateway-drift", "policy", "sign-ins"] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** pass/warn/fail: the check ran. error: the check itself could not run. skip: not applicable. */
export type CheckStatus = "pass" | "warn" | "fail" | "error" | "skip";
export type CheckSeverity = Severity;

export type EvidenceValue = string | number | boolean | string[];
export type Evidence = Record<string, EvidenceValue>;

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** How bad it is when not passing; `info` when passing or skipped. */
  severity: CheckSeverity;
  summary: string;
  /** What an operator does about it, in our words. */
  hint: string;
  /** The Entra code this result is about (observed, or the one users will hit). */
  aadsts?: number;
  /** Why the check could not run (status "error"): `TIMEOUT`, `ABORTED` or the upstream error code. */
  code?: string;
  evidence: Evidence;
  durationMs: number;
}

export interface ProbeReport {
  set: string;
  startedAt: string;
  durationMs: number;
  /** No check is failing (or unable to run) at severity error or critical. */
  ok: boolean;
  checks: CheckResult[];
  /** Set when the report could not be stored; the probe itself still ran. */
  storeError?: ErrorSummary;
}

/** A result that makes the probe not ok: failing or unable to run, at error or critical. */
export function isBlocking(c: Pick<CheckResult, "status" | "severity">): boolean {
  return (c.status === "fail" || c.status === "error") && severityAtLeast(c.severity, "error");
}

export function reportOk(checks: readonly Pick<CheckResult, "status" | "severity">[]): boolean {
  return !checks.some(isBlocking);
}
