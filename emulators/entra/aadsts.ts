import { randomUUID } from "node:crypto";
import type { EmuResponse } from "../common/server.js";

/**
 * Entra (AADSTS) error texts and the shapes they arrive in. The texts follow what the real
 * service returns today (public issue reports quoting live responses); the placeholders are
 * filled with the request's own values, as Entra does.
 */
export interface AadstsError {
  code: number;
  /** OAuth error string (`invalid_client`, `unauthorized_client` …). */
  error: string;
  status: number;
  message: string;
}

export const aadsts = {
  tenantNotFound: (tenant: string): AadstsError => ({
    code: 90002,
    error: "invalid_request",
    status: 400,
    message:
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. ` +
      "Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
  }),
  invalidTenantIdentifier: (tenant: string): AadstsError => ({
    code: 900023,
    error: "invalid_request",
    status: 400,
    message: `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain.`,
  }),
  grantNotSupportedOnCommon: (): AadstsError => ({
    code: 9001023,
    error: "invalid_request",
    status: 400,
    message: "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
  }),
  noTenantInformation: (): AadstsError => ({
    code: 50059,
    error: "invalid_request",
    status: 400,
    message: "No tenant-identifying information found in either the request or implied by any provided credentials.",
  }),
  resourceNotFound: (resource: string, directory: string): AadstsError => ({
    code: 500011,
    error: "invalid_resource",
    status: 400,
    message:
      `The resource principal named ${resource} was not found in the tenant named ${directory}. This can happen if the application has not been ` +
      "installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
  }),
  missingParameter: (name: string): AadstsError => ({
    code: 900144,
    error: "invalid_request",
    status: 400,
    message: `The request body must contain the following parameter: '${name}'.`,
  }),
  unsupportedGrantType: (grant: string): AadstsError => ({
    code: 70003,
    error: "unsupported_grant_type",
    status: 400,
    message: `The app requested an unsupported grant type '${grant}'.`,
  }),
  appNotFound: (clientId: string, directory: string): AadstsError => ({
    code: 700016,
    error: "unauthorized_client",
    status: 400,
    message:
      `Application with identifier '${clientId}' was not found in the directory '${directory}'. ` +
      "This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. " +
      "You may have sent your authentication request to the wrong tenant.",
  }),
  missingClientCredential: (): AadstsError => ({
    code: 7000218,
    error: "invalid_client",
    status: 401,
    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  invalidClientSecret: (appId: string): AadstsError => ({
    code: 7000215,
    error: "invalid_client",
    status: 401,
    message:
      "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, " +
      `not the client secret ID, for a secret added to app '${appId}'.`,
  }),
  expiredClientSecret: (appId: string): AadstsError => ({
    code: 7000222,
    error: "invalid_client",
    status: 401,
    message:
      `The provided client secret keys for app '${appId}' are expired. Visit the Azure portal to create new keys for your app: ` +
      "https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
  }),
  scopeNeedsDefault: (scope: string): AadstsError => ({
    code: 1002012,
    error: "invalid_scope",
    status: 400,
    message:
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default ` +
      "suffixed to the resource identifier (application ID URI).",
  }),
  redirectUriMismatch: (redirectUri: string, appId: string): AadstsError => ({
    code: 50011,
    error: "invalid_request",
    status: 400,
    message:
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${appId}'. ` +
      "Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. " +
      "Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
  }),
  noReplyAddress: (): AadstsError => ({
    code: 500113,
    error: "invalid_request",
    status: 400,
    message: "No reply address is registered for the application.",
  }),
  idTokenNotEnabled: (): AadstsError => ({
    code: 700054,
    error: "invalid_request",
    status: 400,
    message: "response_type 'id_token' is not enabled for the application.",
  }),
  notMultiTenant: (appId: string, name: string): AadstsError => ({
    code: 50194,
    error: "invalid_request",
    status: 400,
    message:
      `Application '${appId}'(${name}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported ` +
      "for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.",
  }),
  userNotAssigned: (appId: string, name: string, user: string): AadstsError => ({
    code: 50105,
    error: "access_denied",
    status: 400,
    message:
      `Your administrator has configured the application ${name} ('${appId}') to block users unless they are specifically granted ('assigned') ` +
      `access to the application. The signed in user '${user}' is blocked because they are not a direct member of a group with access, ` +
      "nor had access directly assigned by an administrator. Please contact your administrator to assign access to this application.",
  }),
  consentRequired: (appId: string, name: string): AadstsError => ({
    code: 65001,
    error: "invalid_grant",
    status: 400,
    message:
      `The user or administrator has not consented to use the application with ID '${appId}' named '${name}'. ` +
      "Send an interactive authorization request for this user and resource.",
  }),
};

function entraTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/** The JSON error body of the token endpoint (and of discovery for an unknown tenant). */
export function tokenErrorResponse(e: AadstsError, now: Date, correlationId?: string, errorOverride?: string): EmuResponse {
  const traceId = randomUUID();
  const corr = correlationId ?? randomUUID();
  const ts = entraTimestamp(now);
  return {
    status: e.status,
    headers: { "Cache-Control": "no-store, no-cache", Pragma: "no-cache", "x-ms-request-id": traceId },
    body: {
      error: errorOverride ?? e.error,
      error_description: `AADSTS${e.code}: ${e.message} Trace ID: ${traceId} Correlation ID: ${corr} Timestamp: ${ts}`,
      error_codes: [e.code],
      timestamp: ts,
      trace_id: traceId,
      correlation_id: corr,
      error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * The "Sorry, but we're having trouble signing you in" page. Like the real one it is served with
 * 200 and carries the code both as visible text and in the embedded `$Config` object
 * (`iErrorCode`, `strServiceExceptionMessage`), which is what a probe should read.
 */
export function authorizeErrorPage(e: AadstsError, now: Date, correlationId?: string): EmuResponse {
  const requestId = randomUUID();
  const corr = correlationId ?? randomUUID();
  const text = `AADSTS${e.code}: ${e.message}`;
  const config = {
    iErrorCode: e.code,
    strServiceExceptionMessage: text,
    strServiceExceptionCode: e.error,
    correlationId: corr,
    sessionId: requestId,
    timestamp: now.toISOString(),
  };
  const html = `<!DOCTYPE html>
<html dir="ltr" lang="en"><head><title>Sign in to your account</title>
<meta charset="utf-8"><meta name="robots" content="none">
<script type="text/javascript">//<![CDATA[
$Config=${JSON.stringify(config).replace(/</g, "\\u003c")};
//]]></script></head>
<body><div id="lightbox">
<div role="heading" aria-level="1">Sign in</div>
<div id="errorTitle">Sorry, but we’re having trouble signing you in.</div>
<div id="errorText">${escapeHtml(text)}</div>
<table id="debugDetails"><tr><td>Request Id:</td><td>${requestId}</td></tr>
<tr><td>Correlation Id:</td><td>${corr}</td></tr>
<tr><td>Timestamp:</td><td>${now.toISOString()}</td></tr>
<tr><td>Message:</td><td>${escapeHtml(text)}</td></tr></table>
</div></body></html>`;
  return { status: 200, raw: true, body: html, headers: { "x-ms-request-id": requestId } };
}

export function signInPage(appName: string, now: Date): EmuResponse {
  const config = { iErrorCode: 0, strAppName: appName, timestamp: now.toISOString(), urlPost: "/common/login" };
  const html = `<!DOCTYPE html>
<html dir="ltr" lang="en"><head><title>Sign in to your account</title>
<meta charset="utf-8"><meta name="robots" content="none">
<script type="text/javascript">//<![CDATA[
$Config=${JSON.stringify(config).replace(/</g, "\\u003c")};
//]]></script></head>
<body><div id="lightbox"><div role="heading" aria-level="1">Sign in</div>
<form method="post" action="/common/login"><input type="email" name="loginfmt" placeholder="Email, phone, or Skype">
<input type="submit" value="Next"></form><div>to continue to ${escapeHtml(appName)}</div></div></body></html>`;
  return { status: 200, raw: true, body: html };
}
