import type { Severity } from "./severity.js";

/**
 * Every error code the service raises, listed once. A code is a stable name alerts, journals, the
 * CLI's exit codes and HTTP answers key on; this registry gives each its HTTP status (what our API
 * answers when the error reaches it), whether it is retryable unless the thrower knows better, and
 * its severity on the one scale. RotatorError's code is a key of this object, so tsc refuses a code
 * that is not listed here, and tests/errorCodes.test.ts checks every literal code in src/ against it.
 */
export interface ErrorCodeInfo {
  /** The HTTP status our API answers with when this error ends a request. */
  readonly httpStatus: number;
  /** RotatorError.retryable when the thrower does not say. */
  readonly retryable: boolean;
  readonly severity: Severity;
}

const code = (httpStatus: number, retryable: boolean, severity: Severity): ErrorCodeInfo => ({ httpStatus, retryable, severity });

// Shorthands for the common shapes: a caller's mistake, a refusal upstream, a transient failure.
const notFound = code(404, false, "info");
const conflict = code(409, false, "warning");
const upstream = code(502, false, "error");
const transient = code(503, true, "warning");
const policy = code(422, false, "error");
const bug = code(500, false, "critical");

export const ERROR_CODES = {
  // Cross-cutting
  ABORTED: code(503, false, "warning"),
  TIMEOUT: transient,
  UNEXPECTED: bug,
  CONFIG_INVALID: code(500, false, "critical"),
  // Our HTTP layer (src/http/client.ts); an answer with another status is HTTP_<status>, see errorCodeInfo.
  HTTP_ADDRESS_REFUSED: code(502, false, "error"),
  HTTP_RESPONSE_TOO_LARGE: upstream,
  HTTP_TIMEOUT: transient,
  HTTP_NETWORK: transient,
  HTTP_THROTTLED: transient,

  // Requests to our API and CLI
  SET_NOT_FOUND: notFound,
  RUN_NOT_FOUND: notFound,
  INCIDENT_NOT_FOUND: notFound,
  RUN_NOT_AWAITING_CONFIRMATION: conflict,
  CONFIRM_TARGET_UNKNOWN: notFound,
  ROTATION_IN_PROGRESS: conflict,
  REQUEST_DEFERRED: code(409, true, "info"),
  CLI_USAGE: code(400, false, "info"),
  // The operator sandbox (src/cli/sandbox.ts): its clock is refused outside loopback, and may be gone.
  SANDBOX_ONLY: code(400, false, "info"),
  SANDBOX_CLOCK_UNREADABLE: transient,
  BODY_TOO_LARGE: code(413, false, "info"),
  INVALID_BODY: code(400, false, "info"),
  INVALID_JSON: code(400, false, "info"),
  INVALID_CONTENT_LENGTH: code(400, false, "info"),
  DUPLICATE_KEY: code(400, false, "info"),
  INVALID_RUN_ID: code(400, false, "info"),
  METHOD_NOT_ALLOWED: code(405, false, "info"),
  UNKNOWN_QUERY_PARAMETER: code(400, false, "info"),
  UNSUPPORTED_MEDIA_TYPE: code(415, false, "info"),
  QUEUE_MESSAGE_INVALID: code(400, false, "warning"),
  CLI_WAIT_TIMEOUT: code(504, false, "warning"),

  // Rotation
  LEASE_LOST: transient,
  // A pass whose every target write failed (issue 25): the run stays open and the next pass retries.
  PROPAGATE_NO_PROGRESS: code(503, true, "error"),
  // A dependency status could not read within its deadline (issue 25).
  DEPENDENCY_UNAVAILABLE: transient,
  STEP_FAILED: upstream,
  RECONCILE_FAILED: upstream,
  CANARY_FAILED: code(502, false, "critical"),
  TARGETS_STALE: code(502, false, "critical"),
  VERIFY_REJECTED: upstream,
  TARGET_SECRET_MISMATCH: upstream,
  TARGET_TEST_FAILED: upstream,
  // verify-targets: not one read-back of a group got an answer from its gateway.
  TARGETS_UNREADABLE: upstream,
  CURRENT_SECRET_REFUSED: code(502, false, "critical"),
  POLICY_BLOCKS_PASSWORD_ADDITION: code(422, false, "critical"),
  SIGNIN_EVIDENCE_UNAVAILABLE: code(503, false, "warning"),

  // Entra sign-in endpoints
  ENTRA_UNAVAILABLE: transient,
  ENTRA_DISCOVERY_FAILED: upstream,
  ENTRA_DISCOVERY_INVALID: upstream,
  ENTRA_TENANT_NOT_FOUND: upstream,

  // Microsoft Graph
  GRAPH_APP_NOT_FOUND: code(502, false, "critical"),
  GRAPH_NOT_FOUND: upstream,
  GRAPH_ADDRESS_REFUSED: upstream,
  GRAPH_RESPONSE_TOO_LARGE: upstream,
  GRAPH_ADD_PASSWORD_UNCONFIRMED: code(502, true, "error"),
  GRAPH_AUTH_FAILED: upstream,
  GRAPH_BAD_REQUEST: upstream,
  GRAPH_CLIENT_ERROR: upstream,
  GRAPH_CONCURRENT_REQUESTS: transient,
  GRAPH_CONFLICT: code(502, true, "warning"),
  GRAPH_FORBIDDEN: upstream,
  GRAPH_INVALID_RESPONSE: upstream,
  GRAPH_NETWORK: transient,
  GRAPH_POLICY_BLOCKS_PASSWORD: policy,
  GRAPH_POLICY_LIFETIME: policy,
  GRAPH_REQUEST_FAILED: upstream,
  GRAPH_THROTTLED: transient,
  GRAPH_TIMEOUT: transient,
  GRAPH_UNAUTHORIZED: upstream,
  GRAPH_UNAVAILABLE: transient,

  // Key Vault
  VAULT_AUTH_FAILED: upstream,
  VAULT_CHALLENGE_MISMATCH: upstream,
  VAULT_CONFLICT: code(502, true, "warning"),
  VAULT_CURRENT_DISABLED: code(502, false, "critical"),
  VAULT_DELETED_RECOVERABLE: upstream,
  VAULT_DISABLED_VERSION: upstream,
  VAULT_ERROR: upstream,
  VAULT_FORBIDDEN: upstream,
  VAULT_INVALID_REQUEST: upstream,
  VAULT_OWN_VERSION_UNAVAILABLE: transient,
  VAULT_SECRET_NOT_FOUND: upstream,
  VAULT_STASH_FAILED: code(502, false, "critical"),
  VAULT_THROTTLED: transient,
  VAULT_TIMEOUT: transient,
  VAULT_UNAUTHORIZED: upstream,
  VAULT_UNAVAILABLE: transient,
  VAULT_UNEXPECTED_RESPONSE: code(502, true, "error"),
  VAULT_UNREACHABLE: upstream,
  VAULT_URL_INVALID: code(500, false, "critical"),
  VAULT_VALUE_CHANGED: code(502, false, "critical"),
  VAULT_VERSION_MISMATCH: upstream,

  // Gateway (src/gateway/errors.ts names them for the adapters)
  GATEWAY_UNAUTHORIZED: upstream,
  GATEWAY_FORBIDDEN: upstream,
  GATEWAY_NOT_FOUND: upstream,
  GATEWAY_TARGET_NOT_FOUND: upstream,
  GATEWAY_TARGET_NOT_OAUTH2: upstream,
  GATEWAY_TARGET_CHANGED: upstream,
  GATEWAY_PRECONDITION_FAILED: code(502, true, "warning"),
  GATEWAY_THROTTLED: transient,
  GATEWAY_REJECTED: upstream,
  GATEWAY_UNAVAILABLE: transient,
  GATEWAY_UNREACHABLE: transient,
  GATEWAY_BAD_RESPONSE: upstream,
  // The listing's cursors kept expiring before its last page; the next pass lists again.
  GATEWAY_LISTING_EXPIRED: code(502, true, "error"),
  GATEWAY_TEST_UNSUPPORTED: upstream,
  GATEWAY_TOKEN_MISSING: code(500, false, "critical"),
  GATEWAY_MANUAL_ACTION_REQUIRED: code(202, false, "warning"),
  // Target groups (src/gateway/groups.ts): an ID of one group reached another group's adapter.
  TARGET_GROUP_MISMATCH: bug,
  // Kong (src/gateway/kong): a vault reference is Kong's to refresh, never overwritten.
  KONG_CLIENT_UNKNOWN: bug,
  KONG_VAULT_REFERENCE: code(409, false, "info"),

  // Azure Resource Manager (src/arm): the ARM error code rides along as upstreamCode.
  ARM_UNAUTHORIZED: upstream,
  ARM_FORBIDDEN: upstream,
  ARM_NOT_FOUND: upstream,
  ARM_CONFLICT: code(409, true, "warning"),
  ARM_PRECONDITION_FAILED: code(502, true, "warning"),
  ARM_THROTTLED: transient,
  ARM_REJECTED: upstream,
  ARM_UNAVAILABLE: transient,
  ARM_UNREACHABLE: transient,
  ARM_TOKEN_FAILED: code(502, true, "error"),
  ARM_OPERATION_FAILED: upstream,
  ARM_OPERATION_TIMEOUT: transient,
  ARM_BAD_RESPONSE: upstream,

  // Consumers that read Key Vault themselves (delivery keyVault): asking one to refresh.
  TARGET_REFRESH_REFUSED: code(409, false, "warning"),
  TARGET_REFRESH_FAILED: code(502, true, "error"),

  // Storage, probes, alerts
  STORAGE_CONFLICT: code(409, true, "warning"),
  STORAGE_UNAVAILABLE: transient,
  PROBE_STORE_FAILED: code(503, false, "warning"),
  CHECK_FAILED: upstream,
  ALERT_CHANNEL_SECRET_MISSING: code(500, false, "error"),
  ALERT_CHANNEL_SECRET_UNAVAILABLE: transient,
  ALERT_CHANNEL_CRASHED: upstream,
  ALERT_DELIVERY_FAILED: upstream,
  ALERT_REPORT_INVALID: code(502, false, "warning"),
  ALERT_CHANNEL_TIMEOUT: transient,
  ALERT_CHANNEL_URL_INVALID: code(500, false, "error"),
  ALERT_THROTTLED: transient,
  ALERT_OPSGENIE_FORBIDDEN: upstream,
  ALERT_OPSGENIE_INVALID_REQUEST: upstream,
  ALERT_OPSGENIE_UNAUTHENTICATED: upstream,
  ALERT_PAGERDUTY_INVALID_EVENT: upstream,
  ALERT_PAGERDUTY_ROUTING_KEY: upstream,
  ALERT_TEAMS_UNAUTHORIZED: upstream,
  ALERT_TEAMS_WORKFLOW_NOT_FOUND: upstream,
  ALERT_WEBHOOK_SIGNATURE_REFUSED: upstream,
} as const satisfies Record<string, ErrorCodeInfo>;

/** Our HTTP layer's code for an unexpected answer: the status it got (HTTP_404, HTTP_500 …). */
type HttpStatusCode = `HTTP_${number}`;

export type ErrorCode = keyof typeof ERROR_CODES | HttpStatusCode;

/** A code's registry entry; HTTP_<status> is one entry for the whole family. */
export function errorCodeInfo(code: ErrorCode): ErrorCodeInfo {
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as keyof typeof ERROR_CODES] : upstream;
}
