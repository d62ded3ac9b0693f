import type { EmulatorServer, EmuRequest, EmuResponse } from "../common/server.js";
import { aadsts, authorizeErrorPage, signInPage, tokenErrorResponse, type AadstsError } from "./aadsts.js";
import { GRAPH_APP_ID, isGuid, type EntraState, type StoredApplication, type Tenant } from "./state.js";

/**
 * The login.microsoftonline.com side: OIDC discovery (v2 and v1), JWKS, the v2 token endpoint
 * (client credentials) and the v2 authorize endpoint.
 */
const MULTI_TENANT_ALIASES = new Set(["common", "organizations", "consumers"]);
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
/** Delegated scopes a user can get without any grant (OIDC sign-in itself). */
const OIDC_SCOPES = new Set(["openid", "profile", "email", "offline_access"]);

type TenantRef = { kind: "tenant"; tenant: Tenant } | { kind: "alias"; alias: string } | { kind: "error"; error: AadstsError };

function resolveTenantSegment(state: EntraState, segment: string): TenantRef {
  const lower = segment.toLowerCase();
  if (MULTI_TENANT_ALIASES.has(lower)) return { kind: "alias", alias: lower };
  const tenant = state.resolveTenant(lower);
  if (tenant) return { kind: "tenant", tenant };
  if (!isGuid(lower) && !DNS_NAME.test(lower)) return { kind: "error", error: aadsts.invalidTenantIdentifier(segment) };
  return { kind: "error", error: aadsts.tenantNotFound(segment) };
}

function correlationOf(req: EmuRequest): string | undefined {
  const h = req.headers["client-request-id"];
  return typeof h === "string" && h ? h : undefined;
}

function discoveryDocument(base: string, segment: string, issuerTenant: string, v1 = false): Record<string, unknown> {
  const t = `${base}/${segment}`;
  const common = {
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "token id_token", "token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    request_uri_parameter_supported: false,
    userinfo_endpoint: v1 ? `${t}/openid/userinfo` : "https://graph.microsoft.com/oidc/userinfo",
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    tenant_region_scope: "NA",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  };
  if (v1) {
    return {
      ...common,
      token_endpoint: `${t}/oauth2/token`,
      jwks_uri: `${base}/common/discovery/keys`,
      issuer: `https://sts.windows.net/${issuerTenant}/`,
      authorization_endpoint: `${t}/oauth2/authorize`,
      device_authorization_endpoint: `${t}/oauth2/devicecode`,
      end_session_endpoint: `${t}/oauth2/logout`,
      check_session_iframe: `${t}/oauth2/checksession`,
      kerberos_endpoint: `${t}/kerberos`,
    };
  }
  return {
    ...common,
    token_endpoint: `${t}/oauth2/v2.0/token`,
    jwks_uri: `${t}/discovery/v2.0/keys`,
    issuer: `${base}/${issuerTenant}/v2.0`,
    authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${t}/oauth2/v2.0/logout`,
    kerberos_endpoint: `${t}/kerberos`,
  };
}

export function registerLoginRoutes(server: EmulatorServer, state: EntraState): void {
  const base = (): string => server.url;

  const discovery =
    (v1: boolean) =>
    (req: EmuRequest): EmuResponse => {
      const segment = req.params[0]!;
      const ref = resolveTenantSegment(state, segment);
      if (ref.kind === "error") return tokenErrorResponse(ref.error, state.clock.now(), correlationOf(req), "invalid_tenant");
      // Endpoints always name the tenant by GUID, whichever way it was addressed; aliases keep their name
      // and publish the `{tenantid}` issuer template.
      const pathTenant = ref.kind === "tenant" ? ref.tenant.tenantId : ref.alias;
      const issuerTenant = ref.kind === "tenant" ? ref.tenant.tenantId : "{tenantid}";
      return { status: 200, body: discoveryDocument(base(), pathTenant, issuerTenant, v1) };
    };
  server.route("GET", /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/, discovery(false));
  server.route("GET", /^\/([^/]+)\/\.well-known\/openid-configuration$/, discovery(true));
  // One signing key behind every tenant's and alias's jwks_uri (v1 and v2), as Entra shares its keys across tenants.
  server.route("GET", /^\/([^/]+)\/discovery(?:\/v2\.0)?\/keys$/, () => ({ status: 200, body: state.signer.jwks() }));

  server.route("POST", /^\/([^/]+)\/oauth2\/v2\.0\/token$/, (req) => tokenEndpoint(req, state, base()));
  server.route("GET", /^\/([^/]+)\/oauth2\/v2\.0\/authorize$/, (req) => authorizeEndpoint(req, state));
}

function basicAuth(req: EmuRequest): { clientId: string; secret: string } | undefined {
  const h = req.headers.authorization;
  if (typeof h !== "string" || !/^basic /i.test(h)) return undefined;
  const decoded = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return undefined;
  return { clientId: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
}

function tokenEndpoint(req: EmuRequest, state: EntraState, localGraphUrl: string): EmuResponse {
  const now = state.clock.now();
  const corr = correlationOf(req);
  const fail = (e: AadstsError): EmuResponse => tokenErrorResponse(e, now, corr);
  const form = req.form();
  const segment = req.params[0]!;

  const ref = resolveTenantSegment(state, segment);
  if (ref.kind === "error") return fail(ref.error);

  const grantType = form.get("grant_type");
  if (!grantType) return fail(aadsts.missingParameter("grant_type"));
  if (grantType !== "client_credentials") return fail(aadsts.unsupportedGrantType(grantType));
  if (ref.kind === "alias") {
    return fail(ref.alias === "organizations" ? aadsts.noTenantInformation() : aadsts.grantNotSupportedOnCommon());
  }
  const tenant = ref.tenant;

  const basic = basicAuth(req);
  const clientId = form.get("client_id") ?? basic?.clientId;
  if (!clientId) return fail(aadsts.missingParameter("client_id"));
  const app = state.findApplication(tenant.tenantId, clientId);
  if (!app) return fail(aadsts.appNotFound(clientId, tenant.displayName));

  const secret = form.get("client_secret") ?? basic?.secret;
  if (!secret && !form.get("client_assertion")) return fail(aadsts.missingClientCredential());
  // Certificate assertions are not modelled: an app here only ever has password credentials.
  if (!secret) return fail(aadsts.invalidClientSecret(app.appId));

  const scope = form.get("scope");
  if (!scope) return fail(aadsts.missingParameter("scope"));
  const scopes = scope.trim().split(/\s+/);
  const resourceScope = scopes.find((s) => s.endsWith("/.default"));
  if (!resourceScope || scopes.length !== 1) return fail(aadsts.scopeNeedsDefault(scope));

  const outcome = state.checkSecret(app, secret);
  // A secret that is not replicated yet, or not yet valid, is indistinguishable from a wrong one.
  if (outcome === "expired") return fail(aadsts.expiredClientSecret(app.appId));
  if (outcome !== "accepted") return fail(aadsts.invalidClientSecret(app.appId));

  const requested = resourceScope.slice(0, -"/.default".length);
  // No resource principal in the tenant for that identifier: AADSTS500011. That covers another cloud's
  // Graph (a US Government tenant has no principal for graph.microsoft.com) and any unknown API.
  if (!state.isKnownResource(tenant.tenantId, requested, localGraphUrl)) return fail(aadsts.resourceNotFound(requested, tenant.displayName));
  const audience = normaliseAudience(requested, state.graphResource);
  const isGraph = audience.toLowerCase() === state.graphResource || audience.toLowerCase() === localGraphUrl.toLowerCase();
  // The token carries the app roles granted on its resource; Graph's are the application permissions.
  const roles = isGraph ? state.graphRolesOf(tenant.tenantId, app.appId) : [];
  const { accessToken, expiresIn } = state.issueToken(app.appId, tenant.tenantId, audience, roles);
  return {
    status: 200,
    headers: { "Cache-Control": "no-store, no-cache", Pragma: "no-cache" },
    body: { token_type: "Bearer", expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken },
  };
}

function normaliseAudience(resource: string, graphResource: string): string {
  const r = resource.replace(/\/+$/, "");
  return r.toLowerCase() === GRAPH_APP_ID ? graphResource : r;
}

/** Which delegated Graph scopes an authorize request asks for, as bare names (`User.Read`). */
function requestedGraphScopes(scope: string): string[] {
  return scope
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => s.replace(/^https:\/\/graph\.microsoft\.com\//i, ""))
    .filter((s) => !s.includes("/") && !s.includes(":"));
}

function authorizeEndpoint(req: EmuRequest, state: EntraState): EmuResponse {
  const now = state.clock.now();
  const corr = correlationOf(req);
  const page = (e: AadstsError): EmuResponse => authorizeErrorPage(e, now, corr);
  const q = req.query;
  const segment = req.params[0]!;

  const ref = resolveTenantSegment(state, segment);
  if (ref.kind === "error") return page(ref.error);

  const clientId = q.get("client_id");
  if (!clientId) return page(aadsts.missingParameter("client_id"));
  const app: StoredApplication | undefined =
    ref.kind === "tenant" ? state.findApplication(ref.tenant.tenantId, clientId) : state.findApplicationAnyTenant(clientId);
  if (!app) return page(aadsts.appNotFound(clientId, ref.kind === "tenant" ? ref.tenant.displayName : segment));

  const redirectUri = q.get("redirect_uri");
  if (redirectUri === null) {
    if (app.web.redirectUris.length === 0) return page(aadsts.noReplyAddress());
  } else if (!app.web.redirectUris.includes(redirectUri)) {
    // Exact, case-sensitive match against the Web platform's redirect URIs, as Entra compares them.
    return page(aadsts.redirectUriMismatch(redirectUri, app.appId));
  }

  const responseType = q.get("response_type");
  if (!responseType) return page(aadsts.missingParameter("response_type"));
  if (responseType.split(/\s+/).includes("id_token") && !app.web.implicitGrantSettings.enableIdTokenIssuance) {
    return page(aadsts.idTokenNotEnabled());
  }
  const scope = q.get("scope");
  if (!scope) return page(aadsts.missingParameter("scope"));

  // Without a simulated user the flow stops at the sign-in page, as a probe without credentials sees it.
  const user = q.get("x_emulator_user");
  if (!user) return signInPage(app.displayName, now);

  // --- what happens after a user signs in (emulator-only parameter) ---
  if (ref.kind === "alias" && app.signInAudience === "AzureADMyOrg") return page(aadsts.notMultiTenant(app.appId, app.displayName));
  const sp = state.findServicePrincipal(app.tenantId, app.appId);
  const groups = (q.get("x_emulator_groups") ?? "")
    .split(",")
    .map((g) => g.trim().toLowerCase())
    .filter(Boolean);
  if (sp?.appRoleAssignmentRequired) {
    const u = user.toLowerCase();
    const assigned = sp.assignments.some(
      (a) =>
        (a.principalType === "User" && (a.principalId === u || a.principalDisplayName.toLowerCase() === u)) ||
        (a.principalType === "Group" && groups.includes(a.principalId)),
    );
    if (!assigned) return page(aadsts.userNotAssigned(app.appId, app.displayName, user));
  }
  const granted = new Set(
    state
      .listGrants(app.tenantId)
      .filter((g) => sp && g.clientId === sp.id && g.consentType === "AllPrincipals")
      .flatMap((g) => g.scope.split(/\s+/))
      .map((s) => s.toLowerCase()),
  );
  const missing = requestedGraphScopes(scope).filter((s) => !OIDC_SCOPES.has(s.toLowerCase()) && !granted.has(s.toLowerCase()));
  if (missing.length > 0) return page(aadsts.consentRequired(app.appId, app.displayName));

  const target = new URL(redirectUri ?? app.web.redirectUris[0]!);
  target.searchParams.set("code", `emu-code.${Math.random().toString(36).slice(2)}`);
  const state_ = q.get("state");
  if (state_ !== null) target.searchParams.set("state", state_);
  return { status: 302, headers: { Location: target.toString() } };
}
