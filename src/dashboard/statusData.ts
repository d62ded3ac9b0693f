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
  /** From the active run, else the latest run that touched targets. */
  targets: { verified: number; total: number; stale: StaleTarget[]; runId?: string };
  probe?: ProbeReport;
  incidents: Incident[];
  alertDelivery: ChannelDeliveryStatus[];
  timeline?: SetTimeline;
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
  /** Bound on the live reads of one set (default 10 s). */
  liveTimeoutMs?: number;
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
  const recentRuns = options.recentRuns ? await readRecentRuns(runtime, set.name, options.recentRuns, signal) : [lastRun].filter((r): r is RunJournal => r !== undefined);
  const probe = await runtime.probeStore.latest(set.name, signal).catch(() => undefined);
  const incidents = await runtime.alerting.manager.listOpen(set.name, { abortSignal: signal }).catch(() => []);
  const alertDelivery = runtime.alerting.deliveryLog().find((d) => d.set === set.name)?.channels ?? [];

  const targetRun = (activeRun && !FINISHED.has(activeRun.status) ? activeRun : undefined) ?? [lastRun, ...recentRuns].find((r) => r && r.targets.length > 0);
  const targets = targetRun
    ? {
        verified: targetRun.targets.filter((t) => t.verified).length,
        total: targetRun.targets.length,
        stale: targetRun.targets.filter((t) => !t.verified).map((t) => ({ name: t.name, ...(t.error ? { code: t.error.code, message: t.error.message } : {}) })),
        runId: targetRun.runId,
      }
    : { verified: 0, total: 0, stale: [] };

  const status: SetStatus = {
    set: set.name,
    clientId: set.clientId,
    gatewayKind: set.gateway.kind,
    state,
    current: state.currentKeyId
      ? {
          keyId: state.currentKeyId,
          ...(state.currentExpiresOn ? { expiresOn: state.currentExpiresOn, daysLeft: Math.round(((Date.parse(state.currentExpiresOn) - now.getTime()) / DAY_MS) * 10) / 10 } : {}),
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
  if (options.timeline) status.timeline = await readTimeline(runtime, set, status, { timeoutMs: options.liveTimeoutMs ?? 10_000, ...(signal ? { abortSignal: signal } : {}) });
  return status;
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
async function readTimeline(runtime: BuiltRuntime, set: CredentialSet, status: SetStatus, options: { timeoutMs: number; abortSignal?: AbortSignal }): Promise<SetTimeline> {
  const now = runtime.clock.now();
  const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, AbortSignal.timeout(options.timeoutMs)]) : AbortSignal.timeout(options.timeoutMs);
  const run = status.activeRun ?? status.lastRun;
  const fromJournal = (error: ErrorSummary): SetTimeline => {
    const creds: TimelineCredential[] = [];
    const add = (c: { keyId: string; hint: string | null; endDateTime: string; displayName?: string | null } | undefined, role: CredentialRole, start?: string): void => {
      if (c && !creds.some((x) => x.keyId === c.keyId)) creds.push({ keyId: c.keyId, displayName: c.displayName ?? null, hint: c.hint, startDateTime: start ?? c.endDateTime, endDateTime: c.endDateTime, role, daysLeft: daysLeft(now, c.endDateTime) });
    };
    add(run?.newCredential, run?.promotedVersion ? "current" : "pending", run?.createdAt);
    add(run?.previousCredential, "previous");
    return { credentials: creds, ...renewAndGrace(set, creds, run, undefined), error };
  };
  try {
    const clients = await runtime.clientsFor(set);
    const [app, versions] = await Promise.all([
      getSetApplication(clients.graph, set, { abortSignal: signal }),
      clients.vault.listVersions(set.keyVault.secretName, { abortSignal: signal }),
    ]);
    // The journal knows which credential was promoted last; versions created in the same second
    // cannot be ordered by their timestamps, so the listing's order is only the fallback.
    const enabled = versions.filter((v) => v.enabled);
    const currentKeyId = (status.state.currentKeyId ?? enabled[0]?.tags["keyId"])?.toLowerCase();
    const latest = enabled.find((v) => v.tags["keyId"]?.toLowerCase() === currentKeyId && v.tags["previousKeyId"]) ?? enabled.find((v) => v.tags["keyId"]?.toLowerCase() === currentKeyId) ?? enabled[0];
    const previousKeyId = latest?.tags["previousKeyId"]?.toLowerCase();
    const pendingKeyId = run && !FINISHED.has(run.status) && !run.promotedVersion ? run.newCredential?.keyId.toLowerCase() : undefined;
    const prefix = managedDisplayNamePrefix(set.name);
    const credentials = app.passwordCredentials
      .map((c): TimelineCredential => {
        const k = c.keyId.toLowerCase();
        const role: CredentialRole =
          k === currentKeyId ? "current" : k === pendingKeyId ? "pending" : k === previousKeyId ? "previous" : (c.displayName ?? "").startsWith(prefix) ? "managed" : "unmanaged";
        return { keyId: c.keyId, displayName: c.displayName, hint: c.hint, startDateTime: c.startDateTime, endDateTime: c.endDateTime, role, daysLeft: daysLeft(now, c.endDateTime) };
      })
      .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || Date.parse(a.endDateTime) - Date.parse(b.endDateTime));
    return { credentials, ...renewAndGrace(set, credentials, run, latest?.tags["retireAfter"]) };
  } catch (e) {
    return fromJournal(ensureRotatorError(e).toJSON());
  }
}

const ROLE_ORDER: Record<CredentialRole, number> = { current: 0, pending: 1, previous: 2, managed: 3, unmanaged: 4 };

function renewAndGrace(set: CredentialSet, creds: TimelineCredential[], run: RunJournal | undefined, retireAfterTag: string | undefined): Pick<SetTimeline, "renewDueAt" | "grace"> {
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

/** The GET /api/status answer (its shape is documented in the README; keep it stable). */
export function statusApiBody(snapshot: StatusSnapshot): Record<string, unknown> {
  return {
    at: snapshot.at,
    sets: snapshot.sets.map((s) => ({
      set: s.set,
      clientId: s.clientId,
      current: s.current ? { keyId: s.current.keyId, expiresOn: s.current.expiresOn, daysLeft: s.current.daysLeft } : null,
      nextRotationAt: s.state.nextRotationAt ?? null,
      lastRun: s.lastRun ? { runId: s.lastRun.runId, mode: s.lastRun.mode, status: s.lastRun.status, at: s.lastRun.updatedAt, step: s.lastRun.steps.at(-1)?.name, error: s.lastRun.error } : null,
      activeRun: s.activeRun ? { runId: s.activeRun.runId, status: s.activeRun.status, step: s.activeRun.steps.at(-1)?.name ?? "plan" } : null,
      lastSuccessAt: s.state.lastSuccessAt ?? null,
      targets: s.state.targetsVerified ?? { verified: 0, total: 0 },
      checks: s.probe ? s.probe.checks.map((c) => ({ id: c.id, status: c.status, severity: c.severity, summary: c.summary, ...(c.aadsts !== undefined ? { aadsts: c.aadsts } : {}) })) : [],
      checkedAt: s.probe?.startedAt ?? null,
      openIncidents: s.incidents.map((i) => ({ dedupKey: i.dedupKey, check: i.check, severity: i.severity, title: i.title, openedAt: i.openedAt, runId: i.runId })),
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
