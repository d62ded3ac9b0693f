import type { Clock } from "../../clock.js";
import { RotatorError, ensureRotatorError } from "../../errors.js";
import type { HttpClient, HttpResponse } from "../../http/client.js";
import { REDACTED, type Redactor } from "../../redact.js";
import type { SecretStore } from "../../vault/types.js";
import { outboundUrlProblem } from "../../config/outbound.js";
import type { AlertChannelConfig } from "../../config/schema.js";
import type { ChannelDeps, ChannelKind, DeliveryResult } from "./types.js";

export const DEFAULT_SOURCE = "mcp-sso-rotator";

/**
 * A channel's credential (webhook URL, routing key, API key), read from Key Vault on every send so
 * a rotated webhook is picked up at once; the last good value is kept in memory so a Key Vault
 * outage does not also silence the alert about it.
 */
export class ChannelSecret {
  private cached?: string;

  constructor(
    private readonly store: SecretStore,
    readonly secretName: string,
    private readonly channel: string,
    private readonly redactor?: Redactor,
    /** Shared by every channel: each payload is guarded against every channel's credentials. */
    private readonly registry?: Set<string>,
  ) {}

  async get(abortSignal?: AbortSignal): Promise<string> {
    let value: string | undefined;
    try {
      value = (await this.store.getLatest(this.secretName, { abortSignal }))?.value;
    } catch (e) {
      if (this.cached !== undefined) return this.cached;
      const err = ensureRotatorError(e);
      throw new RotatorError(
        "ALERT_CHANNEL_SECRET_UNAVAILABLE",
        `Channel ${this.channel}: Key Vault secret ${this.secretName} could not be read (${err.code})`,
        {
          hint: "Check that Key Vault is reachable and the function's identity can read secrets; the alert is retried on the next report.",
          retryable: true,
          cause: e,
        },
      );
    }
    if (!value) {
      throw new RotatorError(
        "ALERT_CHANNEL_SECRET_MISSING",
        `Channel ${this.channel}: Key Vault secret ${this.secretName} does not exist or has no enabled version`,
        {
          hint: `Create the Key Vault secret "${this.secretName}" holding the channel's URL or key (see docs/alerts.md, "Where the channel secrets live").`,
        },
      );
    }
    this.redactor?.add(value);
    for (const p of ChannelSecret.secretParts(value)) this.registry?.add(p);
    this.cached = value;
    return value;
  }

  /** Everything about the value that must never appear in a payload, log or error. */
  static secretParts(value: string): string[] {
    const parts = new Set<string>([value]);
    try {
      const u = new URL(value);
      if (u.pathname.length >= 8) parts.add(u.pathname);
      for (const seg of u.pathname.split("/")) if (seg.length >= 16) parts.add(seg);
      for (const [, v] of u.searchParams) if (v.length >= 16) parts.add(v);
    } catch {
      // Not a URL: a key.
    }
    return [...parts].filter((p) => p.length >= 8);
  }
}

export function scrub(text: string, secrets: readonly string[], redactor?: Redactor): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    out = out.split(s).join(REDACTED);
    const enc = encodeURIComponent(s);
    if (enc !== s) out = out.split(enc).join(REDACTED);
  }
  return redactor ? redactor.redact(out) : out;
}

/** Replaces any of the channel's own secret parts that made it into a body we are about to send. */
export function guardJson(body: string, secrets: readonly string[]): string {
  let out = body;
  for (const s of secrets) {
    const inJson = JSON.stringify(s).slice(1, -1);
    if (s && out.includes(inJson)) out = out.split(inJson).join(REDACTED);
  }
  return out;
}

/** How a channel reaches its API: the one HTTP client, with the channel's bound and retries. */
interface ChannelTransport {
  http: HttpClient;
  timeoutInMs?: number;
  maxRetries?: number;
}

export interface PostOptions {
  transport: ChannelTransport;
  url: string;
  /** A pre-serialised JSON body (sent byte for byte, so it can be signed) or a value to serialise. */
  body: unknown;
  method?: "POST" | "PUT";
  headers?: Record<string, string>;
  abortSignal?: AbortSignal;
  secrets: readonly string[];
}

/** One alert request: raw status back (never throws for HTTP errors), retried on 429 and 5xx. */
export async function postAlert<T = unknown>(o: PostOptions): Promise<HttpResponse<T>> {
  return o.transport.http.request<T>({
    method: o.method ?? "POST",
    url: o.url,
    json: typeof o.body === "string" ? o.body : JSON.stringify(o.body),
    headers: o.headers,
    abortSignal: o.abortSignal,
    timeoutInMs: o.transport.timeoutInMs,
    maxRetries: o.transport.maxRetries,
    // Every alert API here dedups (dedup_key, alias, delivery id) or tolerates a duplicate message;
    // a repeated 5xx retry is better than a page that never arrives.
    idempotent: true,
    throwOnHttpError: false,
    secrets: [...o.secrets],
  });
}

/**
 * What every channel sets up alike: its name, its credentials in Key Vault, the secrets none of its
 * payloads or results may carry — the parts of the credentials the current send read, plus every
 * channel's known credentials — and the result builder that scrubs them.
 */
export class ChannelBasis {
  readonly name: string;
  readonly results: ResultBuilder;
  private readonly known: Set<string>;
  private held: string[] = [];

  constructor(
    private readonly deps: ChannelDeps<AlertChannelConfig>,
    kind: ChannelKind,
  ) {
    this.name = deps.config.name ?? kind;
    this.known = deps.knownSecrets ?? new Set<string>();
    this.results = new ResultBuilder(this.name, kind, deps.clock, this.guard, deps.redactor);
  }

  /** A credential of this channel, registered with every channel's known secrets once read. */
  secret(secretName: string): ChannelSecret {
    return new ChannelSecret(this.deps.secrets, secretName, this.name, this.deps.redactor, this.known);
  }

  /**
   * Reads this send's credentials in order and holds them (trimmed where the service wants a bare
   * key). A failed read is the send's result, in our own wording: the caller reports it, and the
   * incident stays open for the next attempt.
   */
  async readCredentials(secrets: readonly ChannelSecret[], options: { abortSignal?: AbortSignal; trim?: boolean } = {}): Promise<string[] | DeliveryResult> {
    const values: string[] = [];
    try {
      for (const secret of secrets) {
        const value = await secret.get(options.abortSignal);
        values.push(options.trim ? value.trim() : value);
      }
    } catch (e) {
      return this.results.fromError(e, "Key Vault");
    }
    this.hold(...values);
    return values;
  }

  /** The credentials this send read: guarded from now until the next send holds its own. */
  hold(...values: string[]): void {
    this.held = values.flatMap((v) => ChannelSecret.secretParts(v));
  }

  /** Every secret this channel must keep out of what it sends and reports. */
  readonly guard = (): string[] => [...new Set([...this.held, ...this.known])];
}

export class ResultBuilder {
  constructor(
    private readonly channel: string,
    private readonly kind: ChannelKind,
    private readonly clock: Clock,
    private readonly secrets: () => readonly string[],
    private readonly redactor?: Redactor,
  ) {}

  ok(status: number, attempts: number): DeliveryResult {
    return { channel: this.channel, kind: this.kind, ok: true, status, attempts, at: this.clock.now().toISOString() };
  }

  skipped(reason: string): DeliveryResult {
    return { channel: this.channel, kind: this.kind, ok: true, skipped: true, attempts: 0, reason, at: this.clock.now().toISOString() };
  }

  failed(f: { code: string; reason: string; hint: string; status?: number; attempts: number; retryable: boolean }): DeliveryResult {
    return {
      channel: this.channel,
      kind: this.kind,
      ok: false,
      ...(f.status !== undefined ? { status: f.status } : {}),
      attempts: f.attempts,
      code: f.code,
      reason: scrub(f.reason, this.secrets(), this.redactor).slice(0, 500),
      hint: f.hint,
      retryable: f.retryable,
      at: this.clock.now().toISOString(),
    };
  }

  /** A thrown error (network, timeout, abort, missing secret) as a failed result with our own wording. */
  fromError(e: unknown, target: string): DeliveryResult {
    const err = ensureRotatorError(e, "ALERT_DELIVERY_FAILED");
    const network = err.code === "HTTP_TIMEOUT" || err.code === "HTTP_NETWORK" || err.code === "ABORTED";
    return this.failed({
      code: err.code,
      // HttpClient's own message names the URL path; we only name the host.
      reason: network
        ? `${target}: ${err.code === "HTTP_TIMEOUT" ? "no answer in time" : err.code === "ABORTED" ? "cancelled" : "connection failed"}`
        : err.message,
      hint: err.hint,
      attempts: 1,
      retryable: err.retryable,
    });
  }

  /** Generic HTTP failure wording for statuses a channel has no special knowledge of. */
  httpFailure(kindLabel: string, res: HttpResponse<unknown>, upstream: string): DeliveryResult {
    const retryable = res.status === 429 || res.status >= 500;
    return this.failed({
      code: res.status === 429 ? "ALERT_THROTTLED" : `ALERT_HTTP_${res.status}`,
      reason: `${kindLabel} answered ${res.status}${upstream ? `: ${upstream}` : ""}`,
      hint:
        res.status === 429
          ? `${kindLabel} is throttling; the Retry-After was honoured until the retry budget ran out. The next report retries.`
          : res.status >= 500
            ? `${kindLabel} failed on its side; the next report retries.`
            : `${kindLabel} refused the request; check the channel's configuration and Key Vault secret.`,
      status: res.status,
      attempts: res.attempts,
      retryable,
    });
  }
}

/**
 * Alert URLs come from Key Vault, so they get the same outbound rule as the configuration: https
 * (plain http only to a loopback emulator), no credentials, no link-local, metadata or oddly
 * written IP addresses. Returns why the URL is refused, without repeating the URL (it is a secret).
 */
export function channelUrlProblem(url: string, secretName: string): string | undefined {
  const problem = outboundUrlProblem(url, { example: "https://<service host>/<path>" });
  return problem === undefined ? undefined : `Key Vault secret ${secretName} holds a URL the rotator will not call: it ${problem}`;
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid URL)";
  }
}

export function bodyText(data: unknown): string {
  if (data === undefined || data === null) return "";
  return typeof data === "string" ? data : JSON.stringify(data);
}
