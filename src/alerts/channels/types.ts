import type { AlertChannelConfig, Severity } from "../../config/schema.js";
import type { Clock } from "../../clock.js";
import type { HttpClient } from "../../http/client.js";
import type { Redactor } from "../../redact.js";
import type { SecretStore } from "../../vault/types.js";
import type { AlertEvent } from "../model.js";

export type ChannelKind = AlertChannelConfig["kind"];

/** The outcome of one send; secret-free, kept in the delivery log and shown by /api/status. */
export interface DeliveryResult {
  channel: string;
  kind: ChannelKind;
  ok: boolean;
  /** The channel chose not to send this event (e.g. Opsgenie has no informational alerts). */
  skipped?: boolean;
  status?: number;
  attempts: number;
  /** Stable code on failure, e.g. ALERT_SLACK_NO_SERVICE, HTTP_TIMEOUT. */
  code?: string;
  /** Secret-free reason (upstream error string, or what went wrong). */
  reason?: string;
  hint?: string;
  retryable?: boolean;
  at: string;
}

export interface SendOptions {
  abortSignal?: AbortSignal;
}

export interface AlertChannel {
  readonly name: string;
  readonly kind: ChannelKind;
  readonly minSeverity: Severity;
  /** Never throws for delivery problems: the result says what happened. */
  send(event: AlertEvent, options?: SendOptions): Promise<DeliveryResult>;
  /** Reads the channel's credentials ahead of the first send, so every payload can be guarded against all of them. */
  prepare?(options?: SendOptions): Promise<void>;
}

/** What every channel factory receives; exactly the dependencies a channel uses. */
export interface ChannelDeps<C extends AlertChannelConfig> {
  config: C;
  secrets: SecretStore;
  http: HttpClient;
  clock: Clock;
  /** Shared redactor: the channel registers its URL/key so no log line can carry them. */
  redactor?: Redactor;
  /** Who is sending (PagerDuty source/client, Opsgenie source); default "mcp-sso-rotator". */
  source?: string;
  /** Per-request timeout; the dispatcher also bounds the whole send. */
  timeoutInMs?: number;
  /** Retries per request (429/Retry-After and 5xx; alerts prefer a duplicate over a lost page). */
  maxRetries?: number;
  /** Credential parts of every channel (createChannels shares one set); no payload may carry any of them. */
  knownSecrets?: Set<string>;
}
