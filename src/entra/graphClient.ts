import type { TokenCredential } from "@azure/identity";
import { AuthenticationHandler, Client, TelemetryHandler, type Context, type Middleware, type MiddlewareOptions } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import { RotatorError } from "../errors.js";
import type { HttpClient, HttpMethod } from "../http/client.js";
import { graphScope } from "./scope.js";

/**
 * The Microsoft Graph SDK over our HTTP layer. The SDK keeps what it does well (building requests
 * and OData queries, following `@odata.nextLink`, parsing Graph's error body into GraphError, the
 * bearer token from the rotator's identity); the last link of its middleware chain, which would
 * call `fetch`, is replaced by {@link HttpClientHandler}, which sends through `HttpClient` (axios):
 * the same per-attempt timeouts, Retry-After-aware retries, redaction, outbound-address rule and
 * CA trust as every other call the rotator makes. No npm `undici` dispatcher is handed to Node's
 * built-in fetch (that breaks whenever Node's bundled undici changes major version).
 *
 * The SDK's RetryHandler is left out (retries are HttpClient's, one policy for all), and so is its
 * RedirectHandler: the Graph calls we make do not redirect, and a 3xx surfaces as an error rather
 * than carrying the bearer token somewhere else.
 */

/** How one Graph request may be retried and how long an attempt may take; set per request with `.middlewareOptions([...])`. */
export class GraphCallPolicy implements MiddlewareOptions {
  constructor(
    readonly policy: {
      /** 0: never retried (addPassword: a retried POST after the server acted creates a second secret). */
      maxRetries?: number;
      /** Whether a repeat is harmless; POSTs are not by default and are then retried only on 429. */
      idempotent?: boolean;
    } = {},
  ) {}
}

/** How every Graph API of ours reaches Microsoft Graph; their options extend it. */
export interface GraphConnectionOptions {
  credential: TokenCredential;
  /**
   * Our HTTP layer, which sends every Graph request: its retry policy (Retry-After honoured), the
   * CA it trusts and its redactor apply to Graph as to every other call.
   */
  http: HttpClient;
  /** Default `https://graph.microsoft.com`; the Entra emulator's URL locally. */
  graphBaseUrl?: string;
  /** Per-attempt deadline (default 30 s): a Graph that never answers must not stall a pass (I8). */
  timeoutInMs?: number;
}

export interface GraphClientOptions extends GraphConnectionOptions {
  defaultVersion: "v1.0" | "beta";
  /** Largest answer read (default 64 MiB: a page of 1,000 sign-in records runs to several MB). */
  maxResponseBytes?: number;
}

const GRAPH_HOSTS = new Set(["graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"]);
const METHODS: ReadonlySet<string> = new Set<HttpMethod>(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]);
const NO_BODY_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);

export function createGraphClient(options: GraphClientOptions): Client {
  const baseUrl = (options.graphBaseUrl ?? "https://graph.microsoft.com").replace(/\/+$/, "");
  const host = new URL(baseUrl).hostname.toLowerCase();
  return Client.initWithMiddleware({
    middleware: [
      // The token must be for this cloud's Graph (graph.microsoft.us …), never a hard-coded global one.
      new AuthenticationHandler(new TokenCredentialAuthenticationProvider(options.credential, { scopes: [graphScope(baseUrl)] })),
      new TelemetryHandler(),
      new HttpClientHandler(options.http, { timeoutInMs: options.timeoutInMs ?? 30_000, maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024 }),
    ],
    baseUrl,
    defaultVersion: options.defaultVersion,
    // Without customHosts the SDK silently drops the Authorization header for a non-Graph host.
    ...(GRAPH_HOSTS.has(host) ? {} : { customHosts: new Set([host]) }),
  });
}

/**
 * The Graph SDK's terminal middleware, sending through HttpClient. Error answers (after
 * HttpClient's retries) go back to the SDK as a Response, so GraphError, its code and its
 * Retry-After header reach the callers as before; their bodies are redacted first (the bearer
 * token, and every secret the runtime's redactor knows), because the SDK copies them into error
 * messages. A transport failure (timeout, refused address, cancellation, no connection) is thrown
 * as a {@link GraphTransportError}.
 */
class HttpClientHandler implements Middleware {
  constructor(
    private readonly http: HttpClient,
    private readonly defaults: { timeoutInMs: number; maxResponseBytes: number },
  ) {}

  async execute(context: Context): Promise<void> {
    const init = context.options ?? {};
    // The SDK leaves OData queries unencoded ($filter=appId eq '…'); fetch would normalise the URL
    // with the WHATWG parser, so do the same before our outbound-address check sees it.
    // RequestInfo is a DOM type this project does not load; the SDK passes a URL string or a Request.
    const url = new URL(typeof context.request === "string" ? context.request : (context.request as unknown as { url: string }).url).href;
    const method = (init.method ?? "GET").toUpperCase();
    if (!METHODS.has(method))
      throw new GraphTransportError("GRAPH_CLIENT_ERROR", `Graph request method ${method} is not supported by the rotator's HTTP layer`);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const bearer = /^Bearer\s+(.+)$/i.exec(headers["authorization"] ?? "")?.[1];
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) {
      throw new GraphTransportError("GRAPH_CLIENT_ERROR", "Graph request bodies other than JSON text or bytes are not supported by the rotator's HTTP layer");
    }
    const policy = context.middlewareControl?.getMiddlewareOptions(GraphCallPolicy) as GraphCallPolicy | undefined;
    const signal = init.signal ?? undefined;
    try {
      const res = await this.http.request<string>({
        method: method as HttpMethod,
        url,
        headers,
        ...(body !== undefined && body !== null ? { body } : {}),
        rawBody: true,
        throwOnHttpError: false,
        timeoutInMs: this.defaults.timeoutInMs,
        maxResponseBytes: this.defaults.maxResponseBytes,
        ...(signal ? { abortSignal: signal } : {}),
        ...(policy?.policy.maxRetries !== undefined ? { maxRetries: policy.policy.maxRetries } : {}),
        ...(policy?.policy.idempotent !== undefined ? { idempotent: policy.policy.idempotent } : {}),
        ...(bearer ? { secrets: [bearer] } : {}),
      });
      const text = res.status >= 400 ? this.http.redactText(res.data, bearer ? [bearer] : []) : res.data;
      context.response = new Response(NO_BODY_STATUS.has(res.status) ? null : text, { status: res.status, headers: res.headers });
    } catch (e) {
      if (e instanceof RotatorError) throw new GraphTransportError(e.code, e.message);
      if (signal?.aborted) throw new GraphTransportError("ABORTED", "The Graph request was cancelled");
      throw e;
    }
  }

  setNext(): void {
    // The end of the chain: nothing comes after the network.
  }
}

/**
 * A Graph request that got no HTTP answer. The SDK wraps whatever a middleware throws into a
 * GraphError with status -1, keeping only the thrown error's name (as `code`) and message; the
 * name therefore carries our HTTP layer's code (HTTP_TIMEOUT, HTTP_NETWORK, ABORTED, …) to
 * mapGraphError. The message is already redacted by HttpClient.
 */
class GraphTransportError extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}
