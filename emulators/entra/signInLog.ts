import { createHash, randomUUID } from "node:crypto";
import type { EmulatorServer, EmuRequest, EmuResponse, Handler } from "../common/server.js";
import { GRAPH_APP_ID, GRAPH_RESOURCE, type EntraState } from "./state.js";

/**
 * What the token and authorize endpoints actually saw, kept as Entra keeps its sign-in log: one
 * event per attempt (success or AADSTS failure), with the key ID of the client secret used. The
 * report routes (reportRoutes.ts) serve it as `auditLogs/signIns` and aggregate it into
 * `reports/appCredentialSignInActivities`.
 */
export type SignInEventType = "interactiveUser" | "nonInteractiveUser" | "servicePrincipal";

export interface SignInEvent {
  id: string;
  tenantId: string;
  createdDateTime: string;
  eventType: SignInEventType;
  appId: string;
  appDisplayName: string;
  /** Users only. */
  userId?: string;
  userPrincipalName?: string;
  userDisplayName?: string;
  /** App-only (client credentials) sign-ins. */
  servicePrincipalId?: string;
  servicePrincipalName?: string;
  /** The passwordCredential whose secret was presented, when it matched one. */
  servicePrincipalCredentialKeyId?: string;
  resourceId: string | null;
  resourceDisplayName: string | null;
  errorCode: number;
  failureReason: string | null;
  correlationId: string;
  ipAddress: string;
}

/** What the reports answer: the tenant holds the licence and the caller the permission, or not. */
export type ReportsAccess = "ok" | "forbidden" | "unlicensed";

export class SignInLog {
  private readonly events: SignInEvent[] = [];
  access: ReportsAccess = "ok";
  /** How far `appCredentialSignInActivities` lags the sign-ins (the report is aggregated, not live). */
  reportLatencyMs = 0;

  constructor(private readonly state: EntraState) {}

  record(
    event: Omit<SignInEvent, "id" | "correlationId" | "ipAddress" | "createdDateTime"> &
      Partial<Pick<SignInEvent, "createdDateTime" | "correlationId" | "ipAddress">>,
  ): SignInEvent {
    const full: SignInEvent = {
      id: randomUUID(),
      correlationId: randomUUID(),
      ipAddress: "127.0.0.1",
      createdDateTime: this.state.clock.now().toISOString(),
      ...event,
    };
    this.events.push(full);
    if (this.events.length > 50_000) this.events.splice(0, this.events.length - 50_000);
    return full;
  }

  /** Every event of the tenant, newest first (the order the sign-in log lists them in). */
  list(tenantId: string): SignInEvent[] {
    return this.events.filter((e) => e.tenantId === tenantId).sort((a, b) => Date.parse(b.createdDateTime) - Date.parse(a.createdDateTime));
  }

  /** Ground truth for tests: the last successful app-only sign-in with a key, per key ID. */
  lastSignInByKey(appId: string): Map<string, SignInEvent> {
    const out = new Map<string, SignInEvent>();
    for (const e of this.events) {
      if (e.appId !== appId.toLowerCase() || e.errorCode !== 0 || !e.servicePrincipalCredentialKeyId) continue;
      const prev = out.get(e.servicePrincipalCredentialKeyId);
      if (!prev || Date.parse(prev.createdDateTime) <= Date.parse(e.createdDateTime)) out.set(e.servicePrincipalCredentialKeyId, e);
    }
    return out;
  }
}

/**
 * A view of the server whose routes record what they answered. The login routes register through
 * it, so they stay unaware of the log.
 */
export function recordingSignIns(server: EmulatorServer, state: EntraState, log: SignInLog): EmulatorServer {
  const view = Object.create(server) as EmulatorServer;
  view.route = (method: string, pattern: RegExp, handler: Handler): void => {
    server.route(method, pattern, async (req) => {
      const res = await handler(req);
      try {
        if (method === "POST" && /\/oauth2\/v2\.0\/token$/.test(req.path)) recordToken(req, res, state, log);
        else if (method === "GET" && /\/oauth2\/v2\.0\/authorize$/.test(req.path)) recordAuthorize(req, res, state, log);
      } catch {
        // The log must never change what the endpoint answered.
      }
      return res;
    });
  };
  return view;
}

function tenantOf(req: EmuRequest, state: EntraState): string | undefined {
  const segment = req.path.split("/")[1] ?? "";
  return state.resolveTenant(segment.toLowerCase())?.tenantId;
}

function recordToken(req: EmuRequest, res: EmuResponse, state: EntraState, log: SignInLog): void {
  const tenantId = tenantOf(req, state);
  if (!tenantId) return;
  const form = req.form();
  let clientId = form.get("client_id") ?? undefined;
  let secret = form.get("client_secret") ?? undefined;
  const auth = req.headers.authorization;
  if (typeof auth === "string" && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i > 0) {
      clientId ??= decodeURIComponent(decoded.slice(0, i));
      secret ??= decodeURIComponent(decoded.slice(i + 1));
    }
  }
  if (!clientId) return;
  const app = state.findApplication(tenantId, clientId);
  if (!app) return; // Entra logs sign-ins against an app of the tenant; an unknown client has none.
  const sp = state.findServicePrincipal(tenantId, app.appId);
  // A removed secret that replicas still accept is still the credential that signed in.
  const keyId = secret ? state.keyIdForSecret(app, secret) : undefined;
  const body = (res.body ?? {}) as { error_codes?: number[]; error_description?: string };
  const errorCode = res.status === 200 ? 0 : (body.error_codes?.[0] ?? 0);
  const scope = form.get("scope") ?? "";
  const resource = scope.replace(/\/\.default$/, "").replace(/\/+$/, "");
  const isGraph = resource.toLowerCase() === GRAPH_RESOURCE || resource.toLowerCase() === GRAPH_APP_ID;
  log.record({
    tenantId,
    eventType: "servicePrincipal",
    appId: app.appId,
    appDisplayName: app.displayName,
    ...(sp ? { servicePrincipalId: sp.id } : {}),
    servicePrincipalName: app.displayName,
    ...(keyId ? { servicePrincipalCredentialKeyId: keyId } : {}),
    resourceId: isGraph ? GRAPH_APP_ID : resource || null,
    resourceDisplayName: isGraph ? "Microsoft Graph" : resource || null,
    errorCode,
    failureReason: errorCode === 0 ? null : failureReason(body.error_description),
  });
}

function recordAuthorize(req: EmuRequest, res: EmuResponse, state: EntraState, log: SignInLog): void {
  // Without a (simulated) user the flow stops at the sign-in page: nobody signed in, nothing to log.
  const user = req.query.get("x_emulator_user");
  const clientId = req.query.get("client_id");
  if (!user || !clientId) return;
  const tenantId = tenantOf(req, state);
  const app = tenantId ? state.findApplication(tenantId, clientId) : state.findApplicationAnyTenant(clientId);
  if (!app) return;
  let errorCode = 0;
  let reason: string | null = null;
  if (res.status !== 302) {
    const html = typeof res.body === "string" ? res.body : "";
    const code = /"iErrorCode":(\d+)/.exec(html);
    if (!code || code[1] === "0") return;
    errorCode = Number(code[1]);
    reason = failureReason(/"strServiceExceptionMessage":"((?:[^"\\]|\\.)*)"/.exec(html)?.[1]);
  }
  const upn = user.includes("@") ? user.toLowerCase() : `${user.toLowerCase()}@${app.tenantId.slice(0, 8)}.example`;
  log.record({
    tenantId: app.tenantId,
    eventType: "interactiveUser",
    appId: app.appId,
    appDisplayName: app.displayName,
    userId: stableUserId(app.tenantId, upn),
    userPrincipalName: upn,
    userDisplayName: user,
    resourceId: GRAPH_APP_ID,
    resourceDisplayName: "Microsoft Graph",
    errorCode,
    failureReason: reason,
  });
}

/** The sign-in log's failureReason is the AADSTS message without the code, trace and timestamps. */
function failureReason(description: string | undefined): string | null {
  if (!description) return null;
  return (
    description
      .replace(/^AADSTS\d+:\s*/, "")
      .replace(/\s*Trace ID:.*$/s, "")
      .trim() || null
  );
}

/** The same user name always maps to the same object ID, as a directory would. */
function stableUserId(tenantId: string, upn: string): string {
  const h = createHash("sha256").update(`${tenantId}|${upn}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
