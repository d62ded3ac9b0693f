import { createHash, timingSafeEqual } from "node:crypto";
import type { EmuRequest, EmuResponse, EmulatorServer } from "../common/server.js";
import type { KongPlugin, KongState } from "./state.js";

/**
 * The Admin API routes of ../shared/specs/kong-openid-connect.md for plugin entities: list with
 * `size`/`offset` paging (§ Pagination), read, PATCH as a schema-aware deep merge of records with
 * arrays replaced whole (§ PATCH semantics), PUT as a full replace, the error table of § Errors, and
 * the RBAC header (§ Admin API auth). There is no ETag and no If-Match (§ Concurrency).
 */
export const DEFAULT_ADMIN_TOKEN_HEADER = "kong-admin-token";
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface KongRouteDeps {
  state: KongState;
  /** Undefined: RBAC off (§ Admin API auth: the header "is not needed when RBAC is off"). */
  adminToken: string | undefined;
  adminTokenHeader: string;
  /** Called after a write is stored and answered: a second writer may change the entity again (emulator.ts). */
  afterWrite: (before: KongPlugin, written: KongPlugin) => void;
}

/** § Errors: the body is the error table itself: code, name, message, and fields (or options). */
function dbError(code: number, name: string, message: string, status: number, fields?: Record<string, unknown>): EmuResponse {
  return { status, body: { code, name, message, ...(fields ? { fields } : {}) } };
}

const NOT_FOUND: EmuResponse = { status: 404, body: { message: "Not found" } };

const CLIENT_AUTH = [
  "client_secret_basic",
  "client_secret_post",
  "client_secret_jwt",
  "private_key_jwt",
  "tls_client_auth",
  "self_signed_tls_client_auth",
  "none",
];
const AUTH_METHODS = ["authorization_code", "bearer", "client_credentials", "introspection", "kong_oauth2", "password", "refresh_token", "session", "userinfo"];
const TOP_LEVEL = new Set([
  "id",
  "name",
  "instance_name",
  "created_at",
  "updated_at",
  "route",
  "service",
  "consumer",
  "config",
  "protocols",
  "enabled",
  "tags",
  "ordering",
]);

export function registerKongRoutes(server: EmulatorServer, deps: KongRouteDeps): void {
  const tokenDigest = deps.adminToken === undefined ? undefined : sha(deps.adminToken);
  const authed =
    (handler: (req: EmuRequest) => EmuResponse) =>
    (req: EmuRequest): EmuResponse => {
      if (tokenDigest) {
        const given = req.headers[deps.adminTokenHeader];
        const value = Array.isArray(given) ? given[0] : given;
        if (!value || !timingSafeEqual(sha(value), tokenDigest)) {
          // § Admin API auth: the OAS's UnauthorizedError {status, message}; the wording is a guess (README).
          return { status: 401, body: { message: "Invalid credentials. Token or User credentials required", status: 401 } };
        }
      }
      return handler(req);
    };

  const list = (serviceId: string | undefined) =>
    authed((req) => {
      const sizeRaw = req.query.get("size");
      const size = sizeRaw === null ? DEFAULT_PAGE_SIZE : Number(sizeRaw);
      if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
        return dbError(9, "invalid size", `size must be an integer between 1 and ${MAX_PAGE_SIZE}`, 400);
      }
      const offsetRaw = req.query.get("offset");
      let start = 0;
      if (offsetRaw !== null) {
        const decoded = decodeOffset(offsetRaw);
        if (decoded === undefined) return dbError(7, "invalid offset", `'${offsetRaw}' is not a valid offset: bad base64 encoding`, 400);
        start = decoded;
      }
      const tags = req.query.get("tags");
      const all = deps.state.all().filter((p) => (serviceId === undefined || p.service?.id === serviceId) && tagsMatch(p, tags));
      const data = all.slice(start, start + size);
      const more = start + size < all.length;
      const body: Record<string, unknown> = { data, next: null };
      if (more) {
        const offset = encodeOffset(start + size);
        // § Pagination: `next` is relative, and carries tags/size when the request did.
        const base = serviceId === undefined ? "/plugins" : `/services/${serviceId}/plugins`;
        body["offset"] = offset;
        body["next"] =
          `${base}?offset=${encodeURIComponent(offset)}${tags ? `&tags=${encodeURIComponent(tags)}` : ""}${sizeRaw !== null ? `&size=${size}` : ""}`;
      }
      return { status: 200, body };
    });

  const found = (req: EmuRequest, id: string, serviceId: string | undefined): KongPlugin | undefined => {
    void req;
    const p = deps.state.get(id);
    // § Admin API endpoints: 404 also when the plugin is not attached to that service.
    if (!p || (serviceId !== undefined && p.service?.id !== serviceId)) return undefined;
    return p;
  };

  const read = (serviceOf: (req: EmuRequest) => string | undefined) =>
    authed((req) => {
      const p = found(req, req.params.at(-1)!, serviceOf(req));
      return p ? { status: 200, body: p } : NOT_FOUND;
    });

  const write = (mode: "patch" | "put", serviceOf: (req: EmuRequest) => string | undefined) =>
    authed((req) => {
      const before = found(req, req.params.at(-1)!, serviceOf(req));
      if (!before) return NOT_FOUND;
      let body: unknown;
      try {
        body = req.json();
      } catch {
        return { status: 400, body: { message: "Cannot parse JSON body" } };
      }
      if (!isRecord(body)) return dbError(2, "schema violation", "schema violation (expected a record)", 400, { "@entity": ["expected a record"] });
      const merged =
        mode === "patch"
          ? mergeValues(before, body)
          : ({ ...body, id: before.id, created_at: before.created_at, updated_at: before.updated_at } as unknown as KongPlugin);
      const problems = validate(merged, body);
      if (problems.length > 0) return schemaViolation(problems);
      const written = deps.state.put(merged);
      deps.afterWrite(before, written);
      return { status: 200, body: written };
    });

  const id = "([0-9a-fA-F-]{36})";
  const svc = (req: EmuRequest): string | undefined => req.params[0];
  const none = (): undefined => undefined;
  server.route("GET", /^\/plugins\/?$/, list(undefined));
  server.route("GET", new RegExp(`^/plugins/${id}$`), read(none));
  server.route("PATCH", new RegExp(`^/plugins/${id}$`), write("patch", none));
  server.route("PUT", new RegExp(`^/plugins/${id}$`), write("put", none));
  server.route("GET", /^\/services\/([^/]+)\/plugins\/?$/, (req) => list(req.params[0])(req));
  server.route("GET", new RegExp(`^/services/([^/]+)/plugins/${id}$`), read(svc));
  server.route("PATCH", new RegExp(`^/services/([^/]+)/plugins/${id}$`), write("patch", svc));
}

/** § PATCH semantics (`Schema:merge_values`): records merge deeply, everything else (arrays included) is replaced. */
function mergeValues(base: KongPlugin, patch: Record<string, unknown>): KongPlugin {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (k === "config" && isRecord(v)) out[k] = { ...base.config, ...v };
    else out[k] = v;
  }
  return out as unknown as KongPlugin;
}

interface Problem {
  path: string[];
  message: string;
}

function validate(p: KongPlugin, given: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  for (const k of Object.keys(given)) if (!TOP_LEVEL.has(k)) problems.push({ path: [k], message: "unknown field" });
  if (p.name !== "openid-connect") problems.push({ path: ["name"], message: "this emulator serves openid-connect plugins only" });
  const c = p.config as unknown;
  if (!isRecord(c)) return [...problems, { path: ["config"], message: "expected a record" }];
  const known = new Set(["issuer", "client_id", "client_secret", "client_auth", "auth_methods", "client_arg", "cache_tokens", "cache_ttl"]);
  for (const k of Object.keys(c)) if (!known.has(k)) problems.push({ path: ["config", k], message: "unknown field" });
  if (typeof c["issuer"] !== "string" || c["issuer"] === "") problems.push({ path: ["config", "issuer"], message: "required field missing" });
  for (const f of ["client_id", "client_secret"]) {
    const v = c[f];
    if (v === null || v === undefined) continue;
    if (!Array.isArray(v)) problems.push({ path: ["config", f], message: "expected an array" });
    else v.forEach((e, i) => typeof e !== "string" && problems.push({ path: ["config", f, String(i + 1)], message: "expected a string" }));
  }
  const enumArray = (f: string, allowed: string[]) => {
    const v = c[f];
    if (v === null || v === undefined) return;
    if (!Array.isArray(v)) problems.push({ path: ["config", f], message: "expected an array" });
    else
      v.forEach(
        (e, i) => !allowed.includes(e as string) && problems.push({ path: ["config", f, String(i + 1)], message: `expected one of: ${allowed.join(", ")}` }),
      );
  };
  enumArray("client_auth", CLIENT_AUTH);
  enumArray("auth_methods", AUTH_METHODS);
  return problems;
}

/** § Errors: "schema violation (<field>.<sub>: <msg>)" or "<n> schema violations (<a>; <b>)", with the messages nested under `fields`. */
function schemaViolation(problems: Problem[]): EmuResponse {
  const parts = problems.map((p) => `${p.path.join(".")}: ${p.message}`);
  const message = problems.length === 1 ? `schema violation (${parts[0]})` : `${problems.length} schema violations (${parts.join("; ")})`;
  const fields: Record<string, unknown> = {};
  for (const p of problems) {
    // An array element's problem is listed under its array (the spec's example: client_auth.1 → fields.config.client_auth[]).
    const path = /^\d+$/.test(p.path.at(-1)!) ? p.path.slice(0, -1) : p.path;
    let node = fields;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    const leaf = path.at(-1)!;
    node[leaf] = path.length < p.path.length ? [...((node[leaf] as string[] | undefined) ?? []), p.message] : p.message;
  }
  return dbError(2, "schema violation", message, 400, fields);
}

function tagsMatch(p: KongPlugin, tags: string | null): boolean {
  if (!tags) return true;
  const have = new Set(p.tags ?? []);
  // § Pagination: `a,b` = AND, `a/b` = OR.
  return tags.includes("/") ? tags.split("/").some((t) => have.has(t)) : tags.split(",").every((t) => have.has(t));
}

/** The offset is opaque to clients (§ Pagination); here it is base64 of the next index. */
function encodeOffset(index: number): string {
  return Buffer.from(JSON.stringify({ i: index })).toString("base64");
}

function decodeOffset(raw: string): number | undefined {
  try {
    const v = JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as { i?: unknown };
    return Number.isInteger(v.i) && (v.i as number) >= 0 ? (v.i as number) : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function sha(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
