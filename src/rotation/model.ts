import type { ContainerClient } from "@azure/storage-blob";
import type { CredentialSet } from "../config/schema.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../logging.js";
import type { Redactor } from "../redact.js";
import type { GraphApplicationsApi, TokenEndpointClient } from "../entra/types.js";
import type { SecretStore } from "../vault/types.js";
import type { GatewayAdapter, PickupProof } from "../gateway/types.js";
import type { RotationHooks } from "./hooks.js";
import type { RetirementEvidenceDeps } from "./retirementEvidence.js";
import type { ErrorSummary } from "../errors.js";
import type { SecretSeal } from "./secretCheck.js";
import type { StepName } from "./stepNames.js";

export { STEPS, type StepName } from "./stepNames.js";

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
  /**
   * Dropped from the run: `gone` (deleted from the gateway) or `moved` (now uses another client ID,
   * or is no longer an OAuth2 client-credentials server), or `drift` (uses the set's client ID but its
   * token URL names another tenant: reported, never written), or `refreshed` (the consumer refreshes the
   * secret from Key Vault by itself, e.g. a Kong vault reference: reported, never written). A dropped target never blocks retirement.
   */
  outcome?: "gone" | "moved" | "drift" | "refreshed";
  /** What the gateway answered when the target was dropped, and when. */
  evidence?: string;
  /** The target group (index in the set's `groups`); absent for the first. */
  group?: number;
  /** How the target's pickup of the new secret was proven, once verified (DESIGN.md § Target groups). */
  proof?: PickupProof;
  /** Set by the pass that paused for it: this target's group is delivered by an operator, who has not confirmed it yet. */
  awaitingOperator?: boolean;
  /** Who confirmed updating this target by hand, and when (`confirm --target`, or a confirmation of the whole run). */
  confirmedBy?: string;
  confirmedAt?: string;
  /** The target's ETag right after this run wrote the new secret (evidence for an undated `status` proof). */
  etag?: string;
}

/** A request accepted by the HTTP API (202), recorded before the answer and applied by a pass. */
interface AppliedRequest {
  requestId: string;
  mode: RotationMode;
  receivedAt: string;
  appliedAt: string;
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
  /** Key Vault's current version disabled (or the secret deleted) by hand while its credential is on the app (issue 23). */
  vaultProblem?: { state: "disabled" | "deleted"; keyId: string; version?: string };
  /** Days-before-expiry at which rotation is due: max(renewBeforeDays, effective lifetime × renewAtFraction). */
  renewWindowDays: number;
  /** How the window was reached, in words (src/rotation/policy.ts renewalWindow). */
  renewWindowBasis?: string;
  /** renewBeforeDays was not below the effective lifetime and was lowered to usedDays. */
  renewBeforeClamped?: { configuredDays: number; usedDays: number };
  renewDueAt?: string;
  /** Effective lifetime of new secrets: secret.lifetimeDays clamped by the effective policy. */
  lifetimeDays: number;
  clampedByPolicyDays?: number;
  /** The app management policy in effect (app-specific, tenant default, none, or unknown when unreadable). */
  policy?: { source: "app" | "tenantDefault" | "none" | "unknown"; detail: string };
  gracePeriodHours: number;
  targets: { total: number; names: string[] };
  /** Configuration the plan advises changing, e.g. a grace period shorter than a group's pickup delay. */
  warnings?: string[];
  unmanagedCredentials: (CredentialRef & { daysLeft: number })[];
  orphans: CredentialRef[];
  adoption?: { status: "adopted" | "already-tagged" | "ambiguous" | "unidentified" | "not-working"; keyId?: string; detail: string };
}

export interface RunJournal {
  runId: string;
  set: string;
  mode: RotationMode;
  trigger: "timer" | "http" | "queue" | "demo" | "cli";
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
  /** Since when a manual gateway's run waits for an operator; stays set while a pass re-checks it. */
  awaitingConfirmationSince?: string;
  /** Requests this run acted on (I7). */
  requests?: AppliedRequest[];
  /**
   * When a pass last moved the run forward (a step done, or a wait that is not an error); a run
   * with no progress past the set's budget opens an incident (issue 25). Absent on older journals:
   * their creation time stands in.
   */
  lastProgressAt?: string;
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

export interface RotationEvent {
  type: "started" | "succeeded" | "failed" | "waiting" | "awaiting_confirmation" | "noop";
  set: string;
  runId: string;
  mode: RotationMode;
  step?: StepName;
  error?: ErrorSummary;
  detail?: string;
  /** `stale`: targets left on anything but the current secret when a run fails after promote (critical). */
  targets?: { total: number; verified: number; names?: string[]; stale?: string[] };
  /**
   * A `waiting` pass that made no progress because of errors: since when the run has not moved,
   * the set's budget for that, and the expiry of the secret the run replaces.
   */
  stalled?: { since: string; budgetMs: number; oldSecretExpiresOn?: string; gracePeriodHours: number };
}

export interface RotationDeps {
  set: CredentialSet;
  graph: GraphApplicationsApi;
  token: TokenEndpointClient;
  vault: SecretStore;
  /** The first target group's adapter (probe and status read it); the engine reads `groups` when given. */
  gateway: GatewayAdapter;
  /** Every target group's adapter, the first being `gateway`; absent: `gateway` is the only group. */
  groups?: GatewayAdapter[];
  container: ContainerClient;
  clock: Clock;
  logger: Logger;
  redactor: Redactor;
  onEvent?: (event: RotationEvent) => void | Promise<void>;
  hooks?: RotationHooks;
  lease?: { durationSeconds?: number; renewEveryMs?: number };
  /** Per-target update attempts within one pass. */
  targetAttempts?: number;
  /** Entra's sign-in evidence consulted before retiring (src/rotation/retirementEvidence.ts); absent = grace period only. */
  retirementEvidence?: RetirementEvidenceDeps;
  /** Wraps each step (telemetry: one span per step, src/telemetry). */
  traceStep?: <T>(step: StepName, runId: string, run: () => Promise<T>) => Promise<T>;
}

export interface RotationRequest {
  mode: RotationMode;
  trigger: RunJournal["trigger"];
  /** A run created by the HTTP API (queued journal); otherwise a new ID is made. */
  runId?: string;
  abortSignal?: AbortSignal;
}

export interface PassResult {
  runId: string;
  status: RunStatus;
  journal: RunJournal;
}
