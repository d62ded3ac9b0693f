import type { Severity } from "../config/schema.js";
import { DAY_MS, type Clock } from "../clock.js";
import { RotatorError, ensureRotatorError } from "../errors.js";
import { silentLogger, type Logger } from "../logging.js";
import { Redactor } from "../redact.js";
import type { AlertNotifier, NotifyOutcome } from "./dispatcher.js";
import type { IncidentStore } from "./incidentStore.js";
import {
  EXPIRY_AT_RISK_CHECK,
  ROTATION_CHECK,
  RUN_FAILURE_CHECK,
  RUN_STALLED_CHECK,
  dedupKeyFor,
  mayHaveHeard,
  type AlertEventType,
  type Evidence,
  type Incident,
  type IncidentLinks,
} from "./model.js";
import { RETIRE_HELD_CHECK } from "../rotation/retirementEvidence.js";
import { sameEvidence, sanitizeEvidence, sanitizeText, stableText } from "./sanitize.js";

/**
 * Turns a stream of check results into notifications on-call can live with: one incident per
 * (set, check), announced once, re-announced when it changes or after the repeat interval, and
 * resolved only after N consecutive healthy reports (a single good probe between failures does not
 * resolve and re-open). The incident is written (conditionally) before anything is sent, so two
 * instances reporting the same failure at once announce it once.
 */
export interface CheckReport {
  healthy: boolean;
  /** Severity when unhealthy. */
  severity?: Severity;
  title?: string;
  hint?: string;
  evidence?: Evidence;
  runId?: string;
}

export interface ReportOutcome {
  /** The notification this report caused, or "none". */
  notification: AlertEventType | "none";
  incident?: Incident;
  delivery?: NotifyOutcome;
}

export type RotationEventInput =
  | { type: "started"; runId: string; mode?: string }
  | { type: "succeeded"; runId: string; detail?: string }
  | {
      type: "failed";
      runId: string;
      step?: string;
      code?: string;
      hint?: string;
      message?: string;
      /** The current secret's expiry; within the renewal window a failure is critical. */
      secretExpiresOn?: Date | string;
      renewalWindowDays?: number;
      /** The caller knows a target may be left without a working secret. */
      outageRisk?: boolean;
      /** MCP servers left on anything but the current secret: always critical, named in the incident. */
      staleTargets?: string[];
    }
  | { type: "awaiting_confirmation"; runId: string; targets: string[]; hint?: string }
  | {
      /** A pass that made no progress because of errors; an incident only once `since` is older than `budgetMs`. */
      type: "stalled";
      runId: string;
      since: Date | string;
      budgetMs: number;
      step?: string;
      code?: string;
      message?: string;
      hint?: string;
      /** The secret the run replaces: critical once it ends within the grace period. */
      oldSecretExpiresOn?: Date | string;
      gracePeriodHours: number;
    }
  /** A pass moved the run forward: a stalled-run incident resolves at once. */
  | { type: "progressed"; runId: string }
  | { type: "expiry_at_risk"; runId?: string; secretExpiresOn: Date | string; hint?: string; detail?: string };

export interface IncidentManagerOptions {
  store: IncidentStore;
  clock: Clock;
  notifier: AlertNotifier;
  /** Re-notify an unchanged open incident after this long; default 4 h. */
  repeatIntervalMs?: number;
  /** Consecutive healthy reports that resolve an incident; default 2. */
  resolveAfterHealthy?: number;
  logger?: Logger;
  /** Known secret values (shared with the HTTP layer and logger); scrubbed from titles, hints and evidence. */
  redactor?: Redactor;
  /** Builds the status / run links shown in notifications. */
  links?: (ctx: { set: string; runId?: string }) => IncidentLinks;
}

const MAX_CONFLICT_RETRIES = 5;

export class IncidentManager {
  private readonly store: IncidentStore;
  private readonly clock: Clock;
  private readonly notifier: AlertNotifier;
  private readonly repeatIntervalMs: number;
  private readonly resolveAfterHealthy: number;
  private readonly logger: Logger;
  private readonly redactor: Redactor;
  private readonly links: (ctx: { set: string; runId?: string }) => IncidentLinks;

  constructor(options: IncidentManagerOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.notifier = options.notifier;
    this.repeatIntervalMs = options.repeatIntervalMs ?? 4 * 3_600_000;
    this.resolveAfterHealthy = Math.max(1, Math.floor(options.resolveAfterHealthy ?? 2));
    this.logger = options.logger ?? silentLogger;
    this.redactor = options.redactor ?? new Redactor();
    this.links = options.links ?? (() => ({}));
  }

  async report(set: string, check: string, input: CheckReport, options: { abortSignal?: AbortSignal } = {}): Promise<ReportOutcome> {
    if (!input.healthy && !input.severity) {
      throw new RotatorError("ALERT_REPORT_INVALID", `report(${set}, ${check}) is unhealthy but has no severity`, {
        hint: "Give every unhealthy check result a severity (info, warning, error, critical).",
      });
    }
    const dedupKey = dedupKeyFor(set, check);
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.get(set, dedupKey, options);
      const now = this.clock.now();
      const decision = this.decide(stored?.incident, set, check, dedupKey, input, now);
      if (!decision) return { notification: "none", ...(stored ? { incident: stored.incident } : {}) };
      let etag: string;
      try {
        etag = await this.store.put(decision.incident, { ...(stored ? { ifMatch: stored.etag } : {}), ...options });
      } catch (e) {
        if (ensureRotatorError(e).code === "STORAGE_CONFLICT" && attempt < MAX_CONFLICT_RETRIES) continue;
        throw e;
      }
      // Only the writer that won the conditional write announces.
      if (!decision.notify) return { notification: "none", incident: decision.incident };
      return this.announce(decision.incident, etag, decision.notify, options.abortSignal);
    }
  }

  /** Rotation lifecycle: informational events, and the run-failure / confirmation / expiry incidents. */
  async rotationEvent(set: string, input: RotationEventInput, options: { abortSignal?: AbortSignal } = {}): Promise<ReportOutcome[]> {
    const now = this.clock.now();
    switch (input.type) {
      case "started":
        return [
          await this.announceEvent(
            set,
            input.runId,
            `Rotation run ${input.runId} started${input.mode ? ` (${input.mode})` : ""}`,
            "No action needed; a failure would open an incident.",
            { runId: input.runId, ...(input.mode ? { mode: input.mode } : {}) },
            options.abortSignal,
          ),
        ];
      case "succeeded": {
        const outcomes = [
          await this.announceEvent(
            set,
            input.runId,
            `Rotation run ${input.runId} succeeded`,
            "No action needed; the new secret is verified at Entra and on every target.",
            { runId: input.runId, ...(input.detail ? { detail: input.detail } : {}) },
            options.abortSignal,
          ),
        ];
        // A completed rotation is definitive: no need to wait for N healthy reports.
        for (const check of [RUN_FAILURE_CHECK, ROTATION_CHECK, EXPIRY_AT_RISK_CHECK, RETIRE_HELD_CHECK, RUN_STALLED_CHECK]) {
          const o = await this.resolveNow(set, check, input.runId, options);
          if (o) outcomes.push(o);
        }
        return outcomes;
      }
      case "failed":
        return [await this.report(set, RUN_FAILURE_CHECK, runFailureReport(input, now), options)];
      case "stalled": {
        const report = stalledReport(input, now);
        return report ? [await this.report(set, RUN_STALLED_CHECK, report, options)] : [];
      }
      case "progressed": {
        const o = await this.resolveNow(set, RUN_STALLED_CHECK, input.runId, options);
        return o ? [o] : [];
      }
      case "awaiting_confirmation":
        return [
          await this.report(
            set,
            ROTATION_CHECK,
            {
              healthy: false,
              severity: "warning",
              title: `Rotation run ${input.runId} waits for an operator: update ${input.targets.length} target(s) by hand`,
              hint:
                input.hint ??
                `Paste the new client secret (Key Vault, current version) into each listed MCP server's Authentication step, then POST /api/rotations/${input.runId}/confirm. The old secret is kept until then.`,
              // The servers still to do (those confirmed one by one drop out), each with where to edit it in the gateway console.
              evidence: {
                targets: [...input.targets].sort(),
                consolePaths: [...input.targets].sort().map((name) => `gateway console → MCP servers → ${name} → Authentication → client secret`),
              },
              runId: input.runId,
            },
            options,
          ),
        ];
      case "expiry_at_risk": {
        const expires = new Date(input.secretExpiresOn);
        return [
          await this.report(
            set,
            EXPIRY_AT_RISK_CHECK,
            {
              healthy: false,
              severity: "critical",
              title: `Client secret expires ${expires.toISOString().slice(0, 10)} (${Math.floor((expires.getTime() - now.getTime()) / DAY_MS)} days left) and rotation has not replaced it`,
              hint: input.hint ?? "Trigger POST /api/rotations with mode emergency, or rotate by hand; every MCP server's sign-in fails when it expires.",
              evidence: {
                secretExpiresOn: expires.toISOString(),
                ...(input.detail ? { detail: input.detail } : {}),
              },
              ...(input.runId ? { runId: input.runId } : {}),
            },
            options,
          ),
        ];
      }
    }
  }

  /** Open incidents (of one set, or all) for GET /api/status, most severe first. */
  async listOpen(set?: string, options: { abortSignal?: AbortSignal } = {}): Promise<Incident[]> {
    const all = await this.store.list(set, options);
    const rank = { critical: 0, error: 1, warning: 2, info: 3 } as const;
    return all.filter((i) => i.state === "open").sort((a, b) => rank[a.severity] - rank[b.severity] || a.openedAt.localeCompare(b.openedAt));
  }

  /**
   * An operator closes an open incident by hand (the CLI's `incidents --resolve <key>`): resolved at
   * once, without waiting for healthy probes, and announced to exactly the channels that received
   * its opening. A check that still fails opens a new incident on the next probe.
   */
  async resolveManually(dedupKey: string, options: { abortSignal?: AbortSignal } = {}): Promise<ReportOutcome | undefined> {
    const open = (await this.listOpen(undefined, options)).find((i) => i.dedupKey === dedupKey);
    if (!open) return undefined;
    return this.resolveAndAnnounce(open.set, dedupKey, {}, options);
  }

  /** Sends "repeat" for open incidents nobody reported on lately (call from the health timer). */
  async renotifyDue(options: { abortSignal?: AbortSignal } = {}): Promise<ReportOutcome[]> {
    const out: ReportOutcome[] = [];
    // A resolve a channel missed (it was down) is sent again: otherwise its page stays open for ever.
    for (const i of (await this.store.list(undefined, options)).filter((x) => x.state === "resolved" && x.pendingChannels.length > 0)) {
      const stored = await this.store.get(i.set, i.dedupKey, options);
      if (!stored || stored.incident.state !== "resolved" || stored.incident.pendingChannels.length === 0) continue;
      out.push(await this.announce(stored.incident, stored.etag, "pending", options.abortSignal));
    }
    for (const i of await this.listOpen(undefined, options)) {
      if (this.clock.now().getTime() - Date.parse(i.lastNotifiedAt) < this.repeatIntervalMs) continue;
      const stored = await this.store.get(i.set, i.dedupKey, options);
      if (!stored || stored.incident.state !== "open") continue;
      const next = { ...stored.incident, lastNotifiedAt: this.clock.now().toISOString() };
      try {
        const etag = await this.store.put(next, { ifMatch: stored.etag, ...options });
        out.push(await this.announce(next, etag, "repeat", options.abortSignal));
      } catch (e) {
        if (ensureRotatorError(e).code !== "STORAGE_CONFLICT") throw e;
        // Another instance is handling this incident right now.
      }
    }
    return out;
  }

  private decide(
    cur: Incident | undefined,
    set: string,
    check: string,
    dedupKey: string,
    input: CheckReport,
    now: Date,
  ): { incident: Incident; notify?: AlertEventType | "pending" } | undefined {
    const at = now.toISOString();
    if (input.healthy) {
      if (cur && cur.state === "resolved" && cur.pendingChannels.length > 0) return { incident: cur, notify: "pending" };
      if (!cur || cur.state !== "open") return undefined;
      const streak = cur.healthyStreak + 1;
      if (streak < this.resolveAfterHealthy) return { incident: { ...cur, healthyStreak: streak } };
      return { incident: { ...cur, state: "resolved", healthyStreak: streak, updatedAt: at, resolvedAt: at, pendingChannels: [] }, notify: "resolved" };
    }

    const severity = input.severity!;
    const title = sanitizeText(input.title ?? `${check} failed`, this.redactor);
    const hint = sanitizeText(input.hint ?? "See GET /api/status for details.", this.redactor);
    const evidence = sanitizeEvidence(input.evidence, this.redactor);
    const runId = input.runId ?? cur?.runId;
    const links = this.links({ set, ...(runId ? { runId } : {}) });

    if (!cur || cur.state !== "open") {
      return {
        incident: {
          dedupKey,
          set,
          check,
          severity,
          title,
          hint,
          evidence,
          state: "open",
          openedAt: at,
          updatedAt: at,
          lastNotifiedAt: at,
          healthyStreak: 0,
          ...(runId ? { runId } : {}),
          links,
          deliveredTo: [],
          pendingChannels: [],
        },
        notify: "opened",
      };
    }

    const changed = cur.severity !== severity || !sameEvidence(cur.evidence, evidence);
    const base: Incident = { ...cur, severity, title, hint, evidence, healthyStreak: 0, ...(runId ? { runId } : {}), links };
    if (changed) return { incident: { ...base, updatedAt: at, lastNotifiedAt: at }, notify: "updated" };
    if (now.getTime() - Date.parse(cur.lastNotifiedAt) >= this.repeatIntervalMs) {
      return { incident: { ...base, lastNotifiedAt: at }, notify: "repeat" };
    }
    if (cur.pendingChannels.length > 0) return { incident: base, notify: "pending" };
    // Unchanged and not due: write only if the healthy streak needs resetting.
    return cur.healthyStreak > 0 ? { incident: base } : undefined;
  }

  /** Sends the notification, then records which channels got it (merged into the latest version). */
  private async announce(incident: Incident, etag: string, kind: AlertEventType | "pending", abortSignal?: AbortSignal): Promise<ReportOutcome> {
    let delivery: NotifyOutcome;
    let type: AlertEventType;
    if (kind === "pending" && incident.state === "resolved") {
      type = "resolved";
      delivery = await this.notifier.notify({ type, incident }, { only: incident.pendingChannels, ...(abortSignal ? { abortSignal } : {}) });
    } else if (kind === "pending") {
      // Channels that missed the opening get the opening; the others get the current state.
      const missedOpening = incident.pendingChannels.filter((c) => !incident.deliveredTo.includes(c));
      const missedUpdate = incident.pendingChannels.filter((c) => incident.deliveredTo.includes(c));
      const merged: NotifyOutcome = { delivered: [], failed: [], skipped: [], results: [] };
      for (const [t, only] of [
        ["opened", missedOpening],
        ["updated", missedUpdate],
      ] as const) {
        if (only.length === 0) continue;
        const o = await this.notifier.notify({ type: t, incident }, { only, ...(abortSignal ? { abortSignal } : {}) });
        merged.delivered.push(...o.delivered);
        merged.failed.push(...o.failed);
        merged.skipped.push(...o.skipped);
        merged.results.push(...o.results);
      }
      delivery = merged;
      type = missedOpening.length > 0 ? "opened" : "updated";
    } else {
      type = kind;
      delivery = await this.notifier.notify({ type, incident }, abortSignal ? { abortSignal } : {});
    }

    const recorded = await this.recordDelivery(incident, etag, type, delivery);
    this.logger
      .child({ set: incident.set, incident: incident.dedupKey })
      .info(`${type} (${incident.severity}) delivered=[${delivery.delivered.join(",")}] failed=[${delivery.failed.join(",")}]`);
    return { notification: kind === "pending" ? type : kind, incident: recorded, delivery };
  }

  private async recordDelivery(incident: Incident, etag: string, type: AlertEventType, delivery: NotifyOutcome): Promise<Incident> {
    const apply = (i: Incident): Incident => {
      // A channel that heard (or may have heard) the opening but missed the resolve keeps paging: it gets it again.
      if (type === "resolved") return { ...i, pendingChannels: delivery.failed.filter((c) => mayHaveHeard(i, c)).sort() };
      const deliveredTo = [...new Set([...i.deliveredTo, ...delivery.delivered])].sort();
      const unanswered = delivery.results
        .filter((r) => !r.ok && !r.skipped && (r.status === undefined || (r.status >= 200 && r.status < 300)))
        .map((r) => r.channel);
      const unconfirmedTo = [...new Set([...(i.unconfirmedTo ?? []), ...unanswered])].filter((c) => !deliveredTo.includes(c)).sort();
      const pending = new Set(i.pendingChannels.filter((c) => !delivery.delivered.includes(c)));
      for (const c of delivery.failed) pending.add(c);
      return { ...i, deliveredTo, ...(unconfirmedTo.length ? { unconfirmedTo } : {}), pendingChannels: [...pending].sort() };
    };
    let current = incident;
    let currentEtag = etag;
    for (let attempt = 1; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      const next = apply(current);
      try {
        await this.store.put(next, { ifMatch: currentEtag });
        return next;
      } catch (e) {
        if (ensureRotatorError(e).code !== "STORAGE_CONFLICT") {
          this.logger.warn(`could not record delivery of ${incident.dedupKey}: ${ensureRotatorError(e).message}`);
          return next;
        }
        const fresh = await this.store.get(incident.set, incident.dedupKey);
        if (!fresh || fresh.incident.openedAt !== incident.openedAt) return next; // re-opened or gone: stale bookkeeping
        current = fresh.incident;
        currentEtag = fresh.etag;
      }
    }
    return apply(current);
  }

  private async resolveNow(set: string, check: string, runId: string, options: { abortSignal?: AbortSignal }): Promise<ReportOutcome | undefined> {
    return this.resolveAndAnnounce(set, dedupKeyFor(set, check), { runId, links: this.links({ set, runId }) }, options);
  }

  /**
   * Resolves the open incident `dedupKey` of `set` (with `fields` added to the record) and announces
   * it to the channels that received its opening, retrying on a write conflict. Undefined when it
   * is not open, or no longer.
   */
  private async resolveAndAnnounce(
    set: string,
    dedupKey: string,
    fields: Partial<Pick<Incident, "runId" | "links">>,
    options: { abortSignal?: AbortSignal },
  ): Promise<ReportOutcome | undefined> {
    for (let attempt = 1; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      const stored = await this.store.get(set, dedupKey, options);
      if (!stored || stored.incident.state !== "open") return undefined;
      const at = this.clock.now().toISOString();
      const next: Incident = { ...stored.incident, state: "resolved", resolvedAt: at, updatedAt: at, ...fields, pendingChannels: [] };
      try {
        const etag = await this.store.put(next, { ifMatch: stored.etag, ...options });
        return await this.announce(next, etag, "resolved", options.abortSignal);
      } catch (e) {
        if (ensureRotatorError(e).code !== "STORAGE_CONFLICT") throw e;
      }
    }
    return undefined;
  }

  private async announceEvent(set: string, runId: string, title: string, hint: string, evidence: Evidence, abortSignal?: AbortSignal): Promise<ReportOutcome> {
    const at = this.clock.now().toISOString();
    // Informational: not stored, never repeated or resolved.
    const incident: Incident = {
      dedupKey: dedupKeyFor(set, `${ROTATION_CHECK}.${runId}`),
      set,
      check: ROTATION_CHECK,
      severity: "info",
      title: sanitizeText(title, this.redactor),
      hint,
      evidence: sanitizeEvidence(evidence, this.redactor),
      state: "resolved",
      openedAt: at,
      updatedAt: at,
      lastNotifiedAt: at,
      healthyStreak: 0,
      runId,
      links: this.links({ set, runId }),
      deliveredTo: [],
      pendingChannels: [],
    };
    const delivery = await this.notifier.notify({ type: "event", incident }, abortSignal ? { abortSignal } : {});
    return { notification: "event", incident, delivery };
  }
}

/**
 * The run-failure incident of a failed run: critical when targets were left on the previous
 * secret, an outage is at risk or the secret is inside its renewal window; an error otherwise.
 */
/**
 * A run without progress: nothing within the set's budget (a 503 blip is the next pass's to
 * retry), a warning past it, critical once the secret being replaced ends within the grace period
 * — from then on the servers still holding it lose sign-in before a normal rotation could finish.
 */
function stalledReport(input: Extract<RotationEventInput, { type: "stalled" }>, now: Date): CheckReport | undefined {
  const since = new Date(input.since);
  const stalledMs = now.getTime() - since.getTime();
  if (!(stalledMs > input.budgetMs)) return undefined;
  const expires = input.oldSecretExpiresOn === undefined ? undefined : new Date(input.oldSecretExpiresOn);
  const critical = expires !== undefined && expires.getTime() - now.getTime() <= input.gracePeriodHours * 3_600_000;
  const minutes = (ms: number): string => `${Math.round(ms / 60_000)} min`;
  return {
    healthy: false,
    severity: critical ? "critical" : "warning",
    title: `Rotation run ${input.runId} has made no progress for ${minutes(stalledMs)} (budget ${minutes(input.budgetMs)})${input.step ? ` at step ${input.step}` : ""}${input.code ? `: ${input.code}` : ""}${critical && expires ? `; the secret it replaces ends ${expires.toISOString()}` : ""}`,
    hint:
      (input.hint ?? "Fix the failing dependency named in the run journal; the next pass retries.") +
      (critical
        ? " The old secret ends within the grace period: if the dependency cannot be fixed in time, update the MCP servers by hand with Key Vault's current secret."
        : ""),
    // Stable evidence only: the growing stall time would re-notify on every pass.
    evidence: {
      since: since.toISOString(),
      ...(input.step ? { step: input.step } : {}),
      ...(input.code ? { code: input.code } : {}),
      ...(input.message ? { message: stableText(input.message) } : {}),
      ...(expires ? { oldSecretExpiresOn: expires.toISOString() } : {}),
      withinGracePeriod: critical,
    },
    runId: input.runId,
  };
}

function runFailureReport(input: Extract<RotationEventInput, { type: "failed" }>, now: Date): CheckReport {
  const expires = input.secretExpiresOn === undefined ? undefined : new Date(input.secretExpiresOn);
  const windowDays = input.renewalWindowDays ?? 0;
  const inWindow = expires !== undefined && expires.getTime() - now.getTime() <= windowDays * DAY_MS;
  const stale = [...(input.staleTargets ?? [])].sort();
  const critical = input.outageRisk === true || inWindow || stale.length > 0;
  return {
    healthy: false,
    severity: critical ? "critical" : "error",
    title: `Rotation failed${input.step ? ` at step ${input.step}` : ""}${input.code ? ` (${input.code})` : ""}${stale.length ? `: ${stale.length} MCP server(s) left on the previous secret` : ""}`,
    hint: input.hint ?? "See the run journal for the failing step; the next scheduled run resumes from it.",
    // The run ID is kept on the incident, not in the evidence: the next run failing the
    // same way is the same problem, not an update.
    evidence: {
      ...(input.step ? { step: input.step } : {}),
      ...(input.code ? { code: input.code } : {}),
      ...(input.message ? { message: stableText(input.message) } : {}),
      // The expiry date is stable; a shrinking "days left" would re-notify every day.
      ...(expires ? { secretExpiresOn: expires.toISOString() } : {}),
      ...(input.outageRisk ? { outageRisk: true } : {}),
      ...(stale.length ? { staleTargets: stale.slice(0, 50) } : {}),
    },
    runId: input.runId,
  };
}
