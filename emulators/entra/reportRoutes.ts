import type { EmulatorServer, EmuRequest, EmuResponse } from "../common/server.js";
import { graphError } from "./graphRoutes.js";
import type { EntraState } from "./state.js";
import type { SignInEvent, SignInEventType, SignInLog } from "./signInLog.js";

/**
 * Graph's evidence of use, filled from what the token and authorize endpoints saw (signInLog.ts):
 * - beta `GET /reports/appCredentialSignInActivities` (learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta):
 *   one row per credential that signed in, with its last sign-in; `$filter` on appId and keyId.
 * - v1.0 and beta `GET /auditLogs/signIns` (learn.microsoft.com/graph/api/signin-list): newest first,
 *   `$filter` on appId, createdDateTime and status/errorCode, `$top` (max 1000) and `$skiptoken`
 *   paging through `@odata.nextLink`. Without an event-type filter only interactive user sign-ins
 *   are listed; beta's `signInEventTypes/any(t: t eq '…')` selects non-interactive and
 *   service-principal sign-ins, whose rows carry `servicePrincipalCredentialKeyId`.
 * Both need AuditLog.Read.All and an Entra ID P1/P2 licence: `SignInLog.access` simulates a caller
 * without the permission (403 Authorization_RequestDenied) or a tenant without the licence (403
 * Authentication_RequestFromNonPremiumTenantOrB2CTenant).
 */
const ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const MAX_TOP = 1000;

type Json = Record<string, unknown>;

class BadFilter extends Error {}

interface Filter {
  appId?: string;
  keyId?: string;
  createdAfter?: { ms: number; inclusive: boolean };
  createdBefore?: { ms: number; inclusive: boolean };
  errorCode?: { op: "eq" | "ne"; value: number };
  eventTypes?: Set<SignInEventType>;
}

const EVENT_TYPES = new Set<SignInEventType>(["interactiveUser", "nonInteractiveUser", "servicePrincipal"]);

/** The subset of OData `$filter` these reports are queried with; anything else is Graph's 400. */
function parseReportFilter(text: string | null, allowed: ReadonlySet<string>): Filter {
  const out: Filter = {};
  if (!text?.trim()) return out;
  for (let clause of splitAnd(text)) {
    clause = unwrap(clause.trim());
    let m: RegExpExecArray | null;
    if ((m = /^(appId|keyId)\s+eq\s+'([^']*)'$/i.exec(clause)) && allowed.has(m[1]!.toLowerCase())) {
      if (m[1]!.toLowerCase() === "appid") out.appId = m[2]!.toLowerCase();
      else out.keyId = m[2]!.toLowerCase();
    } else if ((m = /^createdDateTime\s+(ge|gt|le|lt)\s+(\S+)$/i.exec(clause)) && allowed.has("createddatetime")) {
      const ms = Date.parse(m[2]!);
      if (Number.isNaN(ms)) throw new BadFilter(`Invalid DateTimeOffset literal '${m[2]}'.`);
      const op = m[1]!.toLowerCase();
      if (op === "ge" || op === "gt") out.createdAfter = { ms, inclusive: op === "ge" };
      else out.createdBefore = { ms, inclusive: op === "le" };
    } else if ((m = /^status\/errorCode\s+(eq|ne)\s+(\d+)$/i.exec(clause)) && allowed.has("status/errorcode")) {
      out.errorCode = { op: m[1]!.toLowerCase() as "eq" | "ne", value: Number(m[2]) };
    } else if ((m = /^signInEventTypes\/any\((\w+)\s*:\s*(.+)\)$/i.exec(clause)) && allowed.has("signineventtypes")) {
      const v = m[1]!;
      const types = new Set<SignInEventType>();
      for (const alt of m[2]!.split(/\s+or\s+/i)) {
        const t = new RegExp(`^${v}\\s+eq\\s+'([^']+)'$`).exec(unwrap(alt.trim()));
        if (!t || !EVENT_TYPES.has(t[1] as SignInEventType)) throw new BadFilter(`Invalid filter clause: ${alt.trim()}`);
        types.add(t[1] as SignInEventType);
      }
      out.eventTypes = types;
    } else {
      throw new BadFilter(`Invalid filter clause: ${clause}`);
    }
  }
  return out;
}

function splitAnd(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === "(") depth++;
    else if (!quoted && c === ")") depth--;
    else if (!quoted && depth === 0 && /^\sand\s/i.test(text.slice(i, i + 5))) {
      parts.push(text.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

function unwrap(s: string): string {
  while (s.startsWith("(") && s.endsWith(")") && balanced(s.slice(1, -1))) s = s.slice(1, -1).trim();
  return s;
}

function balanced(s: string): boolean {
  let d = 0;
  for (const c of s) {
    if (c === "(") d++;
    else if (c === ")" && --d < 0) return false;
  }
  return d === 0;
}

function matchesSignIn(e: SignInEvent, f: Filter): boolean {
  const t = Date.parse(e.createdDateTime);
  if (f.appId && e.appId !== f.appId) return false;
  if (f.createdAfter && !(f.createdAfter.inclusive ? t >= f.createdAfter.ms : t > f.createdAfter.ms)) return false;
  if (f.createdBefore && !(f.createdBefore.inclusive ? t <= f.createdBefore.ms : t < f.createdBefore.ms)) return false;
  if (f.errorCode && (f.errorCode.op === "eq") !== (e.errorCode === f.errorCode.value)) return false;
  // Without an event-type filter the log lists interactive user sign-ins only.
  return (f.eventTypes ?? new Set(["interactiveUser"])).has(e.eventType);
}

function signInJson(e: SignInEvent, beta: boolean): Json {
  const json: Json = {
    id: e.id,
    createdDateTime: e.createdDateTime,
    userDisplayName: e.userDisplayName ?? null,
    userPrincipalName: e.userPrincipalName ?? null,
    userId: e.userId ?? null,
    appId: e.appId,
    appDisplayName: e.appDisplayName,
    ipAddress: e.ipAddress,
    clientAppUsed: e.eventType === "servicePrincipal" ? null : "Browser",
    correlationId: e.correlationId,
    conditionalAccessStatus: "notApplied",
    isInteractive: e.eventType === "interactiveUser",
    riskDetail: "none",
    riskLevelAggregated: "none",
    riskLevelDuringSignIn: "none",
    riskState: "none",
    riskEventTypes: [],
    resourceDisplayName: e.resourceDisplayName,
    resourceId: e.resourceId,
    status: { errorCode: e.errorCode, failureReason: e.errorCode === 0 ? null : e.failureReason, additionalDetails: null },
    deviceDetail: { deviceId: "", displayName: null, operatingSystem: null, browser: null, isCompliant: null, isManaged: null, trustType: null },
    location: { city: null, state: null, countryOrRegion: null, geoCoordinates: null },
    appliedConditionalAccessPolicies: [],
  };
  if (beta) {
    json.signInEventTypes = [e.eventType];
    json.servicePrincipalId = e.servicePrincipalId ?? "";
    json.servicePrincipalName = e.servicePrincipalName ?? "";
    json.servicePrincipalCredentialKeyId = e.servicePrincipalCredentialKeyId ?? "";
  }
  return json;
}

export function registerReportRoutes(server: EmulatorServer, state: EntraState, log: SignInLog): void {
  const now = (): Date => state.clock.now();

  const guarded =
    (handler: (req: EmuRequest, tenantId: string) => EmuResponse) =>
    (req: EmuRequest): EmuResponse => {
      const header = req.headers.authorization;
      const token = typeof header === "string" && /^bearer /i.test(header) ? header.slice(7).trim() : "";
      const info = token ? state.validateAccessToken(token) : undefined;
      // The same audience rule as the application routes: this directory's Graph resource, or the
      // emulator's own URL (a client configured with graphBaseUrl = the emulator asks for that).
      const audience = info?.audience.toLowerCase().replace(/\/+$/, "");
      if (!info || (audience !== state.graphResource && audience !== server.url.toLowerCase())) {
        return graphError(401, "InvalidAuthenticationToken", token ? "Access token validation failure." : "Access token is empty.", now(), req);
      }
      if (log.access === "forbidden") return graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", now(), req);
      if (log.access === "unlicensed") {
        return graphError(
          403,
          "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
          "Neither tenant is B2C or tenant doesn't have premium license",
          now(),
          req,
        );
      }
      try {
        return handler(req, info.tenantId);
      } catch (e) {
        if (e instanceof BadFilter) return graphError(400, "BadRequest", e.message, now(), req);
        throw e;
      }
    };

  const paged = (req: EmuRequest, version: string, collection: string, rows: Json[]): EmuResponse => {
    const topText = req.query.get("$top");
    const top = topText === null ? MAX_TOP : Number(topText);
    if (!Number.isInteger(top) || top < 1) throw new BadFilter(`Invalid value '${topText}' for $top.`);
    const size = Math.min(top, MAX_TOP);
    const skip = Number(Buffer.from(req.query.get("$skiptoken") ?? "", "base64url").toString("utf8") || "0");
    const value = rows.slice(skip, skip + size);
    const body: Json = { "@odata.context": `${server.url}/${version}/$metadata#${collection}`, value };
    if (skip + size < rows.length) {
      // Graph writes the OData options with a literal `$` (…?$top=2&$skiptoken=…).
      const query = [...req.query].filter(([k]) => k !== "$skiptoken").map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
      query.push(`$skiptoken=${Buffer.from(String(skip + size)).toString("base64url")}`);
      body["@odata.nextLink"] = `${server.url}${req.rawPath}?${query.join("&")}`;
    }
    return { status: 200, headers: { "Content-Type": ODATA_JSON }, body };
  };

  server.route(
    "GET",
    /^\/(v1\.0|beta)\/auditLogs\/signIns$/,
    guarded((req, tenantId) => {
      const beta = req.params[0] === "beta";
      const allowed = new Set(["appid", "createddatetime", "status/errorcode", ...(beta ? ["signineventtypes"] : [])]);
      const filter = parseReportFilter(req.query.get("$filter"), allowed);
      const rows = log
        .list(tenantId)
        .filter((e) => matchesSignIn(e, filter))
        .map((e) => signInJson(e, beta));
      return paged(req, req.params[0]!, "auditLogs/signIns", rows);
    }),
  );

  server.route(
    "GET",
    /^\/beta\/reports\/appCredentialSignInActivities$/,
    guarded((req, tenantId) => {
      const filter = parseReportFilter(req.query.get("$filter"), new Set(["appid", "keyid"]));
      // The report is aggregated: a sign-in shows up only once it is older than the report's latency.
      const visibleUntil = now().getTime() - log.reportLatencyMs;
      const rows: Json[] = [];
      for (const app of state.listApplications(tenantId)) {
        if (filter.appId && app.appId !== filter.appId) continue;
        const sp = state.findServicePrincipal(tenantId, app.appId);
        const last = new Map<string, SignInEvent>();
        for (const e of log.list(tenantId)) {
          if (e.appId !== app.appId || e.errorCode !== 0 || !e.servicePrincipalCredentialKeyId || Date.parse(e.createdDateTime) > visibleUntil) continue;
          if (!last.has(e.servicePrincipalCredentialKeyId)) last.set(e.servicePrincipalCredentialKeyId, e); // newest first
        }
        for (const p of app.passwordCredentials) {
          const e = last.get(p.keyId);
          if (!e || (filter.keyId && p.keyId !== filter.keyId)) continue;
          rows.push({
            id: Buffer.from(`${p.keyId}|application`).toString("base64"),
            appId: app.appId,
            appObjectId: app.id,
            createdDateTime: p.startDateTime,
            credentialOrigin: "application",
            expirationDateTime: p.endDateTime,
            keyId: p.keyId,
            keyType: "clientSecret",
            keyUsage: "sign",
            resourceId: sp?.id ?? null,
            servicePrincipalObjectId: sp?.id ?? null,
            signInActivity: { lastSignInDateTime: e.createdDateTime, lastSignInRequestId: e.correlationId },
          });
        }
      }
      return paged(req, "beta", "reports/appCredentialSignInActivities", rows);
    }),
  );

  server.route("POST", /^\/_control\/reports$/, (req) => {
    const body = req.json<{ access?: string; reportLatencyMs?: number } | null>() ?? {};
    if (body.access !== undefined) {
      if (!["ok", "forbidden", "unlicensed"].includes(body.access))
        return { status: 400, body: { error: { code: "badRequest", message: "access must be ok, forbidden or unlicensed" } } };
      log.access = body.access as SignInLog["access"];
    }
    if (body.reportLatencyMs !== undefined) log.reportLatencyMs = Math.max(0, Number(body.reportLatencyMs) || 0);
    return { status: 200, body: { access: log.access, reportLatencyMs: log.reportLatencyMs } };
  });
}
