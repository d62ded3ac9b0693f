import { randomUUID } from "node:crypto";
import { explainAadsts } from "../../entra/aadsts.js";
import { ensureRotatorError, RotatorError } from "../../errors.js";
import type { GatewayTarget } from "../../gateway/types.js";
import { readAuthorizeResponse, type AuthorizeReading } from "../authorizePage.js";
import { maybe, nameList, oauthTargets, publishedEndpoint, type CheckContext, type CheckDefinition } from "../context.js";
import { expectedAuthorizeUrl, originOf, paramOf } from "../endpoints.js";
import { aadstsFailure, wrongDirectory } from "../findings.js";
import type { CheckSeverity, Evidence } from "../model.js";

/**
 * Opens the authorize endpoint the way the gateway sends users there — its authorization URL,
 * client ID, redirect URI and scopes — without signing anyone in. Entra checks the client ID and
 * redirect URI before showing the sign-in page, so AADSTS50011 / AADSTS700016 show up here before
 * a user meets them.
 */
export interface AuthorizeVerdict {
  status: "pass" | "fail" | "indeterminate";
  severity: CheckSeverity;
  message: string;
  hint: string;
  aadsts?: number;
}

/** OAuth 2.0 error codes that say the redirect URI is not one the provider has registered for the client. */
const REDIRECT_URI_ERRORS: ReadonlySet<string> = new Set(["invalid_redirect_uri", "redirect_uri_mismatch"]);

/**
 * Whether an answer without an AADSTS code says the redirect URI is the problem: an error code
 * naming it (oidc-provider's `invalid_redirect_uri`, Google's and GitHub's `redirect_uri_mismatch`)
 * or RFC 6749's generic `invalid_request` whose description is about the redirect URI.
 */
function namesRedirectUri(reading: AuthorizeReading): boolean {
  if (reading.aadsts !== undefined || reading.error === undefined) return false;
  if (REDIRECT_URI_ERRORS.has(reading.error)) return true;
  return reading.error === "invalid_request" && /redirect[_ ]?ur[il]/i.test(reading.message ?? "");
}

/** Errors that say the provider could not answer now; the request itself may be fine. */
const TRANSIENT_ERRORS: ReadonlySet<string> = new Set(["server_error", "temporarily_unavailable"]);

export function classifyAuthorizeReading(reading: AuthorizeReading, status: number, request: { redirectUri: string; clientId: string }): AuthorizeVerdict {
  if (reading.outcome === "sign-in" || reading.outcome === "redirect") {
    return { status: "pass", severity: "info", message: "Entra shows the sign-in page", hint: "" };
  }
  const code = reading.aadsts;
  // The reader says "HTTP <status>" when the answer has no words of its own; the status is said anyway.
  const detail = reading.message && reading.message !== `HTTP ${status}` ? `: ${reading.message}` : "";
  if (namesRedirectUri(reading)) {
    return {
      status: "fail",
      severity: "critical",
      message: `the redirect URI ${request.redirectUri} is not registered for client ${request.clientId} (${reading.error}${detail})`,
      hint:
        `Register ${request.redirectUri} exactly (scheme, host, path, trailing slash and case) as a redirect URI of the client at the identity provider ` +
        "(on Entra: the app registration's Authentication > Web > Redirect URIs), or set the gateway's redirectUri parameter to the URI that is registered.",
    };
  }
  const directory = wrongDirectory(code, {
    urlName: "authorization URL",
    clientId: request.clientId,
    tenantFix: "Fix the tenant segment of the gateway's authorizationUrl parameter: the Directory (tenant) ID, or `common` for a multi-tenant app.",
  });
  if (directory) return directory;
  switch (code) {
    case 50011:
      return {
        status: "fail",
        severity: "critical",
        message: `the redirect URI ${request.redirectUri} is not registered on the app (AADSTS50011)`,
        hint:
          `Add ${request.redirectUri} exactly (scheme, host, path, trailing slash and case) to the app registration's Authentication > Web > Redirect URIs, ` +
          "or set the gateway's redirectUri parameter to the URI that is registered.",
        aadsts: code,
      };
    case 500113:
      return aadstsFailure(
        code,
        "the app has no redirect URI registered (AADSTS500113)",
        `Add the gateway callback ${request.redirectUri} to the app registration's Authentication > Web > Redirect URIs.`,
      );
    case 50194:
      return aadstsFailure(
        code,
        "a single-tenant app is sent to /common (AADSTS50194)",
        "Use the tenant-specific authorization URL for a single-tenant app, or make the app multi-tenant (and set multiTenant: true) if that is intended.",
      );
    default:
      break;
  }
  if (code === undefined && (status >= 500 || status === 429 || TRANSIENT_ERRORS.has(reading.error ?? ""))) {
    return {
      status: "indeterminate",
      severity: "error",
      message: `the authorize endpoint answered HTTP ${status}`,
      hint: "Entra is throttling or degraded; the next probe retries.",
    };
  }
  if (code === undefined && reading.error === "invalid_client") {
    return {
      status: "fail",
      severity: "critical",
      message: `the authorization endpoint does not know client ID ${request.clientId} (invalid_client${detail})`,
      hint: "Compare the gateway's Client ID with the client registered at the identity provider (on Entra: the Application (client) ID on the app registration's Overview page), and check the authorization URL names the app's tenant.",
    };
  }
  if (code === undefined && reading.error !== undefined) {
    return {
      status: "fail",
      severity: "error",
      message: `the authorization endpoint refuses the sign-in request (${reading.error}${detail})`,
      hint: "Fix the setting the provider names in its message (see evidence).",
    };
  }
  if (code === undefined) {
    return {
      status: "fail",
      severity: "error",
      message: `the authorization URL does not show Entra's sign-in page (HTTP ${status}${detail})`,
      hint: "The gateway's authorizationUrl must be https://<sign-in host>/<tenant-id or common>/oauth2/v2.0/authorize.",
    };
  }
  const known = explainAadsts(code);
  return {
    status: "fail",
    severity: "error",
    message: `Entra refuses the sign-in request (AADSTS${code}${known ? `: ${known.summary}` : detail})`,
    hint: known?.hint ?? "Fix the setting Entra names in its message (see evidence).",
    aadsts: code,
  };
}

interface AuthorizeRequest {
  url: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  targets: string[];
}

export const authorizeCheck: CheckDefinition = {
  id: "authorize",
  title: "Sign-in request with the gateway's client ID and redirect URI",
  async run(ctx, f) {
    const { deps, abortSignal: signal } = ctx;
    const evidence: Evidence = {};
    const targets = oauthTargets(maybe(await ctx.shared.targets(), evidence, "gatewayTargets"));
    const endpoint = await publishedEndpoint(ctx, ctx.set.multiTenant ? "common" : ctx.set.tenantId, "authorization_endpoint", expectedAuthorizeUrl(ctx.set));
    evidence.authorizationEndpoint = endpoint.url;
    evidence.authorizationEndpointSource = endpoint.source;
    const requests = requestsFor(ctx, targets, evidence, endpoint.url);

    const outcomes = await Promise.all(
      requests.map(async (r) => {
        try {
          const res = await deps.http.request<unknown>({
            method: "GET",
            url: r.url,
            query: {
              client_id: r.clientId,
              response_type: "code",
              redirect_uri: r.redirectUri,
              scope: r.scopes.join(" "),
              response_mode: "query",
              state: `probe-${randomUUID()}`,
            },
            throwOnHttpError: false,
            abortSignal: signal,
          });
          const reading = readAuthorizeResponse(res.status, res.headers, res.data);
          return { r, status: res.status, verdict: classifyAuthorizeReading(reading, res.status, r), reading };
        } catch (e) {
          return { r, error: ensureRotatorError(e) };
        }
      }),
    );

    const lines: string[] = [];
    const undecided: RotatorError[] = [];
    for (const o of outcomes) {
      const who = o.r.targets.length ? `for ${o.r.targets.length} target(s) (${nameList(o.r.targets)})` : "for the configured settings";
      if (o.error) {
        lines.push(`${o.r.url} redirect_uri=${o.r.redirectUri} → ${o.error.code}`);
        undecided.push(o.error);
        f.warn("warning", `the sign-in request ${who} could not be made (${o.error.code})`, o.error.hint);
        continue;
      }
      const v = o.verdict;
      lines.push(
        `${o.r.url} redirect_uri=${o.r.redirectUri} → HTTP ${o.status} ${o.reading.aadsts !== undefined ? `AADSTS${o.reading.aadsts}` : (o.reading.error ?? o.reading.outcome)}`,
      );
      if (v.status === "pass") continue;
      if (v.status === "indeterminate") {
        undecided.push(new RotatorError("ENTRA_UNAVAILABLE", v.message, { hint: v.hint, status: o.status, retryable: true }));
        f.warn("warning", `${v.message} ${who}`, v.hint);
        continue;
      }
      f.fail(v.severity, `${v.message} ${who}`, v.hint, v.aadsts);
    }
    evidence.requests = lines;
    // Nothing could be decided at all: the check did not run, it did not pass.
    if (undecided.length === outcomes.length && undecided[0]) throw undecided[0];
    return f.outcome(`Entra shows the sign-in page for ${requests.length} distinct sign-in request(s)`, evidence);
  },
};

/**
 * One request per distinct (authorization URL, client ID, redirect URI) the targets use; the
 * configured settings when there are no targets. A URL on another host is not opened (gateway-drift
 * reports it); the authorization endpoint discovery publishes is opened in its place.
 */
function requestsFor(ctx: CheckContext, targets: GatewayTarget[], evidence: Evidence, fallbackUrl: string): AuthorizeRequest[] {
  const { set, tuning } = ctx;
  const origin = originOf(set.authorityHost);
  if (targets.length === 0) {
    return [{ url: fallbackUrl, clientId: set.clientId, redirectUri: set.redirectUri, scopes: set.scopes, targets: [] }];
  }
  const byKey = new Map<string, AuthorizeRequest>();
  const replaced: string[] = [];
  let dropped = 0;
  for (const t of targets) {
    const given = paramOf(t.additionalParameters, "authorizationUrl")?.value;
    let url = given ?? fallbackUrl;
    if (given && originOf(given) !== origin) {
      replaced.push(t.name);
      url = fallbackUrl;
    }
    const redirectUri = paramOf(t.additionalParameters, "redirectUri")?.value ?? set.redirectUri;
    const key = `${url.toLowerCase()}|${t.clientId.toLowerCase()}|${redirectUri}`;
    const existing = byKey.get(key);
    if (existing) {
      existing.targets.push(t.name);
      continue;
    }
    if (byKey.size > tuning.maxDistinctRequests) {
      dropped++;
      continue;
    }
    byKey.set(key, { url, clientId: t.clientId, redirectUri, scopes: t.scopes.length ? t.scopes : set.scopes, targets: [t.name] });
  }
  if (replaced.length) evidence.foreignAuthorizationUrlNotOpened = replaced;
  if (dropped) evidence.distinctRequestsNotTried = dropped;
  return [...byKey.values()];
}
