import type { TokenCredential } from "@azure/core-auth";
import { abortableDelay } from "../clock.js";
import { RotatorError, ensureRotatorError } from "../errors.js";
import type { HttpClient, HttpMethod, HttpResponse } from "../http/client.js";
import { parseRetryAfter } from "../http/client.js";
import { silentLogger, type Logger } from "../logging.js";
import { GLOBAL_ARM_ENDPOINT, armScope } from "./cloud.js";
import { armBadResponse, armErrorOf, armHttpError } from "./errors.js";
import { ArmPacer, type ArmPacingOptions } from "./pacing.js";

/**
 * A small Azure Resource Manager client over our one HTTP layer (src/http/client.ts), not the
 * management SDKs: every call gets the layer's per-attempt deadline (I8), its redaction, its
 * Retry-After handling of 429 and its connect-time address rule, and the bundle carries no
 * generated client. What ARM adds on top is here: the bearer token for the cloud's Resource
 * Manager audience, ARM error bodies as typed errors, pacing by `x-ms-ratelimit-remaining-*` (pacing.ts), long-running
 * operations (Azure-AsyncOperation, then the final GET of `location`), ETags and nextLink paging.
 */
export interface ArmClientOptions {
  http: HttpClient;
  /** The same DefaultAzureCredential (or managed identity) the rest of the service uses. */
  credential: TokenCredential;
  /** Resource Manager base URL; default https://management.azure.com. */
  endpoint?: string;
  /** The token audience; default: the endpoint's cloud (see cloud.ts). */
  audience?: string;
  /** The Entra authority, to find the cloud of an endpoint that names none (Azure Stack, an emulator). */
  authorityHost?: string;
  /** Per-attempt deadline of every call (I8); default: the HTTP layer's. */
  timeoutInMs?: number;
  /** How long a long-running operation may take before ARM_OPERATION_TIMEOUT; default 10 min. */
  operationTimeoutInMs?: number;
  /** Poll interval when ARM sends no Retry-After; default 5 s (ARM's usual advice). */
  defaultPollInMs?: number;
  /** How calls are paced from `x-ms-ratelimit-remaining-*` (pacing.ts); tests inject its clock. */
  pacing?: ArmPacingOptions;
  /** Injected so tests see every wait; default a real, abortable delay. */
  sleep?: (ms: number, abortSignal?: AbortSignal) => Promise<void>;
  now?: () => number;
  logger?: Logger;
}

export interface ArmCallOptions {
  abortSignal?: AbortSignal;
  timeoutInMs?: number;
}

export interface ArmRequest extends ArmCallOptions {
  method: HttpMethod;
  /** A path below the endpoint (`/subscriptions/…`), or an absolute URL ARM handed out (nextLink, location); it must be on the endpoint's origin. */
  path: string;
  /** Required by ARM on every call; not added to a URL ARM handed out (it carries its own). */
  apiVersion?: string;
  json?: unknown;
  ifMatch?: string;
  /** Secret values in the request body, redacted from any error. */
  secrets?: string[];
  /** Safe to repeat (default: by method; POST actions such as refreshSecret or listValue say so themselves). */
  idempotent?: boolean;
}

export interface ArmResponse<T = unknown> {
  status: number;
  data: T;
  etag?: string;
  headers: Record<string, string>;
}

const DEFAULT_OPERATION_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_POLL_MS = 5_000;
const MAX_PAGES = 1_000;
const TERMINAL_OK = "succeeded";
const TERMINAL_BAD = new Set(["failed", "canceled", "cancelled"]);

export class ArmClient {
  readonly endpoint: string;
  private readonly origin: string;
  private readonly scope: string;
  private readonly sleep: (ms: number, abortSignal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Per subscription and kind of call: how many may be in flight, from ARM's remaining-calls headers. */
  private readonly pacer: ArmPacer;

  constructor(private readonly options: ArmClientOptions) {
    this.endpoint = (options.endpoint ?? GLOBAL_ARM_ENDPOINT).replace(/\/+$/, "");
    this.origin = new URL(this.endpoint).origin;
    this.scope = armScope({
      endpoint: this.endpoint,
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
      ...(options.authorityHost !== undefined ? { authorityHost: options.authorityHost } : {}),
    });
    this.sleep = options.sleep ?? abortableDelay;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? silentLogger).child({ upstream: "arm" });
    this.pacer = new ArmPacer(options.pacing, this.log);
  }

  /** The scope tokens are requested for (`<audience>/.default`). */
  get tokenScope(): string {
    return this.scope;
  }

  /** One call; a non-2xx answer throws the mapped ARM error. */
  async send<T = unknown>(req: ArmRequest): Promise<ArmResponse<T>> {
    const url = this.urlOf(req);
    const describe = `${req.method} ${new URL(url).pathname}`;
    const token = await this.token(req.abortSignal, describe);
    // Paced by the subscription's budget; the slot is held for the whole call, retries included,
    // except across a 429's Retry-After, when every call of its kind waits anyway.
    const paced = await this.pacer.admit(req.method, url, req.abortSignal, describe);
    let res: HttpResponse<T>;
    try {
      res = await this.options.http.request<T>({
        method: req.method,
        url,
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json", ...(req.ifMatch !== undefined ? { "If-Match": req.ifMatch } : {}) },
        ...(req.json !== undefined ? { json: req.json } : {}),
        ...(req.abortSignal ? { abortSignal: req.abortSignal } : {}),
        ...((req.timeoutInMs ?? this.options.timeoutInMs) !== undefined ? { timeoutInMs: req.timeoutInMs ?? this.options.timeoutInMs } : {}),
        ...(req.idempotent !== undefined ? { idempotent: req.idempotent } : {}),
        secrets: [token, ...(req.secrets ?? [])],
        throwOnHttpError: false,
        onErrorResponse: ({ status, retryAfterMs }) => {
          if (status === 429) paced.throttled(retryAfterMs);
        },
        beforeRetry: (abortSignal) => paced.again(abortSignal),
      });
    } catch (e) {
      paced.release();
      throw this.transportError(e, describe, req.method !== "GET" && req.method !== "HEAD");
    }
    paced.answered(res.headers, res.status);
    if (res.status >= 400) throw armHttpError(res.status, res.data, describe, (t) => this.options.http.redactText(t, [token, ...(req.secrets ?? [])]));
    return { status: res.status, data: res.data, headers: res.headers, ...(res.headers.etag !== undefined ? { etag: res.headers.etag } : {}) };
  }

  /**
   * A call that may start a long-running operation (201/202 with Azure-AsyncOperation and/or
   * location): polls the operation, honouring each Retry-After, until it succeeds, fails or runs
   * out of time, then reads the final state from `location` (final-state-via: location), or the
   * resource itself for a PUT/PATCH that gave none. A synchronous answer is returned as it is.
   */
  async sendAndWait<T = unknown>(req: ArmRequest): Promise<ArmResponse<T>> {
    const first = await this.send<T>(req);
    const asyncUrl = first.headers["azure-asyncoperation"];
    const location = first.headers["location"];
    if (asyncUrl === undefined && !(first.status === 202 && location !== undefined)) return first;
    const describe = `${req.method} ${new URL(this.urlOf(req)).pathname}`;
    const deadline = this.now() + (this.options.operationTimeoutInMs ?? DEFAULT_OPERATION_TIMEOUT_MS);
    let wait = this.retryAfterMs(first.headers);
    const call = { ...(req.abortSignal ? { abortSignal: req.abortSignal } : {}), ...(req.timeoutInMs !== undefined ? { timeoutInMs: req.timeoutInMs } : {}) };

    if (asyncUrl !== undefined) {
      for (;;) {
        await this.waitOrTimeout(wait, deadline, describe, req.abortSignal);
        const poll = await this.send<{ status?: unknown; error?: unknown }>({ method: "GET", path: asyncUrl, ...call });
        const status = typeof poll.data?.status === "string" ? poll.data.status.toLowerCase() : undefined;
        if (status === undefined) throw armBadResponse(describe, "the operation status has no `status` field");
        if (status === TERMINAL_OK) break;
        if (TERMINAL_BAD.has(status)) throw this.operationFailed(describe, status, poll.data);
        wait = this.retryAfterMs(poll.headers);
      }
      if (location !== undefined) return this.send<T>({ method: "GET", path: location, ...call });
      if (req.method === "PUT" || req.method === "PATCH")
        return this.send<T>({ method: "GET", path: req.path, ...(req.apiVersion ? { apiVersion: req.apiVersion } : {}), ...call });
      return { ...first, data: undefined as T };
    }

    // Location polling only: 202 while running, then the final answer.
    for (;;) {
      await this.waitOrTimeout(wait, deadline, describe, req.abortSignal);
      const res = await this.send<T>({ method: "GET", path: location!, ...call });
      if (res.status !== 202) return res;
      wait = this.retryAfterMs(res.headers);
    }
  }

  /** Every item of a pageable list, following nextLink (on the endpoint's origin only). */
  async list<T = unknown>(path: string, apiVersion: string, options: ArmCallOptions = {}): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    let next: string | undefined = path;
    let first = true;
    for (let page = 1; next !== undefined; page++) {
      if (page > MAX_PAGES) throw armBadResponse(`GET ${new URL(this.urlOf({ method: "GET", path })).pathname}`, `more than ${MAX_PAGES} pages`);
      const res: ArmResponse<{ value?: unknown; nextLink?: unknown }> = await this.send({
        method: "GET",
        path: next,
        ...(first ? { apiVersion } : {}),
        ...options,
      });
      first = false;
      if (!res.data || !Array.isArray(res.data.value))
        throw armBadResponse(`GET ${new URL(this.urlOf({ method: "GET", path })).pathname}`, "the list has no `value` array");
      out.push(...(res.data.value as T[]));
      const link = typeof res.data.nextLink === "string" && res.data.nextLink !== "" ? res.data.nextLink : undefined;
      if (link !== undefined && seen.has(link))
        throw armBadResponse(`GET ${new URL(this.urlOf({ method: "GET", path })).pathname}`, "nextLink repeats (the list would never end)");
      if (link !== undefined) seen.add(link);
      next = link;
    }
    return out;
  }

  /** The full URL; an absolute URL ARM handed out must stay on the endpoint's origin, or the bearer token would go elsewhere. */
  private urlOf(req: Pick<ArmRequest, "method" | "path" | "apiVersion">): string {
    if (/^https?:\/\//i.test(req.path)) {
      let u: URL;
      try {
        u = new URL(req.path);
      } catch {
        throw armBadResponse(req.method, "a URL it handed out does not parse");
      }
      if (u.origin !== this.origin) {
        throw armBadResponse(
          `${req.method} ${u.pathname}`,
          `it pointed at ${u.origin}, not at ${this.origin}; the call was not made (the bearer token stays with Resource Manager)`,
        );
      }
      if (req.apiVersion !== undefined && !u.searchParams.has("api-version")) u.searchParams.set("api-version", req.apiVersion);
      return u.toString();
    }
    const u = new URL(this.endpoint + (req.path.startsWith("/") ? req.path : `/${req.path}`));
    if (req.apiVersion !== undefined) u.searchParams.set("api-version", req.apiVersion);
    return u.toString();
  }

  private async token(abortSignal: AbortSignal | undefined, describe: string): Promise<string> {
    try {
      const t = await this.options.credential.getToken(this.scope, abortSignal ? { abortSignal } : {});
      if (!t?.token) throw new Error("the credential returned no token");
      return t.token;
    } catch (e) {
      if (abortSignal?.aborted)
        throw new RotatorError("ABORTED", `Resource Manager: ${describe} was cancelled while getting a token`, { hint: "The next pass resumes it." });
      const err = ensureRotatorError(e);
      throw new RotatorError("ARM_TOKEN_FAILED", `Resource Manager: no token for ${this.scope} (${err.message})`, {
        hint: "The identity could not get a Resource Manager token: check the managed identity (or AZURE_* settings) and that the cloud's authority host matches armEndpoint.",
        ...(err.aadsts !== undefined ? { aadsts: err.aadsts } : {}),
        cause: err,
      });
    }
  }

  private transportError(e: unknown, describe: string, write: boolean): RotatorError {
    const err = ensureRotatorError(e);
    if (err.code === "ABORTED" || err.code === "HTTP_ADDRESS_REFUSED" || err.code === "HTTP_RESPONSE_TOO_LARGE") return err;
    return new RotatorError(
      "ARM_UNREACHABLE",
      `Resource Manager: ${describe}: no answer${write ? " (the change may or may not have been applied)" : ""} (${err.message})`,
      {
        hint: "Check the armEndpoint, DNS, firewall and outbound rules from the Function App to Resource Manager; the next pass retries.",
        upstreamCode: err.code,
        retryable: true,
        cause: err,
      },
    );
  }

  private operationFailed(describe: string, status: string, data: unknown): RotatorError {
    const body = armErrorOf(data);
    return new RotatorError(
      "ARM_OPERATION_FAILED",
      `Resource Manager: the operation started by ${describe} ended ${status}${body ? `: ${body.code ?? "(no code)"}: ${body.message ?? ""}` : ""}`,
      {
        hint: "The resource provider could not complete the change; the message says why (for a Key Vault refresh: the service's identity and its access to the vault). The next pass tries again.",
        ...(body?.code ? { upstreamCode: body.code } : {}),
        retryable: status !== "failed" || body?.code !== "BadRequest",
      },
    );
  }

  private retryAfterMs(headers: Record<string, string>): number {
    const given = headers["retry-after"] !== undefined ? parseRetryAfter(headers["retry-after"]) : undefined;
    return given ?? this.options.defaultPollInMs ?? DEFAULT_POLL_MS;
  }

  private async waitOrTimeout(ms: number, deadline: number, describe: string, abortSignal: AbortSignal | undefined): Promise<void> {
    if (this.now() + ms > deadline) {
      throw new RotatorError("ARM_OPERATION_TIMEOUT", `Resource Manager: the operation started by ${describe} did not finish in time`, {
        hint: "The operation may still complete; the next pass reads the resource again and repeats the request if needed.",
      });
    }
    await this.pause(ms, abortSignal, describe);
  }

  private async pause(ms: number, abortSignal: AbortSignal | undefined, describe: string): Promise<void> {
    try {
      await this.sleep(ms, abortSignal);
    } catch (e) {
      if (abortSignal?.aborted)
        throw new RotatorError("ABORTED", `Resource Manager: ${describe} was cancelled while waiting`, { hint: "The next pass resumes it." });
      throw e;
    }
  }
}
