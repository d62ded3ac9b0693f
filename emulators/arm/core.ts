import { randomUUID } from "node:crypto";
import type { Clock } from "../common/clock.js";
import type { EmuRequest, EmuResponse, EmulatorServer } from "../common/server.js";

/**
 * What every Azure Resource Manager call has in common, whatever the resource provider
 * (../shared/LOCAL-EMULATION.md § Resource Manager): a bearer token for the Resource Manager
 * audience, a required `api-version`, `{"error":{"code","message"}}` bodies, per-subscription
 * throttling with `x-ms-ratelimit-remaining-*` and 429 + Retry-After, Azure RBAC actions, and
 * long-running operations (201/202 + Azure-AsyncOperation + location). A provider subset
 * (apim/, later appservice/) registers its routes here and gets all of that for free.
 */

/** What the Entra emulator's `validateAccessToken` tells about a token. */
interface ArmTokenInfo {
  appId?: string;
  tenantId?: string;
  audience?: string;
  objectId?: string;
}

export type ArmTokenValidator = (token: string) => ArmTokenInfo | boolean | undefined | null;

/** The audiences Resource Manager accepts (the exact list of its InvalidAuthenticationTokenAudience message). */
const GLOBAL_ARM_AUDIENCES: readonly string[] = [
  "https://management.core.windows.net/",
  "https://management.core.windows.net",
  "https://management.azure.com/",
  "https://management.azure.com",
];

export interface ArmCaller {
  appId?: string;
  objectId?: string;
  tenantId?: string;
}

export interface ArmContext {
  caller: ArmCaller;
  /** The emulator's own origin, for the URLs it hands out (location, Azure-AsyncOperation, nextLink). */
  origin: string;
  apiVersion: string;
}

type ArmHandler = (req: EmuRequest, ctx: ArmContext) => EmuResponse | Promise<EmuResponse>;

export interface ArmRouteSpec {
  method: string;
  /** Over the decoded path; capture groups become `req.params`. */
  pattern: RegExp;
  /** The Azure RBAC action a role must grant, e.g. Microsoft.ApiManagement/service/namedValues/read. */
  action: string;
  apiVersions: readonly string[];
  handler: ArmHandler;
}

interface Bucket {
  capacity: number;
  refillPerSecond: number;
  tokens: number;
  at: number;
}

export type RateKind = "reads" | "writes" | "deletes";

/** ARM's token-bucket limits per subscription and region (2024 model): reads 250 + 25/s, writes and deletes 200 + 10/s. */
const DEFAULT_LIMITS: Record<RateKind, { capacity: number; refillPerSecond: number }> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
};

/** One long-running operation. It completes on the poll after `pollsLeft` reaches 0; only then does its change happen. */
interface Operation {
  id: string;
  status: "InProgress" | "Succeeded" | "Failed";
  pollsLeft: number;
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  /** Applies the change; an error object makes the operation end Failed. */
  complete: () => void | { code: string; message: string };
}

export interface ArmCoreOptions {
  /** The Entra emulator's validateAccessToken; default: any non-empty bearer. */
  validateToken?: ArmTokenValidator;
  /** Accepted audiences (a national cloud's); default the global Resource Manager's. */
  audiences?: readonly string[];
  /** The subscriptions' tenant: a token from another tenant gets InvalidAuthenticationTokenTenant. */
  tenantId?: string;
  clock: Clock;
}

function armError(status: number, code: string, message: string, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers, body: { error: { code, message } } };
}

/** Thrown by handlers for an ARM error answer. */
class ArmFailure extends Error {
  constructor(readonly response: EmuResponse) {
    super(JSON.stringify(response.body));
  }
}

export function fail(status: number, code: string, message: string): never {
  throw new ArmFailure(armError(status, code, message));
}

export class ArmCore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly operations = new Map<string, Operation>();
  private readonly denied = new Map<string, Set<string>>();
  private limits: Record<RateKind, { capacity: number; refillPerSecond: number }> = { ...DEFAULT_LIMITS };
  /** Polls an operation answers InProgress before it completes; the Retry-After it sends. */
  operationPolls = 1;
  operationRetryAfterSeconds = 0;

  constructor(
    readonly server: EmulatorServer,
    private readonly options: ArmCoreOptions,
  ) {
    server.route("GET", /^\/subscriptions\/[^/]+\/.+\/operationResults\/([^/]+)$/, (req) =>
      this.guard(req, "GET", ["*"], "*/operationResults/read", () => this.poll(req)),
    );
  }

  /** Registers one ARM route: authentication, api-version, throttling and RBAC come first. */
  /**
   * A registrar for one resource type's routes: each names its RBAC action by the verb under
   * `actionPrefix` (e.g. `read`, `refreshSecret/action`), all at the same API versions.
   */
  routesOf(actionPrefix: string, apiVersions: readonly string[]): (method: string, pattern: RegExp, verb: string, handler: ArmHandler) => void {
    return (method, pattern, verb, handler) => this.route({ method, pattern, action: `${actionPrefix}/${verb}`, apiVersions, handler });
  }

  route(spec: ArmRouteSpec): void {
    this.server.route(spec.method, spec.pattern, (req) => this.guard(req, spec.method, spec.apiVersions, spec.action, (ctx) => spec.handler(req, ctx)));
  }

  /** Denies an RBAC action (`*` for every caller, or an app/object ID): 403 AuthorizationFailed. */
  deny(action: string, principal = "*"): void {
    const set = this.denied.get(action) ?? new Set<string>();
    set.add(principal.toLowerCase());
    this.denied.set(action, set);
  }

  /** Per-subscription limits (tests drain them to see 429 and the remaining headers). */
  setLimits(kind: RateKind, capacity: number, refillPerSecond: number): void {
    this.limits = { ...this.limits, [kind]: { capacity, refillPerSecond } };
    for (const [key] of this.buckets) if (key.endsWith(`|${kind}`)) this.buckets.delete(key);
  }

  /**
   * Starts a long-running operation and answers its headers: Azure-AsyncOperation under
   * `operationsBase` (`…/operationResults/{id}`), and `location` = `finalUrl` with `asyncId` and
   * `asyncCode`, as the API Management examples show them.
   */
  startOperation(input: {
    origin: string;
    operationsBase: string;
    finalPath: string;
    apiVersion: string;
    asyncCode: number;
    complete: Operation["complete"];
  }): {
    id: string;
    headers: Record<string, string>;
  } {
    const id = randomUUID().replace(/-/g, "");
    this.operations.set(id, {
      id,
      status: "InProgress",
      pollsLeft: this.operationPolls,
      startTime: this.options.clock.now().toISOString(),
      complete: input.complete,
    });
    const q = `api-version=${encodeURIComponent(input.apiVersion)}`;
    return {
      id,
      headers: {
        "Azure-AsyncOperation": `${input.origin}${input.operationsBase}/operationResults/${id}?${q}`,
        Location: `${input.origin}${input.finalPath}?${q}&asyncId=${id}&asyncCode=${input.asyncCode}`,
        "Retry-After": String(this.operationRetryAfterSeconds),
      },
    };
  }

  /** Operations not yet completed (tests: a client that never polls leaves the change undone). */
  pendingOperations(): number {
    return [...this.operations.values()].filter((o) => o.status === "InProgress").length;
  }

  reset(): void {
    this.buckets.clear();
    this.operations.clear();
    this.denied.clear();
    this.limits = { ...DEFAULT_LIMITS };
    this.operationPolls = 1;
    this.operationRetryAfterSeconds = 0;
  }

  private async guard(
    req: EmuRequest,
    method: string,
    apiVersions: readonly string[],
    action: string,
    run: (ctx: ArmContext) => EmuResponse | Promise<EmuResponse>,
  ): Promise<EmuResponse> {
    const caller = this.authenticate(req);
    if ("status" in caller) return caller;
    const apiVersion = req.query.get("api-version");
    if (!apiVersion) return armError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
    if (!apiVersions.includes("*") && !apiVersions.includes(apiVersion)) {
      return armError(400, "InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid. The supported versions are '${apiVersions.join(",")}'.`);
    }
    const subscription = /^\/subscriptions\/([^/]+)/i.exec(req.path)?.[1]?.toLowerCase() ?? "-";
    const kind: RateKind = method === "GET" || method === "HEAD" ? "reads" : method === "DELETE" ? "deletes" : "writes";
    const left = this.take(subscription, kind);
    const rateHeaders = { [`x-ms-ratelimit-remaining-subscription-${kind}`]: String(Math.max(0, Math.floor(left.tokens))), "x-ms-request-id": randomUUID() };
    if (!left.ok) {
      return armError(
        429,
        "SubscriptionRequestsThrottled",
        `Number of '${kind === "reads" ? "read" : kind === "writes" ? "write" : "delete"}' requests for subscription '${subscription}' exceeded. Please try again after '${left.retryAfterSeconds}' seconds after additional tokens are available.`,
        { ...rateHeaders, "Retry-After": String(left.retryAfterSeconds) },
      );
    }
    const deniedTo = this.denied.get(action);
    if (deniedTo && (deniedTo.has("*") || [caller.appId, caller.objectId].some((id) => id && deniedTo.has(id.toLowerCase())))) {
      const scope = req.path.replace(/\/(listValue|refreshSecret|operationResults\/.*)$/i, "");
      return armError(
        403,
        "AuthorizationFailed",
        `The client '${caller.appId ?? "unknown"}' with object id '${caller.objectId ?? "unknown"}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        rateHeaders,
      );
    }
    const pending = this.pendingAt(req);
    if (pending) return { ...pending, headers: { ...pending.headers, ...rateHeaders } };
    let res: EmuResponse;
    try {
      res = await run({ caller, origin: this.server.url, apiVersion });
    } catch (e) {
      if (e instanceof ArmFailure) res = e.response;
      else throw e;
    }
    return { ...res, headers: { ...rateHeaders, ...res.headers } };
  }

  private authenticate(req: EmuRequest): ArmCaller | EmuResponse {
    const challenge = {
      "WWW-Authenticate": `Bearer authorization_uri="https://login.microsoftonline.com/${this.options.tenantId ?? "common"}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
    };
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) return armError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", challenge);
    const verdict = (this.options.validateToken ?? ((t: string) => t.length > 0))(m[1]!);
    if (!verdict) return armError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge);
    if (verdict === true) return {};
    const audiences = this.options.audiences ?? GLOBAL_ARM_AUDIENCES;
    const aud = verdict.audience;
    if (aud !== undefined && !audiences.some((a) => a.toLowerCase() === aud.toLowerCase())) {
      return armError(
        401,
        "InvalidAuthenticationTokenAudience",
        `The access token has been obtained for wrong audience or resource '${aud}'. It should exactly match with one of the allowed audiences ${audiences.map((a) => `'${a}'`).join(",")}.`,
        challenge,
      );
    }
    const tenant = this.options.tenantId;
    if (tenant !== undefined && verdict.tenantId !== undefined && verdict.tenantId.toLowerCase() !== tenant.toLowerCase()) {
      return armError(
        401,
        "InvalidAuthenticationTokenTenant",
        `The access token is from the wrong issuer 'https://sts.windows.net/${verdict.tenantId}/'. It must match the tenant 'https://sts.windows.net/${tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${tenant}' to get the token.`,
        challenge,
      );
    }
    return {
      ...(verdict.appId !== undefined ? { appId: verdict.appId } : {}),
      ...(verdict.objectId !== undefined ? { objectId: verdict.objectId } : {}),
      ...(verdict.tenantId !== undefined ? { tenantId: verdict.tenantId } : {}),
    };
  }

  private take(subscription: string, kind: RateKind): { ok: boolean; tokens: number; retryAfterSeconds: number } {
    const key = `${subscription}|${kind}`;
    const limit = this.limits[kind];
    const now = Date.now();
    const b = this.buckets.get(key) ?? { capacity: limit.capacity, refillPerSecond: limit.refillPerSecond, tokens: limit.capacity, at: now };
    b.tokens = Math.min(b.capacity, b.tokens + ((now - b.at) / 1000) * b.refillPerSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) {
      const retryAfterSeconds = b.refillPerSecond > 0 ? Math.max(1, Math.ceil((1 - b.tokens) / b.refillPerSecond)) : 60;
      return { ok: false, tokens: b.tokens, retryAfterSeconds };
    }
    b.tokens -= 1;
    return { ok: true, tokens: b.tokens, retryAfterSeconds: 0 };
  }

  /** A GET of a `location` URL whose operation still runs answers 202, as ARM does. */
  private pendingAt(req: EmuRequest): EmuResponse | undefined {
    const asyncId = req.query.get("asyncId");
    if (req.method !== "GET" || asyncId === null) return undefined;
    const op = this.operations.get(asyncId);
    if (!op || op.status !== "InProgress") return undefined;
    return {
      status: 202,
      headers: { Location: `${this.server.url}${req.rawPath}?${req.query.toString()}`, "Retry-After": String(this.operationRetryAfterSeconds) },
    };
  }

  private poll(req: EmuRequest): EmuResponse {
    const op = this.operations.get(req.params[0] ?? "");
    if (!op) return armError(404, "OperationNotFound", `The operation '${req.params[0] ?? ""}' could not be found.`);
    if (op.status === "InProgress") {
      if (op.pollsLeft > 0) {
        op.pollsLeft--;
        return {
          status: 200,
          headers: { "Retry-After": String(this.operationRetryAfterSeconds) },
          body: { id: op.id, name: op.id, status: op.status, startTime: op.startTime },
        };
      }
      const error = op.complete();
      op.status = error ? "Failed" : "Succeeded";
      if (error) op.error = error;
      op.endTime = this.options.clock.now().toISOString();
    }
    return {
      status: 200,
      body: { id: op.id, name: op.id, status: op.status, startTime: op.startTime, endTime: op.endTime, ...(op.error ? { error: op.error } : {}) },
    };
  }
}
