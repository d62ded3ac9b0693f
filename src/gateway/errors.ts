import { RotatorError, ensureRotatorError } from "../errors.js";

/**
 * The gateway's error codes. Callers key on these (propagation retries the retryable ones, the
 * runner re-reads on a precondition failure, alerts name the code), so they are stable.
 */
export const GatewayErrorCode = {
  Unauthorized: "GATEWAY_UNAUTHORIZED",
  Forbidden: "GATEWAY_FORBIDDEN",
  NotFound: "GATEWAY_NOT_FOUND",
  TargetNotFound: "GATEWAY_TARGET_NOT_FOUND",
  TargetNotOAuth2: "GATEWAY_TARGET_NOT_OAUTH2",
  TargetChanged: "GATEWAY_TARGET_CHANGED",
  PreconditionFailed: "GATEWAY_PRECONDITION_FAILED",
  Throttled: "GATEWAY_THROTTLED",
  Rejected: "GATEWAY_REJECTED",
  Unavailable: "GATEWAY_UNAVAILABLE",
  Unreachable: "GATEWAY_UNREACHABLE",
  BadResponse: "GATEWAY_BAD_RESPONSE",
  ListingExpired: "GATEWAY_LISTING_EXPIRED",
  TestUnsupported: "GATEWAY_TEST_UNSUPPORTED",
  TokenMissing: "GATEWAY_TOKEN_MISSING",
  ManualActionRequired: "GATEWAY_MANUAL_ACTION_REQUIRED",
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

export interface GatewayErrorContext {
  /** "list MCP servers", "update the client secret of MCP server X" … */
  operation: string;
  tenant: string;
  apiTokenSecretName: string;
  /** Set for calls about one server: a 404 then means the server, not the base URL. */
  targetId?: string;
  /** A write whose outcome is unknown when the connection breaks. */
  write?: boolean;
  /** What a 403 says the token cannot reach, when the gateway's word for it is not "tenant" (a Kong workspace, a Konnect control plane). */
  scopeLabel?: string;
  /** The gateway's own fix for a refused token (401), a token without access (403), or a listing that is not there (404), when cequence's words do not fit. */
  hints?: { unauthorized?: string; forbidden?: string; notFound?: string };
}

/**
 * Turns an HttpClient failure into a gateway error with an operator hint. The HttpClient message
 * is kept (it is already redacted and names method, URL and status) behind our own words.
 */
export function mapGatewayError(err: unknown, ctx: GatewayErrorContext): RotatorError {
  const e = ensureRotatorError(err);
  if (e.code === "ABORTED") return e;
  const base = { status: e.status, upstreamCode: e.upstreamCode, cause: e };
  const msg = (what: string): string => `Gateway: could not ${ctx.operation}: ${what} (${e.message})`;
  switch (e.status) {
    case 401:
      return new RotatorError(GatewayErrorCode.Unauthorized, msg("the API token was refused"), {
        ...base,
        hint:
          ctx.hints?.unauthorized ??
          `The gateway refused the API token stored in Key Vault secret "${ctx.apiTokenSecretName}". Create a new admin API token in the gateway console, store it in that secret, then retry.`,
      });
    case 403:
      return new RotatorError(GatewayErrorCode.Forbidden, msg(`the API token has no access to ${ctx.scopeLabel ?? `tenant "${ctx.tenant}"`}`), {
        ...base,
        hint:
          ctx.hints?.forbidden ??
          `Check gateway.tenant ("${ctx.tenant}") and that the API token in "${ctx.apiTokenSecretName}" may read and update MCP server authentication in that tenant.`,
      });
    case 404:
      return ctx.targetId !== undefined
        ? new RotatorError(GatewayErrorCode.TargetNotFound, msg(`MCP server ${ctx.targetId} does not exist`), {
            ...base,
            hint: "The MCP server was deleted since it was listed (the next run rediscovers targets), or gateway.paths.update/test is wrong for this gateway.",
          })
        : new RotatorError(GatewayErrorCode.NotFound, msg("the gateway has no such route"), {
            ...base,
            hint: ctx.hints?.notFound ?? "Check gateway.baseUrl and gateway.paths.list against the gateway's API (docs/gateway-contract.md).",
          });
    case 412:
      return new RotatorError(GatewayErrorCode.PreconditionFailed, msg("the MCP server changed since it was read (ETag mismatch)"), {
        ...base,
        retryable: true,
        hint: "Someone edited the MCP server while the rotation ran; read it again and retry with the fresh ETag (propagation does this by itself).",
      });
    case 429:
      return new RotatorError(GatewayErrorCode.Throttled, msg("the gateway kept throttling"), {
        ...base,
        retryable: true,
        hint: "Lower gateway.maxRequestsPerSecond or gateway.maxConcurrency, or ask the gateway owner for a higher API limit; the next pass retries.",
      });
    case 400:
    case 413:
    case 415:
    case 422:
      return new RotatorError(GatewayErrorCode.Rejected, msg("the gateway rejected the request"), {
        ...base,
        hint: "The gateway refused the request body or parameters; the message names the field. Check that this gateway implements docs/gateway-contract.md.",
      });
    default:
      break;
  }
  if (e.status !== undefined && (e.status >= 500 || e.status === 408)) {
    return new RotatorError(GatewayErrorCode.Unavailable, msg(`the gateway failed${ctx.write ? " (the update may or may not have been applied)" : ""}`), {
      ...base,
      retryable: true,
      hint: "The gateway is failing; it is usually transient and the next pass retries. If it persists, check the gateway's status page.",
    });
  }
  if (e.status === undefined && (e.code === "HTTP_NETWORK" || e.code === "HTTP_TIMEOUT")) {
    return new RotatorError(GatewayErrorCode.Unreachable, msg(`no answer${ctx.write ? " (the update may or may not have been applied)" : ""}`), {
      ...base,
      upstreamCode: e.code,
      retryable: true,
      hint: "Check gateway.baseUrl, DNS, firewall rules and TLS trust from the Function App to the gateway; the next pass retries.",
    });
  }
  return e;
}
