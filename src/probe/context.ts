import type { Clock } from "../clock.js";
import type { CredentialSet } from "../config/schema.js";
import type { AppManagementPolicy, AppRegistration, GraphApplicationsApi, TokenEndpointClient } from "../entra/types.js";
import type { OidcDiscovery } from "../entra/token.js";
import type { SignInActivityApi } from "../entra/signInActivity.js";
import { RotatorError } from "../errors.js";
import type { GatewayAdapter, GatewayTarget } from "../gateway/types.js";
import type { HttpClient } from "../http/client.js";
import type { Logger } from "../logging.js";
import type { Redactor } from "../redact.js";
import type { RotationJournalStore } from "../rotation/journal.js";
import type { RunJournal, SetState } from "../rotation/model.js";
import type { SecretStore, SecretVersion } from "../vault/types.js";
import { resultCode, type Read } from "./deadline.js";
import { originOf } from "./endpoints.js";
import type { CheckOutcome, Findings } from "./findings.js";
import type { CheckId, EvidenceValue } from "./model.js";
import type { ProbeResultStore } from "./store.js";

/** The clients a probe uses: the same ones the rotation engine gets for the set. */
export interface ProbeDeps {
  graph: GraphApplicationsApi;
  token: TokenEndpointClient;
  vault: SecretStore;
  /** The first target group's adapter (the shared `targets()` read lists it). */
  gateway: GatewayAdapter;
  /** Every target group's adapter, the first being `gateway`; absent: `gateway` is the only group. */
  groups?: GatewayAdapter[];
  http: HttpClient;
  /** Entra's sign-in log (AuditLog.Read.All, optional); without it the `sign-ins` check is skipped. */
  signIns?: Pick<SignInActivityApi, "listSignIns">;
  /** Rotation run state; without it the `rotation` check is skipped. */
  journals?: Pick<RotationJournalStore, "readState" | "readRun">;
  clock: Clock;
  /** When given, the report is saved as the set's latest. */
  store?: ProbeResultStore;
  /** The current secret is registered here as soon as it is read. */
  redactor?: Redactor;
  logger?: Logger;
}

export interface ProbeTuning {
  /** Each check's own deadline. */
  timeoutInMs: number;
  /** Deadline of each shared read (Key Vault secret, app registration, targets, run state). */
  readTimeoutInMs: number;
  /** A Key Vault version younger than this may not have replicated at Entra yet: AADSTS7000215 is a warning. */
  replicationWindowMs: number;
  /** A run step (other than verify-entra and retire, which have their own budgets) that takes longer is stuck. */
  stepBudgetMs: number;
  /** Consecutive failed passes at which a set counts as poisoned. */
  poisonStreak: number;
  /** A current secret with fewer days left than this is an error, not a warning. */
  expiryErrorDays: number;
  /** Upper bound of extra token/authorize requests made for distinct gateway URLs. */
  maxDistinctRequests: number;
}

export const DEFAULT_TUNING: ProbeTuning = {
  timeoutInMs: 20_000,
  readTimeoutInMs: 15_000,
  replicationWindowMs: 15 * 60_000,
  stepBudgetMs: 30 * 60_000,
  poisonStreak: 3,
  expiryErrorDays: 7,
  maxDistinctRequests: 5,
};

export interface RotationView {
  state: SetState;
  /** The set's active run, when it has one that has not finished. */
  activeRun?: RunJournal;
}

/**
 * Reads several checks need, started once per probe, each with its own deadline. A check that
 * cannot do without one calls `need`; one that can note its absence in evidence calls `maybe`.
 */
export interface SharedReads {
  secret(): Promise<Read<SecretVersion | undefined>>;
  app(): Promise<Read<AppRegistration>>;
  /** The app management policy in effect for the app (app-specific or tenant default). */
  policy(): Promise<Read<AppManagementPolicy>>;
  targets(): Promise<Read<GatewayTarget[]>>;
  /** The OpenID discovery document of `tenant` (the set's tenant, or `common`) on the set's sign-in host. */
  discovery(tenant: string): Promise<Read<OidcDiscovery>>;
  /** undefined when the probe was given no journal store. */
  rotation(): Promise<Read<RotationView> | undefined>;
}

export interface CheckContext {
  set: CredentialSet;
  deps: ProbeDeps;
  shared: SharedReads;
  tuning: ProbeTuning;
  /** One "now" for the whole probe, from the injected clock. */
  now: Date;
  /** The check's own deadline combined with the caller's signal. */
  abortSignal: AbortSignal;
}

export interface CheckDefinition {
  id: CheckId;
  title: string;
  /** `findings` is this run's own, handed in by the runner: the check adds to it and returns `findings.outcome(...)` or its own outcome. */
  run(ctx: CheckContext, findings: Findings): Promise<CheckOutcome>;
}

/** The value of a read the check cannot work without; its failure makes the check an `error`. */
export function need<T>(read: Read<T>, what: string): T {
  if (read.ok) return read.value;
  throw new RotatorError(read.error.code, `${what} could not be read: ${read.error.message}`, {
    hint: read.error.hint,
    ...(read.error.status !== undefined ? { status: read.error.status } : {}),
    ...(read.error.aadsts !== undefined ? { aadsts: read.error.aadsts } : {}),
    retryable: read.error.retryable,
    cause: read.error,
  });
}

/**
 * The app registration, for a check about the app itself: an app that does not exist is that
 * check's finding (failed, with Graph's message and hint), not an error of the check — undefined
 * then, and the check ends with what it found. Any other failed read is an error, as with `need`.
 */
export async function appOrFinding(ctx: Pick<CheckContext, "shared">, f: Findings): Promise<AppRegistration | undefined> {
  const read = await ctx.shared.app();
  if (!read.ok && read.error.code === "GRAPH_APP_NOT_FOUND") {
    f.fail("error", read.error.message, read.error.hint);
    return undefined;
  }
  return need(read, "The app registration");
}

/** The value of a read the check can do without; its absence is noted in `evidence[key]`. */
export function maybe<T>(read: Read<T>, evidence: Record<string, EvidenceValue>, key: string): T | undefined {
  if (read.ok) return read.value;
  evidence[key] = `unavailable (${resultCode(read.error)})`;
  return undefined;
}

/** Targets carrying OAuth settings (a manual gateway's targets are names only). */
export function oauthTargets(targets: readonly GatewayTarget[] | undefined): GatewayTarget[] {
  return (targets ?? []).filter((t) => typeof t.tokenUrl === "string" && t.tokenUrl !== "");
}

/** "a, b, c and 4 more" for messages about many targets. */
export function nameList(names: readonly string[], max = 3): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

export function daysLeft(now: Date, end: string): number {
  return Math.round(((Date.parse(end) - now.getTime()) / 86_400_000) * 10) / 10;
}

/** An endpoint a check calls, and where its URL came from (shown in the check's evidence). */
export interface ChosenEndpoint {
  url: string;
  source: string;
}

/**
 * The endpoint the tenant's discovery document publishes (any standards-compliant provider names
 * its own layout there); the URL built from authorityHost and the tenant only when discovery is
 * unavailable, or when it publishes the endpoint on another host: a secret or a sign-in request is
 * never sent off the configured sign-in host (the discovery check reports that host).
 */
export async function publishedEndpoint(
  ctx: Pick<CheckContext, "set" | "shared">,
  tenant: string,
  field: "token_endpoint" | "authorization_endpoint",
  built: string,
): Promise<ChosenEndpoint> {
  const read = await ctx.shared.discovery(tenant);
  const fallback = "built from authorityHost and the tenant";
  if (!read.ok) return { url: built, source: `${fallback}: discovery unavailable (${resultCode(read.error)})` };
  const url = read.value[field];
  if (originOf(url) !== originOf(ctx.set.authorityHost)) {
    return { url: built, source: `${fallback}: discovery publishes ${url}, on another host than ${ctx.set.authorityHost}` };
  }
  return { url, source: `discovery (${field})` };
}
