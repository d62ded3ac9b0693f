import { createHash, timingSafeEqual } from "node:crypto";
import type { EmuRequest, EmuResponse, EmulatorServer } from "../common/server.js";
import type { TokenBucket } from "../common/tokenBucket.js";
import { defaultEntity, type KongPlugin, type KongState } from "./state.js";

/**
 * The plugin routes of ../shared/specs/kong-openid-connect.md, served under one or more path
 * prefixes ("surfaces"): the Admin API's unprefixed paths and `/{workspace}/…` (§ Admin API
 * endpoints), or Konnect's `/v2/control-planes/{id}/core-entities/…` (§ Konnect equivalent).
 * List with `size`/`offset` paging (§ Pagination), read, PATCH as a schema-aware deep merge of
 * records with arrays replaced whole (§ PATCH semantics), PUT as a full upsert, and the error table
 * of § Errors. There is no ETag and no If-Match (§ Concurrency).
 */
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/** One path prefix plugins are served under, with its scope, auth and methods. */
export interface KongSurface {
  /** Regular-expression source of the prefix; with one capture group when it names the scope. */
  prefix: string;
  /** The scope (workspace, control plane) the captured prefix names; undefined when there is none such. */
  scopeOf(captured: string | undefined): string | undefined;
  /** The answer for a prefix naming no scope. */
  unknownScope: EmuResponse;
  /** The prefix of a `next` link for a scope (§ Pagination: `next` is a relative path). */
  nextPrefix(scope: string): string;
  /** The refusal for a request (401, 403), or undefined when it may go on. */
  authorize(req: EmuRequest, scope: string | undefined, write: boolean): EmuResponse | undefined;
  /** Whether PATCH is served; otherwise it answers `patchRefused` (§ Konnect equivalent: no PATCH). */
  patch: boolean;
  patchRefused?: EmuResponse;
}

export interface KongRouteDeps {
  state: KongState;
  /** Stamps created_at on a plugin a PUT creates. */
  nowSeconds: () => number;
  surfaces: KongSurface[];
  /** Called after a write is stored and answered: a second writer may change the entity again (emulator.ts). */
  afterWrite: (before: KongPlugin | undefined, written: KongPlugin) => void;
  /** The throttle in front of the API, when one is set (emulator.ts `setRateLimit`). */
  bucket: () => TokenBucket | undefined;
}

/** § Errors: the body is the error table itself: code, name, message, and fields (or options). */
function dbError(code: number, name: string, message: string, status: number, fields?: Record<string, unknown>): EmuResponse {
  return { status, body: { code, name, message, ...(fields ? { fields } : {}) } };
}

const NOT_FOUND: EmuResponse = { status: 404, body: { message: "Not found" } };

/**
 * README guesses: the Admin API has no rate limit of its own; one set with `setRateLimit` answers as
 * Kong's rate-limiting plugin in front of it would (429, `Retry-After`, `{"message":"API rate limit exceeded"}`).
 */
function throttle(bucket: TokenBucket | undefined): EmuResponse | undefined {
  const t = bucket?.take();
  if (!t || t.ok) return undefined;
  return { status: 429, headers: { "Retry-After": String(t.retryAfterSeconds) }, body: { message: "API rate limit exceeded" } };
}

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
const CONFIG_FIELDS = new Set(["issuer", "client_id", "client_secret", "client_auth", "auth_methods", "client_arg", "cache_tokens", "cache_ttl"]);

/** A header's value compared in constant time with `expected` (a token). */
export function headerMatches(req: EmuRequest, header: string, expected: string): boolean {
  const given = req.headers[header.toLowerCase()];
  const value = Array.isArray(given) ? given[0] : given;
  return value !== undefined && timingSafeEqual(sha(value), sha(expected));
}

export function registerKongRoutes(server: EmulatorServer, deps: KongRouteDeps): void {
  for (const surface of deps.surfaces) registerSurface(server, deps, surface);
}

function registerSurface(server: EmulatorServer, deps: KongRouteDeps, surface: KongSurface): void {
  const captures = new RegExp(`${surface.prefix}|`).exec("")!.length - 1;
  /** The scope, the service and the plugin a request's path names; or the refusal. */
  type Located = { scope: string; serviceId: string | undefined; pluginId: string | undefined };
  const handle =
    (write: boolean, hasService: boolean, hasId: boolean, handler: (req: EmuRequest, at: Located) => EmuResponse) =>
    (req: EmuRequest): EmuResponse => {
      const [captured, ...rest] = captures > 0 ? req.params : [undefined, ...req.params];
      const scope = surface.scopeOf(captured);
      const refused = surface.authorize(req, scope, write);
      if (refused) return refused;
      const throttled = throttle(deps.bucket());
      if (throttled) return throttled;
      if (scope === undefined) return surface.unknownScope;
      return handler(req, { scope, serviceId: hasService ? rest[0] : undefined, pluginId: hasId ? rest.at(-1) : undefined });
    };

  const list = (req: EmuRequest, at: Located): EmuResponse => {
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
    const all = deps.state.all(at.scope).filter((p) => (at.serviceId === undefined || p.service?.id === at.serviceId) && tagsMatch(p, tags));
    const data = all.slice(start, start + size);
    const body: Record<string, unknown> = { data, next: null };
    if (start + size < all.length) {
      const offset = encodeOffset(start + size);
      // § Pagination: `next` is relative, and carries tags/size when the request did.
      const base = `${surface.nextPrefix(at.scope)}${at.serviceId === undefined ? "" : `/services/${at.serviceId}`}/plugins`;
      body["offset"] = offset;
      body["next"] = `${base}?offset=${encodeURIComponent(offset)}${tags ? `&tags=${encodeURIComponent(tags)}` : ""}${sizeRaw !== null ? `&size=${size}` : ""}`;
    }
    return { status: 200, body };
  };

  /** The plugin, when it lives in the scope and (nested paths) is attached to the service; § Admin API endpoints: 404 otherwise. */
  const found = (at: Located): KongPlugin | undefined => {
    const p = deps.state.get(at.pluginId!);
    if (!p || deps.state.scopeOf(p.id) !== at.scope || (at.serviceId !== undefined && p.service?.id !== at.serviceId)) return undefined;
    return p;
  };

  const read = (_req: EmuRequest, at: Located): EmuResponse => {
    const p = found(at);
    return p ? { status: 200, body: p } : NOT_FOUND;
  };

  const write =
    (mode: "patch" | "put") =>
    (req: EmuRequest, at: Located): EmuResponse => {
      const before = found(at);
      const exists = deps.state.get(at.pluginId!) !== undefined;
      // PUT is an upsert (§ Admin API endpoints, § Konnect equivalent); PATCH needs the entity. An ID taken elsewhere cannot be created here.
      if (!before && (mode === "patch" || exists))
        return mode === "put" && exists ? dbError(3, "primary key violation", `primary key violation on key '{id="${at.pluginId}"}'`, 400) : NOT_FOUND;
      let body: unknown;
      try {
        body = req.json();
      } catch {
        return { status: 400, body: { message: "Cannot parse JSON body" } };
      }
      if (!isRecord(body)) return dbError(2, "schema violation", "schema violation (expected a record)", 400, { "@entity": ["expected a record"] });
      const merged = mode === "patch" ? mergeValues(before!, body) : replaceWith(body, at, before, deps.nowSeconds());
      const problems = validate(merged, body);
      if (problems.length > 0) return schemaViolation(problems);
      const written = deps.state.put(merged, at.scope);
      deps.afterWrite(before, written);
      return { status: 200, body: written };
    };

  const p = surface.prefix;
  const id = "([0-9a-fA-F-]{36})";
  const svc = "/services/([^/]+)";
  server.route("GET", new RegExp(`^${p}/plugins/?$`), handle(false, false, false, list));
  server.route("GET", new RegExp(`^${p}/plugins/${id}$`), handle(false, false, true, read));
  server.route("PUT", new RegExp(`^${p}/plugins/${id}$`), handle(true, false, true, write("put")));
  server.route("GET", new RegExp(`^${p}${svc}/plugins/?$`), handle(false, true, false, list));
  server.route("GET", new RegExp(`^${p}${svc}/plugins/${id}$`), handle(false, true, true, read));
  server.route("PUT", new RegExp(`^${p}${svc}/plugins/${id}$`), handle(true, true, true, write("put")));
  const patch = surface.patch ? write("patch") : () => surface.patchRefused!;
  server.route("PATCH", new RegExp(`^${p}/plugins/${id}$`), handle(true, false, true, patch));
  server.route("PATCH", new RegExp(`^${p}${svc}/plugins/${id}$`), handle(true, true, true, patch));
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

/**
 * A PUT replaces the entity: every field left out takes its default, not its old value (§ Konnect
 * equivalent: "read, modify and write the whole entity"). The path names the ID; timestamps are the server's.
 */
function replaceWith(
  body: Record<string, unknown>,
  at: { pluginId: string | undefined; serviceId: string | undefined },
  before: KongPlugin | undefined,
  now: number,
): KongPlugin {
  const defaults = defaultEntity();
  const config = isRecord(body["config"]) ? { ...defaults.config, ...body["config"] } : body["config"] === undefined ? defaults.config : body["config"];
  return {
    ...defaults,
    ...(at.serviceId !== undefined ? { service: { id: at.serviceId } } : {}),
    ...body,
    config,
    id: at.pluginId!,
    created_at: before?.created_at ?? now,
    updated_at: before?.updated_at ?? now - 1,
  } as unknown as KongPlugin;
}

interface Problem {
  path: string[];
  message: string;
}

function validate(p: KongPlugin, given: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  for (const k of Object.keys(given)) if (!TOP_LEVEL.has(k)) problems.push({ path: [k], message: "unknown field" });
  if (p.name === undefined) problems.push({ path: ["name"], message: "required field missing" });
  else if (p.name !== "openid-connect") problems.push({ path: ["name"], message: "this emulator serves openid-connect plugins only" });
  const c = p.config as unknown;
  if (!isRecord(c)) return [...problems, { path: ["config"], message: "expected a record" }];
  for (const k of Object.keys(c)) if (!CONFIG_FIELDS.has(k)) problems.push({ path: ["config", k], message: "unknown field" });
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
