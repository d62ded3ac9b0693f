/**
 * The alerting half of the oracle: does a critical condition reach every channel whose minimum
 * severity allows it, and is it resolved everywhere once it clears? Like `oracle.ts` it imports
 * nothing from `src/`: it reads what the receivers accepted (their ground truth) and relies only on
 * the contract docs/alerts.md publishes (§ Alerts):
 * - one incident per (set, check), dedup key `mcp-sso-rotator.<set>.<check>`, which is PagerDuty's
 *   `dedup_key` and Opsgenie's `alias`;
 * - the webhook body carries `type` (`opened`, `updated`, `repeat`, `resolved`, `event`) and
 *   `incident.dedupKey`;
 * - a resolve goes to exactly the channels that received the opening.
 */
type Severity = "info" | "warning" | "error" | "critical";
const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2, critical: 3 };

interface AcceptedLike {
  path: string;
  body: unknown;
}
interface ReceiverLike {
  accepted(): AcceptedLike[];
}
export interface Receivers {
  teams: ReceiverLike;
  slack: ReceiverLike;
  pagerduty: ReceiverLike & { alerts(): { dedupKey: string; status: string; severity: string }[] };
  opsgenie: ReceiverLike & { alerts(): { alias: string; status: string }[] };
  webhook: ReceiverLike;
}
export type Channel = keyof Receivers;
const CHANNELS: readonly Channel[] = ["teams", "slack", "pagerduty", "opsgenie", "webhook"];

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});

export class AlertOracle {
  private readonly prefix: string;
  private start: Record<Channel, number>;
  private mark: Record<Channel, number>;

  constructor(
    private readonly rx: Receivers,
    set: string,
    /** Each channel's configured minimum severity. */
    private readonly minSeverity: Record<Channel, Severity>,
  ) {
    this.prefix = `mcp-sso-rotator.${set}.`;
    this.start = this.cursors();
    this.mark = this.start;
  }

  private cursors(): Record<Channel, number> {
    return Object.fromEntries(CHANNELS.map((c) => [c, this.rx[c].accepted().length])) as Record<Channel, number>;
  }

  private since(c: Channel, from: Record<Channel, number>): AcceptedLike[] {
    return this.rx[c].accepted().slice(from[c]);
  }

  /** From now on, `reached` and `resolved` look only at what arrives after this call. */
  setMark(): void {
    this.mark = this.cursors();
  }

  /** This set's incidents whose opening reached `channel` since `from`, by dedup key. */
  private opened(channel: "pagerduty" | "opsgenie" | "webhook", from: Record<Channel, number>): Set<string> {
    const keys = new Set<string>();
    for (const a of this.since(channel, from)) {
      // The Opsgenie receiver records {action, identifier, body}; the others the request body itself.
      const b = obj(a.body);
      const key =
        channel === "pagerduty"
          ? b["event_action"] === "trigger"
            ? b["dedup_key"]
            : undefined
          : channel === "opsgenie"
            ? b["action"] === "create"
              ? b["identifier"]
              : undefined
            : b["type"] === "opened"
              ? obj(b["incident"])["dedupKey"]
              : undefined;
      if (typeof key === "string" && key.startsWith(this.prefix)) keys.add(key);
    }
    return keys;
  }

  /**
   * Every incident of this set that a channel heard open since the schedule began is resolved on
   * that channel now (PagerDuty resolved, Opsgenie closed, the webhook's last word `resolved`).
   */
  settled(): string[] {
    const out: string[] = [];
    // A warning or an info may rightly stay open on a converged estate (a hand-made credential that
    // expires soon is still there); what pages (error, critical) must have cleared.
    const last = new Map<string, { type: string; severity: string }>();
    for (const a of this.since("webhook", this.start)) {
      const b = obj(a.body);
      const incident = obj(b["incident"]);
      const key = incident["dedupKey"];
      if (typeof key === "string" && key.startsWith(this.prefix) && b["type"] !== "event")
        last.set(key, { type: String(b["type"]), severity: String(incident["severity"]) });
    }
    const pages = (k: string): boolean => {
      const l = last.get(k);
      return l === undefined || l.type === "resolved" || RANK[l.severity as Severity] >= RANK.error;
    };
    const pd = new Map(this.rx.pagerduty.alerts().map((a) => [a.dedupKey, a.status]));
    for (const k of this.opened("pagerduty", this.start))
      if (pages(k) && pd.get(k) !== "resolved") out.push(`PagerDuty alert ${k} is still ${pd.get(k) ?? "unknown"} after the estate converged`);
    const og = new Map(this.rx.opsgenie.alerts().map((a) => [a.alias, a.status]));
    for (const k of this.opened("opsgenie", this.start))
      if (pages(k) && og.get(k) !== "closed") out.push(`Opsgenie alert ${k} is still ${og.get(k) ?? "unknown"} after the estate converged`);
    for (const [k, l] of last)
      if (pages(k) && l.type !== "resolved")
        out.push(`the webhook's last word on ${k} (${l.severity}) is "${l.type}" after the estate converged, not "resolved"`);
    return out;
  }

  /** Since the mark, a critical incident of this set reached every channel whose minimum severity allows critical. */
  reached(): string[] {
    const out: string[] = [];
    const pdKeys = this.opened("pagerduty", this.mark);
    for (const c of CHANNELS) {
      if (RANK[this.minSeverity[c]] > RANK.critical) continue;
      const got =
        c === "pagerduty" || c === "opsgenie" || c === "webhook"
          ? this.opened(c, this.mark).size > 0
          : this.since(c, this.mark).some((a) => JSON.stringify(a.body).includes(this.prefix.slice("mcp-sso-rotator.".length, -1)));
      if (!got) out.push(`a critical condition (an MCP server holding a secret Entra refuses) never reached ${c} (minimum severity ${this.minSeverity[c]})`);
    }
    const severities = this.rx.pagerduty
      .accepted()
      .slice(this.mark.pagerduty)
      .map((a) => obj(a.body))
      .filter((b) => pdKeys.has(String(b["dedup_key"])))
      .map((b) => obj(b["payload"])["severity"]);
    if (pdKeys.size > 0 && !severities.includes("critical"))
      out.push(`the incident paged with severity ${severities.join("/")}, not critical, for an MCP server whose sign-ins fail`);
    return out;
  }

  /** Since the mark, every incident that reached a channel since `openedFrom` was resolved there. */
  resolved(openedFrom: "mark" | "start" = "mark"): string[] {
    const from = openedFrom === "mark" ? this.mark : this.start;
    const out = this.settledFrom(from);
    for (const c of ["teams", "slack"] as const) {
      if (this.since(c, from).length === 0) continue;
      if (!this.since(c, from).some((a) => /resolved/i.test(JSON.stringify(a.body)))) out.push(`${c} heard the incident open but never resolved`);
    }
    return out;
  }

  private settledFrom(from: Record<Channel, number>): string[] {
    const saved = this.start;
    this.start = from;
    try {
      return this.settled();
    } finally {
      this.start = saved;
    }
  }
}
