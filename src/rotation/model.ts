import type { ErrorSummary } from "../errors.js";
import type { SecretSeal } from "./secretCheck.js";

export const STEPS = ["plan", "create", "stash", "verify-entra", "promote", "propagate", "verify-targets", "retire"] as const;
export type StepName = (typeof STEPS)[number];

export type RotationMode = "scheduled" | "force" | "emergency";

/**
 * queued: created by the HTTP API, waiting for the worker;
 * running: a pass holds the lease now (or died holding it);
 * waiting: paused on purpose (replication, grace period, failing targets) — the next pass resumes;
 * awaiting_confirmation: a manual gateway needs an operator;
 * succeeded / noop / failed / needs_attention: finished.
 */
export type RunStatus = "queued" | "running" | "waiting" | "awaiting_confirmation" | "succeeded" | "noop" | "failed" | "needs_attention";

export const FINISHED: ReadonlySet<RunStatus> = new Set(["succeeded", "noop", "failed", "needs_attention"]);

export interface StepRecord {
  name: StepName;
  status: "done" | "failed" | "waiting" | "skipped";
  startedAt: string;
  endedAt: string;
  durationMs: number;
  detail?: string;
  error?: ErrorSummary;
}

export interface TargetRecord {
  id: string;
  name: string;
  updated: boolean;
  verified: boolean;
  attempts: number;
  error?: ErrorSummary;
}

export interface CredentialRef {
  keyId: string;
  hint: string | null;
  endDateTime: string;
  displayName?: string | null;
}

export interface Plan {
  action: "rotate" | "noop";
  reason: string;
  mode: RotationMode;
  current?: CredentialRef & { daysLeft: number; adopted: boolean; managed: boolean };
  /** Days-before-expiry at which rotation is due: max(renewBeforeDays, lifetime × renewAtFraction). */
  renewWindowDays: number;
  renewDueAt?: string;
  lifetimeDays: number;
  clampedByPolicyDays?: number;
  gracePeriodHours: number;
  targets: { total: number; names: string[] };
  unmanagedCredentials: (CredentialRef & { daysLeft: number })[];
  orphans: CredentialRef[];
  adoption?: { status: "adopted" | "already-tagged" | "ambiguous" | "unidentified" | "not-working"; keyId?: string; detail: string };
}

export interface RunJournal {
  runId: string;
  set: string;
  mode: RotationMode;
  trigger: "timer" | "http" | "queue" | "demo";
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  passes: number;
  displayName: string;
  plan?: Plan;
  steps: StepRecord[];
  newCredential?: CredentialRef;
  previousCredential?: CredentialRef;
  /** Why the previous credential must not be retired (ambiguous adoption); retire is skipped. */
  retireBlockedReason?: string;
  pendingVersion?: string;
  /** Salted fingerprint of the stashed value (never the value), checked on every read-back. */
  secretSeal?: SecretSeal;
  promotedVersion?: string;
  retireAfter?: string;
  verify?: { consecutive: number; attempts: number; lastAadsts?: number; firstAttemptAt?: string };
  targets: TargetRecord[];
  error?: ErrorSummary;
  confirmedBy?: string;
}

/** Latest state of one set, readable without scanning every run. */
export interface SetState {
  set: string;
  activeRunId?: string;
  lastRun?: { runId: string; status: RunStatus; mode: RotationMode; at: string; step?: StepName; error?: ErrorSummary };
  lastSuccessAt?: string;
  currentKeyId?: string;
  currentExpiresOn?: string;
  nextRotationAt?: string;
  targetsVerified?: { verified: number; total: number };
  /** Consecutive failed passes, for escalation. */
  failureStreak: number;
}
