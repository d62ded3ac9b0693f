import type dns from "node:dns";
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from "axios";
import { RotatorError, parseAadsts } from "../errors.js";
import type { ErrorCode } from "../errorCodes.js";
import { Redactor, redactThenTruncate } from "../redact.js";
import { abortableDelay } from "../clock.js";
import { outboundUrlProblem } from "../config/outbound.js";
import type { ExtraCa } from "./tls.js";
import { ADDRESS_REFUSED, guardedAgents } from "./addressGuard.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

export interface RetryPolicy {
  maxRetries: number;
  baseDelayInMs: number;
  maxDelayInMs: number;
  /** A Retry-After longer than this is not waited out; the call fails as retryable instead. */
  maxRetryAfterInMs: number;
}

export interface HttpClientOptions {
  /** PEM of an extra CA to trust besides the system store (local emulators only; see tls.ts). */
  ca?: ExtraCa;
  /** Per-attempt deadline of a call (default 15 s), enforced with an AbortSignal. */
  timeoutInMs?: number;
  retry?: Partial<RetryPolicy>;
  redactor?: Redactor;
  /** Injected for tests so backoff does not slow them down. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  userAgent?: string;
  /** Largest response body read, in bytes; a bigger one fails with HTTP_RESPONSE_TOO_LARGE. */
  maxResponseBytes?: number;
  /** The resolver behind the connect-time address rule (default: the system's). */
  lookup?: typeof dns.lookup;
}

export interface HttpRequestOptions {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** JSON body. */
  json?: unknown;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** A body already serialised by the caller (the Graph SDK), sent as it is with the caller's Content-Type. */
  body?: string | Uint8Array;
  /** Hand back the response body as text instead of parsing JSON (the Graph SDK parses it itself). */
  rawBody?: boolean;
  query?: Record<string, string | number | undefined>;
  timeoutInMs?: number;
  abortSignal?: AbortSignal;
  /**
   * Whether the call may be repeated safely. Defaults to true for GET/HEAD/PUT/DELETE and false
   * for POST/PATCH: a non-idempotent call is retried only on 429, where the server did not act.
   */
  idempotent?: boolean;
  /** Overrides the client's retry count for this call (0 = never retry). */
  maxRetries?: number;
  /** Return non-2xx responses instead of throwing (probes want the exact status and body). */
  throwOnHttpError?: boolean;
  /** Secret values in this request, redacted from any error raised for it. */
  secrets?: string[];
  /** Overrides the client's response size cap for this call. */
  maxResponseBytes?: number;
  /** Told at once about every answer with an error status (a rate limiter slows down on a 429 here). */
  onErrorResponse?: (info: { status: number; retryAfterMs?: number; attempt: number; willRetry: boolean }) => void;
  /** Awaited before every retry, after its wait (a rate limiter hands out the retry's slot here). */
  beforeRetry?: (abortSignal?: AbortSignal) => Promise<void>;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  data: T;
  attempts: number;
}

const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, baseDelayInMs: 200, maxDelayInMs: 10_000, maxRetryAfterInMs: 60_000 };
const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(["GET", "HEAD", "PUT", "DELETE"]);
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
/** Our upstreams answer in kilobytes; megabytes mean a wrong URL or a hostile peer. */
const DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
/** How much of an upstream error body an error message keeps (after redaction). */
const MAX_SNIPPET = 500;

/**
 * The one HTTP layer for our own calls (token endpoint, authorize probe, gateway, alert channels):
 * timeouts, retries that honour Retry-After, no blind retry of non-idempotent calls, and errors
 * that never carry a secret.
 */
export class HttpClient {
  private readonly axios: AxiosInstance;
  private readonly retry: RetryPolicy;
  private readonly redactor: Redactor;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly timeoutInMs: number;
  private readonly maxResponseBytes: number;

  constructor(options: HttpClientOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.redactor = options.redactor ?? new Redactor();
    this.sleep = options.sleep ?? abortableDelay;
    this.timeoutInMs = options.timeoutInMs ?? 15_000;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    // Every connection resolves through the outbound-address rule (addressGuard.ts).
    const agents = guardedAgents({ ...(options.ca !== undefined ? { ca: options.ca } : {}), ...(options.lookup ? { lookup: options.lookup } : {}) });
    this.axios = axios.create({
      httpsAgent: agents.https,
      httpAgent: agents.http,
      validateStatus: () => true,
      maxRedirects: 0,
      headers: { "User-Agent": options.userAgent ?? "mcp-sso-rotator" },
    });
  }

  async request<T = unknown>(req: HttpRequestOptions): Promise<HttpResponse<T>> {
    // The outbound-address rule once more at call time, for URLs that were fetched rather than
    // configured (discovery endpoints, Key Vault-held webhooks): never a metadata or link-local address.
    const refused = outboundUrlProblem(req.url, { example: "https://<service host>/<path>" });
    if (refused !== undefined) {
      throw new RotatorError("HTTP_ADDRESS_REFUSED", `${this.safeTarget(req.url)} was not called: the URL ${refused}`, {
        hint: "The rotator refuses link-local, cloud metadata and oddly written IP addresses, plain http outside loopback, and URLs with credentials. Fix the configured or stored URL.",
        retryable: false,
      });
    }
    const idempotent = req.idempotent ?? IDEMPOTENT.has(req.method);
    const maxRetries = req.maxRetries ?? this.retry.maxRetries;
    let attempt = 0;
    for (;;) {
      attempt++;
      let res: AxiosResponse | undefined;
      let netErr: unknown;
      // One deadline per attempt, as an AbortSignal: it covers connecting, waiting and reading the
      // body (axios' own timeout only notices an idle socket), and it ends the attempt the same way
      // the caller's own signal does.
      const deadline = AbortSignal.timeout(req.timeoutInMs ?? this.timeoutInMs);
      try {
        res = await this.axios.request({
          method: req.method,
          url: req.url,
          params: req.query,
          headers: {
            ...(req.form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
            ...(req.json !== undefined ? { "Content-Type": "application/json" } : {}),
            ...req.headers,
          },
          data: req.form ? new URLSearchParams(req.form).toString() : req.body !== undefined ? req.body : req.json,
          signal: req.abortSignal ? AbortSignal.any([req.abortSignal, deadline]) : deadline,
          responseType: "text",
          maxContentLength: req.maxResponseBytes ?? this.maxResponseBytes,
          transformResponse: (d: unknown) => d,
        });
      } catch (e) {
        netErr = e;
      }

      if (res) {
        const headers = normaliseHeaders(res.headers);
        const data = (req.rawBody ? String(res.data ?? "") : parseBody(res.data as string, headers["content-type"])) as T;
        if (res.status < 400) return { status: res.status, headers, data, attempts: attempt };
        const retryable = RETRYABLE_STATUS.has(res.status) && (idempotent || res.status === 429);
        const wait = retryable && attempt <= maxRetries ? this.backoff(attempt, headers["retry-after"]) : undefined;
        if (req.onErrorResponse) {
          const retryAfterMs = headers["retry-after"] !== undefined ? parseRetryAfter(headers["retry-after"]) : undefined;
          req.onErrorResponse({ status: res.status, attempt, willRetry: wait !== undefined, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
        }
        if (wait !== undefined) {
          await this.pause(wait, req, attempt);
          await req.beforeRetry?.(req.abortSignal);
          continue;
        }
        if (req.throwOnHttpError === false) return { status: res.status, headers, data, attempts: attempt };
        throw this.httpError(req, res.status, data, headers, attempt);
      }

      if (req.abortSignal?.aborted) throw this.networkError(req, netErr, attempt, "ABORTED");
      if ((netErr as { code?: unknown } | undefined)?.code === ADDRESS_REFUSED) {
        // What the host resolved to will not change on a retry within this call.
        throw new RotatorError("HTTP_ADDRESS_REFUSED", this.scrub(`${this.describe(req)}: ${(netErr as Error).message}`, req), {
          hint: "The host name resolves to a link-local, cloud metadata, unspecified or loopback address, which the rotator never calls. Fix the DNS record or the configured URL.",
          retryable: false,
        });
      }
      if (isTooLarge(netErr)) throw this.tooLarge(req, attempt);
      const timedOut = deadline.aborted;
      // A connection that failed before anything was sent could be retried even for POST, but
      // axios cannot tell us which side of the send it failed on; only idempotent calls retry.
      if (idempotent && attempt <= maxRetries) {
        await this.pause(this.backoff(attempt, undefined) ?? 0, req, attempt);
        await req.beforeRetry?.(req.abortSignal);
        continue;
      }
      if (timedOut) throw this.networkError(req, `no answer within ${req.timeoutInMs ?? this.timeoutInMs} ms`, attempt, "HTTP_TIMEOUT");
      throw this.networkError(req, netErr, attempt);
    }
  }

  /** The wait before a retry; a caller that cancels during it gets ABORTED, like one that cancels a call. */
  private async pause(ms: number, req: HttpRequestOptions, attempts: number): Promise<void> {
    try {
      await this.sleep(ms, req.abortSignal);
    } catch (e) {
      if (req.abortSignal?.aborted) throw this.networkError(req, "cancelled while waiting to retry", attempts, "ABORTED");
      throw e;
    }
  }

  /** Milliseconds to wait before the next attempt, or undefined when Retry-After asks for too long. */
  private backoff(attempt: number, retryAfter: string | undefined): number | undefined {
    if (retryAfter !== undefined) {
      const ms = parseRetryAfter(retryAfter);
      if (ms !== undefined) return ms > this.retry.maxRetryAfterInMs ? undefined : ms;
    }
    const exp = this.retry.baseDelayInMs * 2 ** (attempt - 1);
    return Math.min(this.retry.maxDelayInMs, exp / 2 + Math.random() * (exp / 2));
  }

  /** Scheme and host only: the rest of a refused URL may be a secret (a webhook path). */
  private safeTarget(url: string): string {
    try {
      const u = new URL(url);
      return `${u.protocol}//${u.host}`;
    } catch {
      return "(invalid URL)";
    }
  }

  private describe(req: HttpRequestOptions): string {
    const u = new URL(req.url);
    return `${req.method} ${u.origin}${u.pathname}`;
  }

  private scrub(text: string, req: HttpRequestOptions): string {
    return this.redactText(text, req.secrets);
  }

  /**
   * Removes every known secret (the client's redactor plus `secrets`, whole, as fragments and
   * encoded) and URL credentials from a text. Callers that cut a text must call this first.
   */
  redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
    let out = text;
    const local = new Redactor();
    for (const s of secrets) {
      if (!s) continue;
      // Values too short to track as fragments are still removed whole.
      out = out.split(s).join("[REDACTED]");
      local.add(s);
    }
    return this.redactor.redact(local.redact(out));
  }

  private tooLarge(req: HttpRequestOptions, attempts: number): RotatorError {
    const cap = req.maxResponseBytes ?? this.maxResponseBytes;
    return new RotatorError(
      "HTTP_RESPONSE_TOO_LARGE",
      `${this.describe(req)} answered with more than ${cap} bytes after ${attempts} attempt(s); the body was not read`,
      {
        hint: "The service sent far more than this call expects: check that the configured URL points at the right API (not a download or a proxy page), or lower the page size.",
        retryable: false,
      },
    );
  }

  private httpError(req: HttpRequestOptions, status: number, data: unknown, headers: Record<string, string>, attempts: number): RotatorError {
    const bodyText = typeof data === "string" ? data : JSON.stringify(data ?? "");
    const upstreamCode = extractUpstreamCode(data);
    const aadsts = parseAadsts(bodyText);
    // Redact the whole body first, then cut: a secret straddling the cut must not survive as a fragment.
    const snippet = redactThenTruncate(this.scrub(bodyText, req), this.redactor, MAX_SNIPPET);
    return new RotatorError(
      status === 429 ? "HTTP_THROTTLED" : `HTTP_${status}`,
      this.scrub(`${this.describe(req)} answered ${status} after ${attempts} attempt(s): ${snippet}`, req),
      {
        hint: hintForStatus(status, headers["retry-after"]),
        status,
        aadsts,
        upstreamCode,
        retryable: RETRYABLE_STATUS.has(status),
      },
    );
  }

  private networkError(req: HttpRequestOptions, err: unknown, attempts: number, forced?: ErrorCode): RotatorError {
    const ax = err as AxiosError | undefined;
    const code = forced ?? (ax?.code === "ETIMEDOUT" || ax?.code === "ECONNABORTED" ? "HTTP_TIMEOUT" : "HTTP_NETWORK");
    const detail = typeof err === "string" ? err : (ax?.code ?? (err instanceof Error ? err.message : String(err)));
    return new RotatorError(code, this.scrub(`${this.describe(req)} failed after ${attempts} attempt(s): ${detail}`, req), {
      hint:
        code === "HTTP_TIMEOUT"
          ? "The remote service did not answer in time; check its health and the network path, then retry."
          : code === "ABORTED"
            ? "The operation was cancelled (function timeout or shutdown); the next run resumes it."
            : "The connection failed; check DNS, firewall rules and TLS trust for this host, then retry.",
      retryable: code !== "ABORTED",
    });
  }
}

function isTooLarge(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return /maxContentLength size of .* exceeded/i.test(message);
}

export function parseRetryAfter(value: string): number | undefined {
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function normaliseHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((h ?? {}) as Record<string, unknown>)) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k.toLowerCase()] = String(v);
    else if (Array.isArray(v)) out[k.toLowerCase()] = v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(", ");
  }
  return out;
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (typeof text !== "string" || text === "") return text ?? "";
  if (contentType?.includes("json") || /^[[{]/.test(text.trimStart())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function extractUpstreamCode(data: unknown): string | undefined {
  if (!data || typeof data !== "object") return undefined;
  const d = data as { error?: unknown; code?: unknown };
  if (typeof d.error === "string") return d.error;
  if (d.error && typeof d.error === "object" && typeof (d.error as { code?: unknown }).code === "string") {
    return (d.error as { code: string }).code;
  }
  return typeof d.code === "string" ? d.code : undefined;
}

function hintForStatus(status: number, retryAfter: string | undefined): string {
  if (status === 401) return "The credentials were refused; check the API token or secret this call uses.";
  if (status === 403) return "The identity lacks permission for this operation; check its role assignments.";
  if (status === 404) return "The resource does not exist; check the configured URL, IDs and names.";
  if (status === 409) return "The resource is in a conflicting state; see the message for which one.";
  if (status === 412) return "The resource changed since it was read (ETag mismatch); read it again and retry.";
  if (status === 429) return `The service is throttling requests${retryAfter ? ` (Retry-After ${retryAfter}s)` : ""}; lower the request rate or retry later.`;
  if (status >= 500) return "The remote service failed; it is usually transient — the next run retries.";
  return "The request was rejected; see the message for the field the service refused.";
}
