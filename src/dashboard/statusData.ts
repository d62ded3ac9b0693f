import { operatorConfirmed, operatorTodo } from "../rotation/operatorConfirmations.js";
import type { CredentialSet } from "../config/schema.js";
import { DAY_MS } from "../clock.js";
import { getSetApplication } from "../entra/application.js";
import { ensureRotatorError, type ErrorSummary } from "../errors.js";
import type { Incident } from "../alerts/model.js";
import { SERVICE_SET } from "../alerts/index.js";
import type { ChannelDeliveryStatus } from "../alerts/dispatcher.js";
import type { ProbeReport } from "../probe/model.js";
import { FINISHED, type RunJournal, type SetState } from "../rotation/model.js";
import { managedDisplayNamePrefix, renewalDueAt, renewWindowDays } from "../rotation/policy.js";
import type { BuiltRuntime } from "../runtime/createRuntime.js";
import { liveTargets } from "../rotation/targets.js";
import { groupRecords } from "../rotation/groups.js";
import { targetGroupsOf } from "../config/groups.js";
import { LIVE_READ_DEADLINE_MS, dependencyFailure, readWithin, type DependencyFailure } from "./liveRead.js";

/**
 * What an operator wants to see first, per set — gathered once and shown three ways: the JSON of
 * GET /api/status, the HTML of GET /api/dashboard and the CLI's `status`. Everything here comes
 * from Storage (state, journals, the latest probe, incidents) except the credential timeline, which
 * is read live from Graph and Key Vault's version list (properties only, never a value) when asked.
 */
export type CredentialRole = "current" | "previous" | "pending" | "managed" | "unmanaged";

interface TimelineCredential {
  keyId: string;
  displayName: string | null;
  /** Entra's own first-three-characters hint; never more of the value. */
  hint: string | null;
  startDateTime: string;
  endDateTime: string;
  role: CredentialRole;
  daysLeft: number;
}

export interface SetTimeline {
  credentials: TimelineCredential[];
  /** When the current secret's renewal is due (end − renewal window). */
  renewDueAt?: string;
  /** The previous credential's grace period: from promotion of the current one until retirement. */
  grace?: { from: string; until: string };
  /** The live read failed: what is shown comes from the journal alone. */
  error?: ErrorSummary;
}

interface StaleTarget {
  name: string;
  code?: string;
  message?: string;
}

export interface SetStatus {
  set: string;
  clientId: string;
  gatewayKind: string;
  state: SetState;
  current: { keyId: string; expiresOn?: string; daysLeft?: number } | null;
  lastRun?: RunJournal;
  activeRun?: RunJournal;
  /** Most recent first. */
  recentRuns: RunJournal[];
  /**
   * From the latest reconciliation of the live targets: the active run, else the last run (a
   * reconcile pass lists every target too), else the latest run that touched targets. Targets a
   * run dropped as gone or moved are not targets any more and never count as "not verified".
   */
  targets: { verified: number; total: number; stale: StaleTarget[]; runId?: string; byHand?: ByHand; kinds?: KindTargets[] };
  probe?: ProbeReport;
  incidents: Incident[];
  alertDelivery: ChannelDeliveryStatus[];
  timeline?: SetTimeline;
  /** Dependencies the live reads could not reach within their deadline: the verdict cannot vouch for the set. */
  unreadable?: DependencyFailure[];
  /** What is not known yet (no finished run, no probe): such a set is never called healthy. */
  unknowns?: string[];
  /** Credentials of the app (any role) that end within the renewal window, soonest first. */
  expiring?: TimelineCredential[];
}

export interface StatusSnapshot {
  at: string;
  sets: SetStatus[];
  serviceIncidents: Incident[];
}

export interface GatherStatusOptions {
  /** Read the credentials live from Graph and Key Vault for the expiry timeline (default false). */
  timeline?: boolean;
  /** How many recent run journals to read per set (default 0: only the last and active run). */
  recentRuns?: number;
  /** Only these sets (default all). */
  sets?: readonly string[];
  /** Bound on each live dependency read of one set (default LIVE_READ_DEADLINE_MS). */
  liveTimeoutInMs?: number;
  abortSignal?: AbortSignal;
}

export async function gatherStatus(runtime: BuiltRuntime, options: GatherStatusOptions = {}): Promise<StatusSnapshot> {
  const now = runtime.clock.now();
  const wanted = options.sets ? runtime.sets.filter((s) => options.sets!.includes(s.name)) : runtime.sets;
  const sets = await Promise.all(wanted.map((set) => gatherSetStatus(runtime, set, options)));
  const serviceIncidents = await runtime.alerting.manager.listOpen(SERVICE_SET, { abortSignal: options.abortSignal }).catch(() => []);
  return { at: now.toISOString(), sets, serviceIncidents };
}

async function gatherSetStatus(runtime: BuiltRuntime, set: CredentialSet, options: GatherStatusOptions = {}): Promise<SetStatus> {
  const signal = options.abortSignal;
  const now = runtime.clock.now();
  const state = await runtime.journals.readState(set.name, signal);
  const lastRun = state.lastRun ? await runtime.journals.readRun(set.name, state.lastRun.runId, signal) : undefined;
  const activeRun = state.activeRunId ? await runtime.journals.readRun(set.name, state.activeRunId, signal) : undefined;
  const recentRuns = options.recentRuns
    ? await readRecentRuns(runtime, set.name, options.recentRuns, signal)
    : [lastRun].filter((r): r is RunJournal => r !== undefined);
  const probe = await runtime.probeStore.latest(set.name, signal).catch(() => undefined);
  const incidents = await runtime.alerting.manager.listOpen(set.name, { abortSignal: signal }).catch(() => []);
  const alertDelivery = runtime.alerting.deliveryLog().find((d) => d.set === set.name)?.channels ?? [];

  const targets = targetsOf(set, state, activeRun && !FINISHED.has(activeRun.status) ? activeRun : undefined, lastRun, recentRuns);
  const status: SetStatus = {
    set: set.name,
    clientId: set.clientId,
    gatewayKind: set.gateway.kind,
    state,
    current: state.currentKeyId
      ? {
          keyId: state.currentKeyId,
          ...(state.currentExpiresOn
            ? { expiresOn: state.currentExpiresOn, daysLeft: Math.round(((Date.parse(state.currentExpiresOn) - now.getTime()) / DAY_MS) * 10) / 10 }
            : {}),
        }
      : null,
    ...(lastRun ? { lastRun } : {}),
    ...(activeRun ? { activeRun } : {}),
    recentRuns,
    targets,
    ...(probe ? { probe } : {}),
    incidents,
    alertDelivery,
  };
  if (options.timeline) {
    const unreadable: DependencyFailure[] = [];
    status.timeline = await readTimeline(runtime, set, status, unreadable, {
      timeoutInMs: options.liveTimeoutInMs ?? LIVE_READ_DEADLINE_MS,
      ...(signal ? { abortSignal: signal } : {}),
    });
    if (unreadable.length) status.unreadable = unreadable;
    const window = renewWindowDays(set, lastRun?.plan?.lifetimeDays ?? set.secret.lifetimeDays);
    const expiring = status.timeline.credentials.filter((c) => c.daysLeft <= window).sort((a, b) => a.daysLeft - b.daysLeft);
    if (expiring.length) status.expiring = expiring;
  }
  const unknowns = [...(status.current ? [] : ["the current secret (no run has finished yet)"]), ...(probe ? [] : ["the health checks (no probe yet)"])];
  if (unknowns.length) status.unknowns = unknowns;
  return status;
}

/** One target group as the run that last touched targets recorded it: its kind, its live targets, how many proved pickup and by what. */
interface KindTargets {
  /** Index in the set's groups (0: the first). */
  group: number;
  kind: string;
  targets: number;
  proven: number;
  /** The proofs the journal recorded (`status+version` when a group's consumers proved both ways); `operator` while awaiting; `none yet` otherwise. */
  proof: string;
}

/**
 * The rotation run's targets as a later reconcile pass left them: the pass's own record of a
 * target it touched, else verified unless the pass names it stale (it touched only targets that
 * drifted; the rest held the current secret).
 */
function reconciled(rotation: RunJournal, pass: RunJournal): RunJournal {
  const stale = new Set(
    liveTargets(pass)
      .filter((t) => !t.verified)
      .map((t) => t.id),
  );
  const targets = rotation.targets.map((r) => pass.targets.find((t) => t.id === r.id) ?? { ...r, verified: !stale.has(r.id) });
  return { ...rotation, targets };
}

/** Per group of the set: its kind and what `run` recorded of its live targets (DESIGN.md § Target groups). */
function kindsOf(set: CredentialSet, run: RunJournal): KindTargets[] {
  const live = liveTargets(run);
  return targetGroupsOf(set).map((config, group) => {
    const records = groupRecords({ ...run, targets: live }, group);
    const proven = records.filter((r) => r.verified);
    const proofs = [...new Set(proven.map((r) => r.proof).filter((p): p is NonNullable<typeof p> => p !== undefined))].sort();
    const proof = proofs.length ? proofs.join("+") : records.some((r) => r.awaitingOperator) ? "operator" : "none yet";
    return { group, kind: config.kind, targets: records.length, proven: proven.length, proof };
  });
}

/** A manual group's servers: k/N confirmed by hand, each with who and when, and those still to do. */
interface ByHand {
  confirmed: { name: string; by: string; at?: string }[];
  unconfirmed: string[];
}

function byHandOf(run: RunJournal): ByHand | undefined {
  const confirmed = operatorConfirmed(run).map((t) => ({ name: t.name, by: t.confirmedBy!, ...(t.confirmedAt ? { at: t.confirmedAt } : {}) }));
  const unconfirmed = operatorTodo(run).map((t) => t.name);
  return confirmed.length + unconfirmed.length > 0 ? { confirmed, unconfirmed } : undefined;
}

/**
 * Targets as the latest reconciliation of the live ones sees them. Every pass lists the targets
 * and drops those the gateway proves gone or moved, so the newest run that planned is the truth;
 * an older run's record of a server since deleted (and recreated under another ID) is history.
 */
function targetsOf(
  set: CredentialSet,
  state: SetState,
  activeRun: RunJournal | undefined,
  lastRun: RunJournal | undefined,
  recentRuns: RunJournal[],
): SetStatus["targets"] {
  const latest = activeRun ?? lastRun;
  const stale = (run: RunJournal): StaleTarget[] =>
    liveTargets(run)
      .filter((t) => !t.verified)
      .map((t) => ({ name: t.name, ...(t.error ? { code: t.error.code, message: t.error.message } : {}) }));
  if (latest?.plan && latest.plan.action === "noop") {
    // A reconcile pass: it touched only targets that drifted; the rest held the current secret.
    const notVerified = stale(latest);
    const total = state.targetsVerified?.total ?? latest.plan.targets.total;
    // Per kind, the latest run that recorded every group's targets (when it was read).
    const recorded = recentRuns.find((r) => r.plan?.action === "rotate" && r.targets.length > 0);
    return {
      verified: Math.max(0, total - notVerified.length),
      total,
      stale: notVerified,
      runId: latest.runId,
      ...(recorded ? { kinds: kindsOf(set, reconciled(recorded, latest)) } : {}),
    };
  }
  const run = latest && latest.targets.length > 0 ? latest : [lastRun, ...recentRuns].find((r) => r && r.targets.length > 0);
  if (!run) return { verified: 0, total: 0, stale: [] };
  const live = liveTargets(run);
  const byHand = byHandOf(run);
  return {
    verified: live.filter((t) => t.verified).length,
    total: live.length,
    stale: stale(run),
    runId: run.runId,
    ...(byHand ? { byHand } : {}),
    kinds: kindsOf(set, run),
  };
}

/**
 * The latest runs, newest first, with no-op passes folded: every scheduled pass that finds nothing
 * due leaves a no-op journal, and a year of daily ones must not push the last real rotation (and
 * its targets) off the page. The latest no-op is kept so the page still shows the timer runs.
 */
async function readRecentRuns(runtime: BuiltRuntime, set: string, count: number, signal?: AbortSignal): Promise<RunJournal[]> {
  // Run IDs start with their UTC creation time, so a reverse sort is newest first.
  const ids = (await runtime.journals.listRuns(set, signal)).sort().reverse();
  const limit = Math.min(ids.length, count + MAX_NOOPS_SKIPPED);
  const out: RunJournal[] = [];
  let noops = 0;
  for (let i = 0; i < limit && out.length < count; i += READ_BATCH) {
    const batch = await Promise.all(ids.slice(i, Math.min(i + READ_BATCH, limit)).map((id) => runtime.journals.readRun(set, id, signal)));
    for (const run of batch) {
      if (!run || out.length >= count) continue;
      if (run.status === "noop" && noops++ > 0) continue;
      out.push(run);
    }
  }
  return out;
}

/** How many no-op journals a page load reads past at most (two months of daily passes). */
const MAX_NOOPS_SKIPPED = 60;
const READ_BATCH = 10;

/**
 * Every password credential of the app, each with its role. The roles come from Key Vault's latest
 * enabled version (its `keyId` and `previousKeyId` tags name current and previous) and from the
 * active run (a created but not yet promoted credential is pending); a credential named by this
 * service for this set is managed; anything else is unmanaged — shown, never touched.
 */
async function readTimeline(
  runtime: BuiltRuntime,
  set: CredentialSet,
  status: SetStatus,
  unreadable: DependencyFailure[],
  options: { timeoutInMs: number; abortSignal?: AbortSignal },
): Promise<SetTimeline> {
  const now = runtime.clock.now();
  const signal = options.abortSignal
    ? AbortSignal.any([options.abortSignal, AbortSignal.timeout(options.timeoutInMs)])
    : AbortSignal.timeout(options.timeoutInMs);
  const run = status.activeRun ?? status.lastRun;
  const fromJournal = (error: ErrorSummary): SetTimeline => {
    const creds: TimelineCredential[] = [];
    const add = (
      c: { keyId: string; hint: string | null; endDateTime: string; displayName?: string | null } | undefined,
      role: CredentialRole,
      start?: string,
    ): void => {
      if (c && !creds.some((x) => x.keyId === c.keyId))
        creds.push({
          keyId: c.keyId,
          displayName: c.displayName ?? null,
          hint: c.hint,
          startDateTime: start ?? c.endDateTime,
          endDateTime: c.endDateTime,
          role,
          daysLeft: daysLeft(now, c.endDateTime),
        });
    };
    add(run?.newCredential, run?.promotedVersion ? "current" : "pending", run?.createdAt);
    add(run?.previousCredential, "previous");
    return { credentials: creds, ...renewAndGrace(set, creds, run, undefined), error };
  };
  // Each dependency is read within the deadline and named when it fails; the client setup reads
  // the gateway's API token from Key Vault, so a Key Vault outage shows there first.
  let clients: Awaited<ReturnType<BuiltRuntime["clientsFor"]>>;
  try {
    clients = await readWithin("Key Vault", runtime.clientsFor(set), signal, options.timeoutInMs);
  } catch (e) {
    unreadable.push(dependencyFailure("Key Vault", e));
    return fromJournal(ensureRotatorError(e).toJSON());
  }
  const [appRead, versionsRead] = await Promise.allSettled([
    readWithin("Microsoft Graph", getSetApplication(clients.graph, set, { abortSignal: signal }), signal, options.timeoutInMs),
    readWithin("Key Vault", clients.vault.listVersions(set.keyVault.secretName, { abortSignal: signal }), signal, options.timeoutInMs),
  ]);
  if (appRead.status === "rejected") unreadable.push(dependencyFailure("Microsoft Graph", appRead.reason));
  if (versionsRead.status === "rejected") unreadable.push(dependencyFailure("Key Vault", versionsRead.reason));
  if (appRead.status === "rejected" || versionsRead.status === "rejected") {
    return fromJournal(ensureRotatorError(appRead.status === "rejected" ? appRead.reason : (versionsRead as PromiseRejectedResult).reason).toJSON());
  }
  try {
    const app = appRead.value;
    const versions = versionsRead.value;
    // The journal knows which credential was promoted last; versions created in the same second
    // cannot be ordered by their timestamps, so the listing's order is only the fallback.
    const enabled = versions.filter((v) => v.enabled);
    const currentKeyId = (status.state.currentKeyId ?? enabled[0]?.tags["keyId"])?.toLowerCase();
    const latest =
      enabled.find((v) => v.tags["keyId"]?.toLowerCase() === currentKeyId && v.tags["previousKeyId"]) ??
      enabled.find((v) => v.tags["keyId"]?.toLowerCase() === currentKeyId) ??
      enabled[0];
    const previousKeyId = latest?.tags["previousKeyId"]?.toLowerCase();
    const pendingKeyId = run && !FINISHED.has(run.status) && !run.promotedVersion ? run.newCredential?.keyId.toLowerCase() : undefined;
    const prefix = managedDisplayNamePrefix(set.name);
    const credentials = app.passwordCredentials
      .map((c): TimelineCredential => {
        const k = c.keyId.toLowerCase();
        const role: CredentialRole =
          k === currentKeyId
            ? "current"
            : k === pendingKeyId
              ? "pending"
              : k === previousKeyId
                ? "previous"
                : (c.displayName ?? "").startsWith(prefix)
                  ? "managed"
                  : "unmanaged";
        return {
          keyId: c.keyId,
          displayName: c.displayName,
          hint: c.hint,
          startDateTime: c.startDateTime,
          endDateTime: c.endDateTime,
          role,
          daysLeft: daysLeft(now, c.endDateTime),
        };
      })
      .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || Date.parse(a.endDateTime) - Date.parse(b.endDateTime));
    return { credentials, ...renewAndGrace(set, credentials, run, latest?.tags["retireAfter"]) };
  } catch (e) {
    return fromJournal(ensureRotatorError(e).toJSON());
  }
}

const ROLE_ORDER: Record<CredentialRole, number> = { current: 0, pending: 1, previous: 2, managed: 3, unmanaged: 4 };

function renewAndGrace(
  set: CredentialSet,
  creds: TimelineCredential[],
  run: RunJournal | undefined,
  retireAfterTag: string | undefined,
): Pick<SetTimeline, "renewDueAt" | "grace"> {
  const current = creds.find((c) => c.role === "current");
  const out: Pick<SetTimeline, "renewDueAt" | "grace"> = {};
  // The window follows the lifetime the run actually got (clamped by policy), as the planner's does.
  if (current) out.renewDueAt = renewalDueAt(current.endDateTime, renewWindowDays(set, run?.plan?.lifetimeDays ?? set.secret.lifetimeDays));
  const until = retireAfterTag ?? run?.retireAfter;
  const previousStillThere = creds.some((c) => c.role === "previous");
  if (until && previousStillThere && Number.isFinite(Date.parse(until))) {
    const promoted = run?.steps.find((s) => s.name === "promote" && s.status === "done")?.endedAt;
    out.grace = { from: promoted ?? new Date(Date.parse(until) - set.secret.gracePeriodHours * 3_600_000).toISOString(), until };
  }
  return out;
}

function daysLeft(now: Date, end: string): number {
  return Math.round(((Date.parse(end) - now.getTime()) / DAY_MS) * 10) / 10;
}

/** The GET /api/status answer (its shape is documented in docs/http-api.md; keep it stable). */
export function statusApiBody(snapshot: StatusSnapshot): Record<string, unknown> {
  return {
    at: snapshot.at,
    sets: snapshot.sets.map((s) => ({
      set: s.set,
      clientId: s.clientId,
      current: s.current ? { keyId: s.current.keyId, expiresOn: s.current.expiresOn, daysLeft: s.current.daysLeft } : null,
      nextRotationAt: s.state.nextRotationAt ?? null,
      lastRun: s.lastRun
        ? {
            runId: s.lastRun.runId,
            mode: s.lastRun.mode,
            status: s.lastRun.status,
            at: s.lastRun.updatedAt,
            step: s.lastRun.steps.at(-1)?.name,
            error: s.lastRun.error,
          }
        : null,
      activeRun: s.activeRun ? { runId: s.activeRun.runId, status: s.activeRun.status, step: s.activeRun.steps.at(-1)?.name ?? "plan" } : null,
      lastSuccessAt: s.state.lastSuccessAt ?? null,
      targets: s.state.targetsVerified ?? { verified: 0, total: 0 },
      checks: s.probe
        ? s.probe.checks.map((c) => ({
            id: c.id,
            status: c.status,
            severity: c.severity,
            summary: c.summary,
            ...(c.aadsts !== undefined ? { aadsts: c.aadsts } : {}),
          }))
        : [],
      checkedAt: s.probe?.startedAt ?? null,
      unreadable: s.unreadable ?? [],
      unknowns: s.unknowns ?? [],
      openIncidents: s.incidents.map((i) => ({
        dedupKey: i.dedupKey,
        check: i.check,
        severity: i.severity,
        title: i.title,
        openedAt: i.openedAt,
        runId: i.runId,
      })),
      alertDelivery: s.alertDelivery.map((c) => ({
        channel: c.channel,
        kind: c.kind,
        lastSuccessAt: c.lastSuccessAt ?? null,
        consecutiveFailures: c.consecutiveFailures,
        lastFailure: c.lastFailure ?? null,
      })),
    })),
    serviceIncidents: snapshot.serviceIncidents.map((i) => ({ check: i.check, severity: i.severity, title: i.title, openedAt: i.openedAt })),
  };
}
