import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { EmuRequest, EmuResponse, EmulatorServer } from "../common/server.js";
import type { TokenBucket } from "../common/tokenBucket.js";
import { GatewayStateError, toPublic, type GatewayState } from "./state.js";
import type { TokenCheckResult } from "./tokenCheck.js";
import type { TrafficLog } from "./traffic.js";

/**
 * The public routes of docs/gateway-contract.md. Order of checks for every call: bearer token
 * (401), tenant header (400 missing / 403 other tenant), rate limit (429), then the route's own
 * validation (400), existence (404) and precondition (412).
 */
export const TENANT_HEADER = "x-gateway-tenant";
const MAX_SECRET_LENGTH = 1024;
const DEFAULT_PAGE_SIZE = 50;

export interface PublicRouteDeps {
  state: GatewayState;
  apiToken: string;
  tenant: string;
  bucket: () => TokenBucket | undefined;
  latencyMs: () => number;
  pageSizeMax: number;
  /** Offers the optional numbered-pages extension (snapshot + page). */
  numberedPages: boolean;
  /** Offers the optional listing ETag (If-None-Match → 304 on the first page) right now. */
  listingEtag: () => boolean;
  /** Told after each listing page served with 200 (the emulator's listing-expiry fault counts them). */
  listPageServed: () => void;
  testConnection: (id: string) => Promise<TokenCheckResult>;
  now: () => Date;
  traffic: TrafficLog;
  /** A faulty gateway: answers a secret update 200 without storing it (true = drop this one). */
  loseUpdate: (id: string) => boolean;
}

interface ContractErrorBody {
  error: { code: string; message: string; requestId: string; details?: { field: string; message: string }[] };
}

function contractError(
  status: number,
  code: string,
  message: string,
  extra: { headers?: Record<string, string>; details?: { field: string; message: string }[] } = {},
): EmuResponse {
  const requestId = randomUUID();
  const body: ContractErrorBody = { error: { code, message, requestId, ...(extra.details ? { details: extra.details } : {}) } };
  return { status, headers: { "X-Request-Id": requestId, ...extra.headers }, body };
}

type Authorised = (req: EmuRequest) => EmuResponse | Promise<EmuResponse>;

export function registerPublicRoutes(server: EmulatorServer, deps: PublicRouteDeps): void {
  const tokenDigest = digest(deps.apiToken);

  /** Records each call's arrival (before latency and throttling) and final status in the traffic log. */
  const guarded = (handler: Authorised) => {
    const inner = untracked(handler);
    return async (req: EmuRequest): Promise<EmuResponse> => {
      const atMs = performance.now();
      const res = await inner(req);
      deps.traffic.record({ atMs, method: req.method, path: req.path, status: res.status });
      return res;
    };
  };

  /** Wraps a handler with latency, authentication, tenant, throttling and error mapping. */
  const untracked =
    (handler: Authorised) =>
    async (req: EmuRequest): Promise<EmuResponse> => {
      const latency = deps.latencyMs();
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));

      const auth = req.headers.authorization;
      const bearer = typeof auth === "string" && /^Bearer\s+\S+$/i.test(auth) ? auth.replace(/^Bearer\s+/i, "") : undefined;
      if (!bearer) {
        return contractError(401, "Unauthorized", "Authorization: Bearer <API token> is required.", {
          headers: { "WWW-Authenticate": 'Bearer realm="gateway"' },
        });
      }
      if (!timingSafeEqual(digest(bearer), tokenDigest)) {
        return contractError(401, "Unauthorized", "The API token is invalid, expired or revoked.", {
          headers: { "WWW-Authenticate": 'Bearer realm="gateway", error="invalid_token"' },
        });
      }
      const tenant = req.headers[TENANT_HEADER];
      if (typeof tenant !== "string" || tenant.trim() === "") {
        return contractError(400, "TenantRequired", "The X-Gateway-Tenant header is required.", {
          details: [{ field: "header:X-Gateway-Tenant", message: "missing" }],
        });
      }
      if (tenant !== deps.tenant) {
        return contractError(403, "Forbidden", "The API token has no access to this tenant.");
      }
      const bucket = deps.bucket();
      if (bucket) {
        const t = bucket.take();
        if (!t.ok) {
          return contractError(429, "TooManyRequests", `Rate limit exceeded; retry after ${t.retryAfterSeconds} s.`, {
            headers: { "Retry-After": String(t.retryAfterSeconds), "X-RateLimit-Limit": String(bucket.capacity), "X-RateLimit-Remaining": "0" },
          });
        }
      }
      try {
        return await handler(req);
      } catch (e) {
        if (e instanceof GatewayStateError) {
          if (e.code === "NotFound") return contractError(404, "NotFound", e.message);
          if (e.code === "InvalidCursor") return contractError(400, "InvalidCursor", e.message, { details: [{ field: "query:cursor", message: e.message }] });
          if (e.code === "CursorExpired") return contractError(410, "CursorExpired", e.message);
          return contractError(409, "Conflict", e.message);
        }
        throw e;
      }
    };

  const serverResponse = (s: Parameters<typeof toPublic>[0], status = 200): EmuResponse => ({
    status,
    headers: { ETag: s.etag, "Cache-Control": "no-store" },
    body: toPublic(s),
  });

  server.route(
    "GET",
    /^\/mcp-servers$/,
    guarded((req) => {
      const details: { field: string; message: string }[] = [];
      for (const key of new Set(req.query.keys())) {
        const known = key === "cursor" || key === "limit" || (deps.numberedPages && (key === "snapshot" || key === "page"));
        if (!known) details.push({ field: `query:${key}`, message: "unknown query parameter" });
      }
      const limitText = req.query.get("limit");
      let limit = DEFAULT_PAGE_SIZE;
      if (limitText !== null && limitText !== "") {
        limit = Number(limitText);
        if (!Number.isInteger(limit) || limit < 1) details.push({ field: "query:limit", message: "must be a whole number of at least 1" });
      }
      const cursor = req.query.get("cursor");
      const snapshot = req.query.get("snapshot");
      const pageNumber = Number(req.query.get("page") ?? "");
      if (snapshot !== null && (!Number.isInteger(pageNumber) || pageNumber < 0))
        details.push({ field: "query:page", message: "must be a whole number of at least 0" });
      if (details.length > 0) return contractError(400, "ValidationFailed", "The request is invalid.", { details });
      if (snapshot !== null) {
        const numbered = deps.state.snapshotPage(snapshot, pageNumber);
        if (!numbered) return contractError(410, "SnapshotExpired", "The listing snapshot is unknown or expired; list again from the first page.");
        if (pageNumber >= numbered.pageCount)
          return contractError(400, "ValidationFailed", "The request is invalid.", {
            details: [{ field: "query:page", message: "beyond the snapshot's last page" }],
          });
        deps.listPageServed();
        return { status: 200, headers: { "Cache-Control": "no-store" }, body: { items: numbered.items.map(toPublic), nextCursor: null } };
      }
      const pageSize = Math.min(limit, deps.pageSizeMax);
      const first = cursor === null || cursor === "";
      // The listing ETag names the whole listing, so only its first page carries it and answers 304.
      const listingEtag = first && deps.listingEtag() ? deps.state.listingEtag() : undefined;
      const ifNoneMatch = req.headers["if-none-match"];
      if (listingEtag !== undefined && typeof ifNoneMatch === "string" && etagMatchesWeakly(ifNoneMatch, listingEtag)) {
        return { status: 304, headers: { ETag: listingEtag, "Cache-Control": "no-store" } };
      }
      const page = deps.state.page(first ? undefined : cursor, pageSize);
      const body = {
        items: page.items.map(toPublic),
        nextCursor: page.nextCursor,
        ...(deps.numberedPages && first && page.nextCursor ? { pagination: deps.state.openSnapshot(pageSize) } : {}),
        ...(listingEtag !== undefined ? { listingEtag } : {}),
      };
      // After the page (and its snapshot) exist: an expiry due now takes them with it.
      deps.listPageServed();
      return { status: 200, headers: { "Cache-Control": "no-store", ...(listingEtag !== undefined ? { ETag: listingEtag } : {}) }, body };
    }),
  );

  server.route(
    "GET",
    /^\/mcp-servers\/([^/]+)$/,
    guarded((req) => {
      const s = deps.state.get(req.params[0]!);
      if (!s) return contractError(404, "NotFound", `MCP server ${req.params[0]} does not exist.`);
      return serverResponse(s);
    }),
  );

  server.route(
    "PATCH",
    /^\/mcp-servers\/([^/]+)\/authentication$/,
    guarded((req) => {
      const id = req.params[0]!;
      const body = parseJsonObject(req);
      if ("error" in body) return body.error;
      const details = validateSecretBody(body.value);
      if (details.length > 0) return contractError(400, "ValidationFailed", "The request body is invalid.", { details });
      const s = deps.state.get(id);
      if (!s) return contractError(404, "NotFound", `MCP server ${id} does not exist.`);
      const ifMatch = req.headers["if-match"];
      if (typeof ifMatch === "string" && !etagMatches(ifMatch, s.etag)) {
        return contractError(412, "PreconditionFailed", "The MCP server changed since it was read (If-Match does not match the current ETag).", {
          headers: { ETag: s.etag },
        });
      }
      // The lost update: acknowledged with the server as it was, nothing stored.
      if (deps.loseUpdate(id)) return serverResponse(s);
      const updated = deps.state.setSecret(id, body.value["clientSecret"] as string);
      return serverResponse(updated);
    }),
  );

  server.route(
    "POST",
    /^\/mcp-servers\/([^/]+)\/authentication\/test$/,
    guarded(async (req) => {
      const id = req.params[0]!;
      if (!deps.state.get(id)) return contractError(404, "NotFound", `MCP server ${id} does not exist.`);
      const result = await deps.testConnection(id);
      return { status: 200, headers: { "Cache-Control": "no-store" }, body: { ok: result.ok, detail: result.detail, checkedAt: deps.now().toISOString() } };
    }),
  );
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** RFC 9110 If-Match: "*" or a list of strong entity tags; weak tags never match. */
function etagMatches(header: string, current: string): boolean {
  const tags = header.split(",").map((t) => t.trim());
  return tags.some((t) => t === "*" || (!t.startsWith("W/") && t === current));
}

/** RFC 9110 If-None-Match: "*" or a list of entity tags, compared weakly (W/ ignored). */
function etagMatchesWeakly(header: string, current: string): boolean {
  const opaque = (t: string): string => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => t.trim() === "*" || opaque(t) === opaque(current));
}

function parseJsonObject(req: EmuRequest): { value: Record<string, unknown> } | { error: EmuResponse } {
  const ct = req.headers["content-type"];
  if (typeof ct !== "string" || !ct.toLowerCase().includes("application/json")) {
    return { error: contractError(415, "UnsupportedMediaType", "Send the body as application/json.") };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.rawBody);
  } catch {
    return {
      error: contractError(400, "ValidationFailed", "The request body is not valid JSON.", { details: [{ field: "body", message: "not valid JSON" }] }),
    };
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    return {
      error: contractError(400, "ValidationFailed", "The request body must be a JSON object.", { details: [{ field: "body", message: "must be an object" }] }),
    };
  }
  return { value: parsed as Record<string, unknown> };
}

function validateSecretBody(body: Record<string, unknown>): { field: string; message: string }[] {
  const details: { field: string; message: string }[] = [];
  for (const key of Object.keys(body)) {
    if (key !== "clientSecret") details.push({ field: key, message: "unknown field; only clientSecret may be updated here" });
  }
  const secret = body["clientSecret"];
  if (secret === undefined) details.push({ field: "clientSecret", message: "is required" });
  else if (typeof secret !== "string") details.push({ field: "clientSecret", message: "must be a string" });
  else if (secret.trim() === "") details.push({ field: "clientSecret", message: "must not be empty" });
  else if (secret.length > MAX_SECRET_LENGTH) details.push({ field: "clientSecret", message: `must be at most ${MAX_SECRET_LENGTH} characters` });
  else if (hasControlCharacter(secret)) details.push({ field: "clientSecret", message: "must not contain control characters" });
  return details;
}

/** C0 controls and DEL: a secret pasted with a stray newline or tab is refused, as the contract says. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
