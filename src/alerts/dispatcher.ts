import type { Severity } from "../config/schema.js";
import type { Clock } from "../clock.js";
import { ensureRotatorError } from "../errors.js";
import type { Logger } from "../logging.js";
import type { AlertChannel, ChannelKind, DeliveryResult } from "./channels/types.js";
import { mayHaveHeard, severityAtLeast, type AlertEvent } from "./model.js";

/**
 * Fans one alert event out to every eligible channel. Channels are independent: each runs under
 * its own deadline, a failure or hang in one never delays or fails another, and `dispatch` never
 * throws. What happened is returned and kept, secret-free, for GET /api/status.
 */
export interface NotifyOptions {
  abortSignal?: AbortSignal;
  /** Restrict to these channel names (retrying the channels that missed a notification). */
  only?: readonly string[];
}

export interface NotifyOutcome {
  /** Channels that accepted the event. */
  delivered: string[];
  /** Eligible channels that did not. */
  failed: string[];
  /** Channels that chose not to send it (e.g. Opsgenie for informational events). */
  skipped: string[];
  results: DeliveryResult[];
}

/** What the incident manager needs from a dispatcher. */
export interface AlertNotifier {
  notify(event: AlertEvent, options?: NotifyOptions): Promise<NotifyOutcome>;
}

export interface ChannelDeliveryStatus {
  channel: string;
  kind: ChannelKind;
  minSeverity: Severity;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  consecutiveFailures: number;
  lastFailure?: {
    at: string;
    code?: string;
    reason?: string;
    hint?: string;
    status?: number;
    eventType: AlertEvent["type"];
    dedupKey: string;
  };
}

export interface AlertDispatcherOptions {
  channels: readonly AlertChannel[];
  logger: Logger;
  clock: Clock;
  /** Upper bound for one channel's whole send, retries included; default 60 s. */
  channelTimeoutInMs?: number;
}

export class AlertDispatcher implements AlertNotifier {
  private readonly channels: readonly AlertChannel[];
  private readonly status = new Map<string, ChannelDeliveryStatus>();
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly channelTimeoutInMs: number;
  private prepared?: Promise<void>;

  constructor(options: AlertDispatcherOptions) {
    this.channels = options.channels;
    this.logger = options.logger;
    this.clock = options.clock;
    this.channelTimeoutInMs = options.channelTimeoutInMs ?? 60_000;
    for (const c of this.channels) {
      this.status.set(c.name, { channel: c.name, kind: c.kind, minSeverity: c.minSeverity, consecutiveFailures: 0 });
    }
  }

  /**
   * Whether a channel should get this event: by severity for openings, repeats and informational
   * events; an update also reaches channels that already hold the incident (so a downgrade lands
   * where the page is); a resolve goes exactly to the channels that received the opening.
   */
  eligible(channel: AlertChannel, event: AlertEvent): boolean {
    const i = event.incident;
    const bySeverity = severityAtLeast(i.severity, channel.minSeverity);
    switch (event.type) {
      case "resolved":
        return mayHaveHeard(i, channel.name);
      case "updated":
        return bySeverity || i.deliveredTo.includes(channel.name);
      default:
        return bySeverity;
    }
  }

  async notify(event: AlertEvent, options: NotifyOptions = {}): Promise<NotifyOutcome> {
    return this.dispatch(event, options);
  }

  /**
   * Reads every channel's credentials once (also done before the first dispatch), so each payload
   * is guarded against all of them — a Slack URL pasted into an incident never reaches Teams.
   */
  prepare(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    this.prepared ??= Promise.allSettled(
      this.channels.map((c) =>
        c.prepare ? Promise.race([c.prepare(options), new Promise<void>((r) => setTimeout(r, this.channelTimeoutInMs).unref())]) : Promise.resolve(),
      ),
    ).then(() => undefined);
    return this.prepared;
  }

  async dispatch(event: AlertEvent, options: NotifyOptions = {}): Promise<NotifyOutcome> {
    await this.prepare(options.abortSignal ? { abortSignal: options.abortSignal } : {});
    const targets = this.channels.filter((c) => this.eligible(c, event) && (!options.only || options.only.includes(c.name)));
    const settled = await Promise.allSettled(targets.map((c) => this.sendOne(c, event, options.abortSignal)));
    const results = settled.map((s, idx) => (s.status === "fulfilled" ? s.value : this.thrown(targets[idx]!, s.reason)));
    const outcome: NotifyOutcome = { delivered: [], failed: [], skipped: [], results };
    for (const r of results) {
      if (r.skipped) outcome.skipped.push(r.channel);
      else if (r.ok) outcome.delivered.push(r.channel);
      else outcome.failed.push(r.channel);
      this.record(r, event);
    }
    return outcome;
  }

  /** Per-channel delivery state, secret-free, for /api/status. */
  deliveryLog(): ChannelDeliveryStatus[] {
    return [...this.status.values()].map((s) => ({ ...s, ...(s.lastFailure ? { lastFailure: { ...s.lastFailure } } : {}) }));
  }

  channelNames(): string[] {
    return this.channels.map((c) => c.name);
  }

  private async sendOne(channel: AlertChannel, event: AlertEvent, outer?: AbortSignal): Promise<DeliveryResult> {
    const deadline = new AbortController();
    const signal = outer ? AbortSignal.any([outer, deadline.signal]) : deadline.signal;
    let timer: NodeJS.Timeout | undefined;
    // The race guarantees the bound even for a channel that ignores its abort signal.
    const timeout = new Promise<DeliveryResult>((resolve) => {
      timer = setTimeout(() => {
        deadline.abort();
        resolve(
          this.failure(
            channel,
            "ALERT_CHANNEL_TIMEOUT",
            `no outcome within ${this.channelTimeoutInMs} ms`,
            "The channel did not answer in time; it is retried on the next report.",
            true,
          ),
        );
      }, this.channelTimeoutInMs);
    });
    try {
      return await Promise.race([channel.send(event, { abortSignal: signal }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private thrown(channel: AlertChannel, reason: unknown): DeliveryResult {
    const err = ensureRotatorError(reason, "ALERT_CHANNEL_CRASHED");
    return this.failure(channel, err.code, err.message, err.hint, err.retryable);
  }

  private failure(channel: AlertChannel, code: string, reason: string, hint: string, retryable: boolean): DeliveryResult {
    return { channel: channel.name, kind: channel.kind, ok: false, attempts: 0, code, reason, hint, retryable, at: this.clock.now().toISOString() };
  }

  private record(r: DeliveryResult, event: AlertEvent): void {
    const s = this.status.get(r.channel);
    if (!s) return;
    const i = event.incident;
    const log = this.logger.child({ channel: r.channel, set: i.set, incident: i.dedupKey });
    s.lastAttemptAt = r.at;
    if (r.skipped) {
      log.debug(`skipped ${event.type}: ${r.reason ?? ""}`);
    } else if (r.ok) {
      s.lastSuccessAt = r.at;
      s.consecutiveFailures = 0;
      log.info(`delivered ${event.type} (${i.severity}) status=${r.status ?? "-"} attempts=${r.attempts}`);
    } else {
      s.consecutiveFailures++;
      s.lastFailure = {
        at: r.at,
        ...(r.code ? { code: r.code } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.hint ? { hint: r.hint } : {}),
        ...(r.status !== undefined ? { status: r.status } : {}),
        eventType: event.type,
        dedupKey: i.dedupKey,
      };
      log.warn(`delivery of ${event.type} failed [code=${r.code ?? "?"}]: ${r.reason ?? ""} — ${r.hint ?? ""}`);
    }
  }
}
