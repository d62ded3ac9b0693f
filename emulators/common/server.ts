import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";

/**
 * The shared skeleton of every emulator: a tiny router, a request log, and per-route fault
 * injection (status, 429 + Retry-After, latency, hang, dropped connection; for the next N calls
 * or with a probability), all reachable in-process and through `/_control/*`.
 */
export interface EmuRequest {
  method: string;
  /** Decoded path without the query string. */
  path: string;
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  params: string[];
  json<T = unknown>(): T;
  form(): URLSearchParams;
}

export interface EmuResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send `body` as-is (string) instead of JSON. */
  raw?: boolean;
}

export type Handler = (req: EmuRequest) => EmuResponse | Promise<EmuResponse>;

export interface FaultSpec {
  /** Regular expression matched against "METHOD /decoded/path", e.g. "^POST /.*\/token$". */
  route: string;
  status?: number;
  body?: unknown;
  /** Send a string `body` as-is instead of as JSON: HTML error pages, truncated JSON. */
  raw?: boolean;
  headers?: Record<string, string>;
  retryAfterSeconds?: number;
  latencyMs?: number;
  hang?: boolean;
  drop?: boolean;
  /** Drop the connection after the handler ran: the server acted, the client never hears. */
  dropAfterHandling?: boolean;
  /** With `status`: run the handler first, then send this fault's answer instead of the real one (the server acted; its answer is garbled on the way back). */
  afterHandling?: boolean;
  /**
   * A hostile or buggy upstream: the error body (status `status`, default 500) echoes every value
   * the request carried — JSON body strings, form fields, the Authorization header — raw, cut at
   * every offset, base64, base64url, URL-encoded and JSON-escaped. `echoExtra` adds values the
   * test knows the server holds (e.g. a stored secret a GET would otherwise not carry).
   */
  echo?: boolean;
  echoExtra?: string[];
  /**
   * Skip calls that carry this request header (any value). E.g. `x-ms-client-request-id`, which every Azure SDK request carries:
   * a token-endpoint fault then reaches an app's own token requests but not an @azure/identity credential.
   */
  unlessHeader?: string;
  /** How many matching calls this fault applies to; omitted means every call (or by probability). */
  times?: number;
  probability?: number;
}

interface ActiveFault extends FaultSpec {
  id: number;
  regex: RegExp;
  remaining: number;
}

export interface LoggedRequest {
  at: string;
  method: string;
  path: string;
  status: number | "dropped" | "hung";
  fault?: number;
}

class BadRequest extends Error {
  constructor(readonly response: EmuResponse) {
    super("bad request");
  }
}

class FaultInjector {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): number {
    if (typeof spec.route !== "string" || spec.route === "") throw new Error("fault.route is required (a regular expression)");
    const id = this.nextId++;
    this.faults.push({ ...spec, id, regex: new RegExp(spec.route), remaining: spec.times ?? Number.POSITIVE_INFINITY });
    return id;
  }

  remove(id: number): void {
    this.faults = this.faults.filter((f) => f.id !== id);
  }

  clear(): void {
    this.faults = [];
  }

  list(): FaultSpec[] {
    return this.faults.map(({ regex: _r, remaining, ...f }) => ({ ...f, times: Number.isFinite(remaining) ? remaining : undefined }));
  }

  /** Picks the first fault for this call and consumes one of its uses. */
  take(method: string, path: string, headers: Record<string, string | string[] | undefined> = {}): ActiveFault | undefined {
    const key = `${method} ${path}`;
    for (const f of this.faults) {
      if (f.remaining <= 0 || !f.regex.test(key)) continue;
      if (f.unlessHeader && headers[f.unlessHeader.toLowerCase()] !== undefined) continue;
      if (f.probability !== undefined && Math.random() >= f.probability) continue;
      f.remaining--;
      if (f.remaining <= 0) this.remove(f.id);
      return f;
    }
    return undefined;
  }
}

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export interface EmulatorServerOptions {
  name: string;
  tls?: { key: string; cert: string };
  /** Logs each request to stdout (the standalone `npm run emulators`). */
  verbose?: boolean;
}

export class EmulatorServer {
  readonly faults = new FaultInjector();
  readonly requests: LoggedRequest[] = [];
  private readonly routes: Route[] = [];
  private server?: http.Server | https.Server;
  private readonly sockets = new Set<Socket>();
  private baseUrl?: string;

  constructor(private readonly options: EmulatorServerOptions) {
    this.route("POST", /^\/_control\/faults$/, (req) => {
      const body = req.json<FaultSpec | FaultSpec[]>();
      const ids = (Array.isArray(body) ? body : [body]).map((f) => this.faults.add(f));
      return { status: 201, body: { ids } };
    });
    this.route("GET", /^\/_control\/faults$/, () => ({ status: 200, body: { faults: this.faults.list() } }));
    this.route("DELETE", /^\/_control\/faults$/, () => {
      this.faults.clear();
      return { status: 204 };
    });
    this.route("GET", /^\/_control\/requests$/, () => ({ status: 200, body: { requests: this.requests } }));
  }

  get url(): string {
    if (!this.baseUrl) throw new Error(`${this.options.name} emulator is not started`);
    return this.baseUrl;
  }

  route(method: string, pattern: RegExp, handler: Handler): void {
    this.routes.push({ method, pattern, handler });
  }

  /** `POST /_control/reset` runs the emulator's own reset, so out-of-process tests and the demo start clean the same way. */
  routeReset(reset: () => void): void {
    this.route("POST", /^\/_control\/reset$/, () => {
      reset();
      return { status: 204 };
    });
  }

  /**
   * The sandbox's shared clock (`npm run emulators` only): `GET /_control/clock` tells its time,
   * `POST /_control/clock {advanceMs}` moves it forward. The product's CLI reads it through the
   * SANDBOX_CLOCK_URL setting, so the emulators and the CLI agree on "now"; time never goes back.
   */
  routeClock(clock: { now(): Date; advance(ms: number): void }): void {
    this.route("GET", /^\/_control\/clock$/, () => ({ status: 200, body: { now: clock.now().toISOString() } }));
    this.route("POST", /^\/_control\/clock$/, (req) => {
      const b = req.json<{ advanceMs?: unknown } | null>();
      const ms = b?.advanceMs;
      if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0)
        return { status: 400, body: { error: { code: "BadRequest", message: "advanceMs (a positive number of milliseconds) is required" } } };
      clock.advance(ms);
      return { status: 200, body: { now: clock.now().toISOString() } };
    });
  }

  /** Number of logged calls matching METHOD and a path regex (tests count side effects with it). */
  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method && path.test(r.path)).length;
  }

  async start(port = 0, host = "127.0.0.1"): Promise<string> {
    const listener = (req: IncomingMessage, res: ServerResponse): void => void this.dispatch(req, res);
    this.server = this.options.tls ? https.createServer({ key: this.options.tls.key, cert: this.options.tls.cert }, listener) : http.createServer(listener);
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `${this.options.tls ? "https" : "http"}://${host}:${addr.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private log(entry: Omit<LoggedRequest, "at">): void {
    this.requests.push({ at: new Date().toISOString(), ...entry });
    if (this.requests.length > 10_000) this.requests.splice(0, this.requests.length - 10_000);
    if (this.options.verbose) console.log(`[${this.options.name}] ${entry.method} ${entry.path} → ${entry.status}`);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const u = new URL(req.url ?? "/", "http://emulator");
    let path: string;
    try {
      path = decodeURIComponent(u.pathname);
    } catch {
      path = u.pathname;
    }
    const method = (req.method ?? "GET").toUpperCase();
    const isControl = path.startsWith("/_control/");
    const fault = isControl ? undefined : this.faults.take(method, path, req.headers);

    if (fault?.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault?.hang) {
      this.log({ method, path, status: "hung", fault: fault.id });
      return; // never answer; the socket is destroyed on close()
    }
    if (fault?.drop) {
      this.log({ method, path, status: "dropped", fault: fault.id });
      req.socket.destroy();
      return;
    }
    if (fault?.echo) {
      const status = fault.status ?? 500;
      this.log({ method, path, status, fault: fault.id });
      const values = [...requestValues(rawBody, req.headers), ...(fault.echoExtra ?? [])];
      this.send(res, { status, headers: { ...fault.headers }, body: echoBody(values) });
      return;
    }
    if (fault?.status && !fault.afterHandling) {
      const headers: Record<string, string> = { ...fault.headers };
      // A Retry-After written in `headers` is sent as given (hostile values included); 429 defaults to 1 s.
      const given = Object.keys(headers).some((h) => h.toLowerCase() === "retry-after");
      if (fault.retryAfterSeconds !== undefined) headers["Retry-After"] = String(fault.retryAfterSeconds);
      else if (fault.status === 429 && !given) headers["Retry-After"] = "1";
      this.log({ method, path, status: fault.status, fault: fault.id });
      this.send(res, { status: fault.status, headers, body: fault.body ?? defaultFaultBody(fault.status), ...(fault.raw ? { raw: true } : {}) });
      return;
    }

    let response: EmuResponse;
    const emuReq: EmuRequest = {
      method,
      path,
      rawPath: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      rawBody,
      params: [],
      json<T>() {
        try {
          return JSON.parse(rawBody || "null") as T;
        } catch {
          throw new BadRequest({ status: 400, body: { error: { code: "BadRequest", message: "Request body is not valid JSON." } } });
        }
      },
      form: () => new URLSearchParams(rawBody),
    };
    try {
      const route = this.routes.find((r) => r.method === method && r.pattern.test(path));
      if (!route) {
        response = { status: 404, body: { error: { code: "NotFound", message: `No route for ${method} ${path}` } } };
      } else {
        emuReq.params = (route.pattern.exec(path) ?? []).slice(1).map((p) => p ?? "");
        response = await route.handler(emuReq);
      }
    } catch (e) {
      response = e instanceof BadRequest ? e.response : { status: 500, body: { error: { code: "InternalServerError", message: String(e) } } };
    }
    if (fault?.dropAfterHandling) {
      this.log({ method, path, status: "dropped", fault: fault.id });
      req.socket.destroy();
      return;
    }
    if (fault?.status && fault.afterHandling) {
      this.log({ method, path, status: fault.status, fault: fault.id });
      this.send(res, {
        status: fault.status,
        headers: { ...fault.headers },
        body: fault.body ?? defaultFaultBody(fault.status),
        ...(fault.raw ? { raw: true } : {}),
      });
      return;
    }
    this.log({ method, path, status: response.status, ...(fault ? { fault: fault.id } : {}) });
    this.send(res, response);
  }

  private send(res: ServerResponse, r: EmuResponse): void {
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...r.headers };
    let payload: string | undefined;
    if (r.body !== undefined && r.status !== 204) {
      if (r.raw && typeof r.body === "string") {
        payload = r.body;
        headers["Content-Type"] ??= "text/html; charset=utf-8";
      } else {
        payload = JSON.stringify(r.body);
        headers["Content-Type"] ??= "application/json; charset=utf-8";
      }
    }
    res.writeHead(r.status, headers);
    res.end(payload);
  }
}

/** Every string a request carried: JSON leaves, form fields, the Authorization credential. */
function requestValues(rawBody: string, headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  try {
    walk(JSON.parse(rawBody));
  } catch {
    for (const [, v] of new URLSearchParams(rawBody)) out.push(v);
  }
  const auth = headers.authorization;
  if (typeof auth === "string") out.push(auth.replace(/^\S+\s+/, ""));
  return out.filter((v) => v.length > 0);
}

/** The error body of an echo fault: each value in every shape a careless upstream could send it back. */
function echoBody(values: string[]): unknown {
  const shapes: string[] = [];
  for (const v of values) {
    const b64 = Buffer.from(v, "utf8").toString("base64");
    shapes.push(v, b64, b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), encodeURIComponent(v), JSON.stringify(v));
    for (let i = 1; i < v.length; i++) shapes.push(v.slice(0, i), v.slice(i));
  }
  return { error: { code: "EchoedInput", message: `Could not process the request: ${shapes.join(" | ")}` } };
}

function defaultFaultBody(status: number): unknown {
  if (status === 429) return { error: { code: "TooManyRequests", message: "Rate limit is exceeded. Try again later." } };
  if (status >= 500) return { error: { code: "ServiceUnavailable", message: "The service is temporarily unavailable." } };
  return { error: { code: `Status${status}`, message: `Injected fault ${status}.` } };
}

/**
 * An emulator that is one EmulatorServer on 127.0.0.1: starting, closing and its URL are the
 * server's. The subclass creates the server in its constructor.
 */
export abstract class ServedEmulator {
  abstract readonly server: EmulatorServer;

  /** Starts on 127.0.0.1 (port 0 = a free one) and returns the base URL. */
  start(port = 0): Promise<string> {
    return this.server.start(port);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  get url(): string {
    return this.server.url;
  }
}
