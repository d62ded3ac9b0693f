import { randomUUID } from "node:crypto";
import type { EmulatorServer, EmuRequest, EmuResponse } from "../common/server.js";
import { applicationListScope, hasAnyApplicationPermission, INSUFFICIENT_PRIVILEGES, mayAccessApplication, type ApplicationAccess } from "./graphAuthz.js";
import {
  EntraEmulatorError,
  GRAPH_APP_ID,
  type AccessTokenInfo,
  type EntraState,
  type StoredApplication,
  type StoredGrant,
  type StoredServicePrincipal,
} from "./state.js";
import { restrictionJson, type PolicyDocument } from "./appPolicy.js";

/**
 * The Microsoft Graph v1.0 slice the rotator and probes use. Every call needs a bearer token this
 * emulator issued for Graph; the token's tenant scopes what the caller sees. The application
 * routes (list, get, addPassword, removePassword) check the token's `roles` and the app's owners
 * (graphAuthz.ts); the other routes accept any token of the tenant.
 */
const ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

type Caller = AccessTokenInfo;

type Json = Record<string, unknown>;

export interface GraphRouteOptions {
  /** Page size of collections (`@odata.nextLink` beyond it); `$top` lowers it per request. */
  pageSize: number;
}

export function graphError(status: number, code: string, message: string, now: Date, req?: EmuRequest): EmuResponse {
  const requestId = randomUUID();
  const clientRequestId = req && typeof req.headers["client-request-id"] === "string" ? req.headers["client-request-id"] : requestId;
  return {
    status,
    headers: { "Content-Type": ODATA_JSON, "request-id": requestId, "client-request-id": clientRequestId },
    body: {
      error: {
        code,
        message,
        innerError: { date: now.toISOString().replace(/\.\d+Z$/, ""), "request-id": requestId, "client-request-id": clientRequestId },
      },
    },
  };
}

class GraphFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function ok(body: unknown, status = 200): EmuResponse {
  return { status, headers: { "Content-Type": ODATA_JSON }, body };
}

// ---- representations -----------------------------------------------------------------------

function applicationJson(app: StoredApplication): Json {
  return {
    id: app.id,
    deletedDateTime: null,
    appId: app.appId,
    applicationTemplateId: null,
    createdDateTime: app.createdDateTime,
    description: null,
    displayName: app.displayName,
    identifierUris: [],
    isFallbackPublicClient: app.isFallbackPublicClient,
    publisherDomain: null,
    signInAudience: app.signInAudience,
    tags: [],
    keyCredentials: [],
    passwordCredentials: app.passwordCredentials.map((p) => ({
      customKeyIdentifier: p.customKeyIdentifier,
      displayName: p.displayName,
      endDateTime: p.endDateTime,
      hint: p.hint,
      keyId: p.keyId,
      secretText: null,
      startDateTime: p.startDateTime,
    })),
    publicClient: { redirectUris: [] },
    requiredResourceAccess: app.requiredResourceAccess,
    spa: { redirectUris: [] },
    web: {
      homePageUrl: null,
      logoutUrl: null,
      redirectUris: [...app.web.redirectUris],
      implicitGrantSettings: { ...app.web.implicitGrantSettings },
      redirectUriSettings: app.web.redirectUris.map((uri) => ({ uri, index: null })),
    },
  };
}

function servicePrincipalJson(sp: StoredServicePrincipal): Json {
  return {
    id: sp.id,
    deletedDateTime: null,
    accountEnabled: true,
    appDisplayName: sp.displayName,
    appId: sp.appId,
    appOwnerOrganizationId: sp.appId === GRAPH_APP_ID ? "f8cdef31-a31e-4b4a-93e4-5f571e91255a" : sp.tenantId,
    appRoleAssignmentRequired: sp.appRoleAssignmentRequired,
    displayName: sp.displayName,
    servicePrincipalNames: [sp.appId],
    servicePrincipalType: "Application",
    signInAudience: "AzureADMyOrg",
    tags: [],
  };
}

function grantJson(g: StoredGrant): Json {
  return { clientId: g.clientId, consentType: g.consentType, id: g.id, principalId: g.principalId, resourceId: g.resourceId, scope: g.scope };
}

// ---- OData query options ---------------------------------------------------------------------

/** `$filter=a eq 'x' and b eq 'y'`: the only filter form the rotator and probes send. */
function parseFilter(filter: string | null, resource: string, allowed: readonly string[]): [string, string][] {
  if (filter === null) return [];
  const clauses = filter.split(/\s+and\s+/i);
  return clauses.map((c) => {
    const m = /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(c);
    if (!m || !allowed.includes(m[1]!)) {
      const prop = m?.[1] ?? c.trim().split(/\s+/)[0] ?? "";
      throw new GraphFailure(
        400,
        "Request_UnsupportedQuery",
        `Unsupported or invalid query filter clause specified for property '${prop}' of resource '${resource}'.`,
      );
    }
    return [m[1]!, m[2]!.replace(/''/g, "'")];
  });
}

function matches(obj: Json, clauses: [string, string][]): boolean {
  // $filter compares scalar properties (appId, displayName …); anything else never equals a literal.
  return clauses.every(([k, v]) => {
    const actual = obj[k];
    return (typeof actual === "string" || typeof actual === "number" || typeof actual === "boolean") && String(actual).toLowerCase() === v.toLowerCase();
  });
}

function applySelect(objs: Json[], select: string | null, type: string): Json[] {
  if (!select) return objs;
  const fields = select
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const sample = objs[0];
  if (sample) {
    for (const f of fields) {
      if (!(f in sample)) throw new GraphFailure(400, "BadRequest", `Could not find a property named '${f}' on type 'microsoft.graph.${type}'.`);
    }
  }
  return objs.map((o) => Object.fromEntries(fields.filter((f) => f in o).map((f) => [f, o[f]])));
}

function contextUrl(base: string, set: string, select: string | null, entity = false): string {
  return `${base}/v1.0/$metadata#${set}${select ? `(${select})` : ""}${entity ? "/$entity" : ""}`;
}

function page(req: EmuRequest, base: string, items: Json[], set: string, pageSize: number): EmuResponse {
  const top = Number(req.query.get("$top") ?? "");
  const size = Number.isInteger(top) && top > 0 ? Math.min(top, pageSize) : pageSize;
  const skip = Number(req.query.get("$skiptoken") ?? "0") || 0;
  const slice = items.slice(skip, skip + size);
  const body: Json = { "@odata.context": contextUrl(base, set, req.query.get("$select")), value: slice };
  if (skip + size < items.length) {
    // Graph writes OData option names with a bare `$` (URLSearchParams would encode it).
    const query = [...req.query].filter(([k]) => k !== "$skiptoken").map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
    query.push(`$skiptoken=${skip + size}`);
    body["@odata.nextLink"] = `${base}${req.rawPath}?${query.join("&")}`;
  }
  return ok(body);
}

// ---- routes ------------------------------------------------------------------------------------

export function registerGraphRoutes(server: EmulatorServer, state: EntraState, options: GraphRouteOptions): void {
  const now = (): Date => state.clock.now();
  /** One page of a collection with the request's `$select` applied, as every list route answers. */
  const selectedPage = (req: EmuRequest, items: Json[], type: string, set: string): EmuResponse =>
    page(req, server.url, applySelect(items, req.query.get("$select"), type), set, options.pageSize);

  /** Wraps a handler with Graph's bearer-token check and its error shape. */
  const authed =
    (handler: (req: EmuRequest, caller: Caller) => EmuResponse) =>
    (req: EmuRequest): EmuResponse => {
      const header = req.headers.authorization;
      const token = typeof header === "string" && /^bearer /i.test(header) ? header.slice(7).trim() : "";
      if (!token) return graphError(401, "InvalidAuthenticationToken", "Access token is empty.", now(), req);
      const info = state.validateAccessToken(token);
      if (!info) {
        const msg = state.isKnownToken(token) ? "Lifetime validation failed, the token is expired." : "Access token validation failure.";
        return graphError(401, "InvalidAuthenticationToken", msg, now(), req);
      }
      // Graph accepts tokens for its cloud's resource; locally it is also served at its own URL, which a
      // client deriving the scope from its Graph base URL asks for.
      const audience = info.audience.toLowerCase().replace(/\/+$/, "");
      if (audience !== state.graphResource && audience !== server.url.toLowerCase()) {
        return graphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", now(), req);
      }
      try {
        return handler(req, info);
      } catch (e) {
        if (e instanceof GraphFailure) return graphError(e.status, e.code, e.message, now(), req);
        if (e instanceof EntraEmulatorError) {
          const code =
            e.kind === "policyBlocked"
              ? "CredentialTypeNotAllowedAsPerAppPolicy"
              : e.kind === "policyLifetime"
                ? "CredentialInvalidLifetimeAsPerAppPolicy"
                : e.kind === "notFound"
                  ? "Request_ResourceNotFound"
                  : "Request_BadRequest";
          return graphError(e.kind === "notFound" ? 404 : 400, code, e.message, now(), req);
        }
        throw e;
      }
    };

  const notFound = (key: string): GraphFailure =>
    new GraphFailure(404, "Request_ResourceNotFound", `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);

  /** `applications/{id}` or `applications(appId='…')`, scoped to the caller's tenant. */
  /** The app of the caller's tenant, without a permission check. */
  const lookupApp = (caller: Caller, idSegment: string | undefined, appIdKey: string | undefined): StoredApplication => {
    const app = idSegment ? state.getApplication(idSegment) : state.findApplication(caller.tenantId, appIdKey ?? "");
    if (!app || app.tenantId !== caller.tenantId) throw notFound(idSegment ?? appIdKey ?? "");
    return app;
  };
  const denied = (): GraphFailure => new GraphFailure(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES);
  /** The app, once the caller may `access` it: no application permission at all → 403, unknown → 404, not permitted on this one → 403. */
  const findApp = (caller: Caller, idSegment: string | undefined, appIdKey: string | undefined, access: ApplicationAccess): StoredApplication => {
    if (!hasAnyApplicationPermission(caller)) throw denied();
    const app = lookupApp(caller, idSegment, appIdKey);
    if (!mayAccessApplication(caller, app, access)) throw denied();
    return app;
  };
  const APP = String.raw`\/v1\.0\/applications(?:\/([0-9a-fA-F-]{36})|\(appId='([^']*)'\))`;

  server.route(
    "GET",
    /^\/v1\.0\/applications$/,
    authed((req, caller) => {
      const scope = applicationListScope(caller);
      if (scope === "none") throw denied();
      const filter = parseFilter(req.query.get("$filter"), "Application", ["appId", "id", "displayName"]);
      const all = state
        .listApplications(caller.tenantId)
        .filter((a) => scope === "all" || mayAccessApplication(caller, a, "read"))
        .map(applicationJson)
        .filter((a) => matches(a, filter));
      return selectedPage(req, all, "application", "applications");
    }),
  );

  server.route(
    "GET",
    new RegExp(`^${APP}$`),
    authed((req, caller) => {
      const app = findApp(caller, req.params[0] || undefined, req.params[1] || undefined, "read");
      const select = req.query.get("$select");
      const [json] = applySelect([applicationJson(app)], select, "application");
      return ok({ "@odata.context": contextUrl(server.url, "applications", select, true), ...json });
    }),
  );

  server.route(
    "POST",
    new RegExp(`^${APP}\\/addPassword$`),
    authed((req, caller) => {
      const app = findApp(caller, req.params[0] || undefined, req.params[1] || undefined, "write");
      const body = req.json<{ passwordCredential?: { displayName?: string | null; startDateTime?: string; endDateTime?: string } } | null>();
      const pc = body?.passwordCredential ?? {};
      const created = state.addPassword(app.id, pc);
      return ok({ "@odata.context": `${server.url}/v1.0/$metadata#microsoft.graph.passwordCredential`, ...created });
    }),
  );

  server.route(
    "POST",
    new RegExp(`^${APP}\\/removePassword$`),
    authed((req, caller) => {
      const app = findApp(caller, req.params[0] || undefined, req.params[1] || undefined, "write");
      const keyId = req.json<{ keyId?: unknown } | null>()?.keyId;
      if (typeof keyId !== "string" || !/^[0-9a-f-]{36}$/i.test(keyId)) {
        throw new GraphFailure(400, "Request_BadRequest", "Invalid value specified for property 'keyId' of resource 'PasswordCredential'.");
      }
      if (!state.removePassword(app.id, keyId)) {
        throw new GraphFailure(400, "Request_BadRequest", `No password credential found with keyId '${keyId}'.`);
      }
      return { status: 204 };
    }),
  );

  server.route(
    "GET",
    /^\/v1\.0\/servicePrincipals$/,
    authed((req, caller) => {
      const filter = parseFilter(req.query.get("$filter"), "ServicePrincipal", ["appId", "id", "displayName"]);
      const all = state
        .listServicePrincipals(caller.tenantId)
        .map(servicePrincipalJson)
        .filter((s) => matches(s, filter));
      return selectedPage(req, all, "servicePrincipal", "servicePrincipals");
    }),
  );

  const findSp = (caller: Caller, id: string | undefined, appId: string | undefined): StoredServicePrincipal => {
    const sp = id ? state.getServicePrincipal(id) : state.findServicePrincipal(caller.tenantId, appId ?? "");
    if (!sp || sp.tenantId !== caller.tenantId) throw notFound(id ?? appId ?? "");
    return sp;
  };
  const SP = String.raw`\/v1\.0\/servicePrincipals(?:\/([0-9a-fA-F-]{36})|\(appId='([^']*)'\))`;

  server.route(
    "GET",
    new RegExp(`^${SP}$`),
    authed((req, caller) => {
      const sp = findSp(caller, req.params[0] || undefined, req.params[1] || undefined);
      const select = req.query.get("$select");
      const [json] = applySelect([servicePrincipalJson(sp)], select, "servicePrincipal");
      return ok({ "@odata.context": contextUrl(server.url, "servicePrincipals", select, true), ...json });
    }),
  );

  server.route(
    "GET",
    new RegExp(`^${SP}\\/appRoleAssignedTo$`),
    authed((req, caller) => {
      const sp = findSp(caller, req.params[0] || undefined, req.params[1] || undefined);
      const items = sp.assignments.map((a) => ({ ...a, deletedDateTime: null }));
      return selectedPage(req, items, "appRoleAssignment", `servicePrincipals('${sp.id}')/appRoleAssignedTo`);
    }),
  );

  server.route(
    "GET",
    /^\/v1\.0\/oauth2PermissionGrants$/,
    authed((req, caller) => {
      const filter = parseFilter(req.query.get("$filter"), "OAuth2PermissionGrant", ["clientId", "resourceId", "consentType", "principalId"]);
      const all = state
        .listGrants(caller.tenantId)
        .map(grantJson)
        .filter((g) => matches(g, filter));
      return selectedPage(req, all, "oAuth2PermissionGrant", "oauth2PermissionGrants");
    }),
  );

  server.route(
    "GET",
    /^\/v1\.0\/policies\/defaultAppManagementPolicy$/,
    authed(() => {
      const p = state.defaultPolicy;
      return ok({
        "@odata.context": `${server.url}/v1.0/$metadata#policies/defaultAppManagementPolicy/$entity`,
        id: p.id,
        description:
          "Default tenant policy that enforces app management restrictions on applications and service principals. " +
          "To apply policy to targeted resources, create a new policy under appManagementPolicies collection and assign it to an app or service principal.",
        displayName: p.displayName,
        isEnabled: p.isEnabled,
        applicationRestrictions: { passwordCredentials: p.passwordCredentials.map(restrictionJson), keyCredentials: [] },
        servicePrincipalRestrictions: { passwordCredentials: [], keyCredentials: [] },
      });
    }),
  );

  // The policies assigned to one app (at most one): appManagementPolicy objects, restrictions under `restrictions`.
  server.route(
    "GET",
    new RegExp(`^${APP}\\/appManagementPolicies$`),
    authed((req, caller) => {
      // Policy reads are not permission-checked here (the product treats a 403 on them as a warning).
      const app = lookupApp(caller, req.params[0] || undefined, req.params[1] || undefined);
      const assigned = state.appPolicyOf(app);
      const items = assigned ? [appPolicyJson(assigned)] : [];
      return selectedPage(req, items, "appManagementPolicy", `applications('${app.id}')/appManagementPolicies`);
    }),
  );
}

function appPolicyJson(p: PolicyDocument): Json {
  return {
    id: p.id,
    displayName: p.displayName,
    description: p.description,
    isEnabled: p.isEnabled,
    restrictions: { passwordCredentials: p.passwordCredentials.map(restrictionJson), keyCredentials: [] },
  };
}
