import { GraphClientError, GraphError } from "@microsoft/microsoft-graph-client";
import { RotatorError, parseAadsts } from "../errors.js";
import type { Redactor } from "../redact.js";

/**
 * Turns what the Graph SDK throws (GraphError for HTTP and transport failures, GraphClientError for
 * misuse, identity errors when the rotator's own token fails) into RotatorErrors whose hints name
 * the permission, policy or setting to fix. Never carries a request body or a secret.
 */
export type GraphOperation =
  | { name: "getApplication"; appId: string; objectId?: string }
  | { name: "addPassword"; objectId: string }
  | { name: "removePassword"; objectId: string; keyId: string }
  | { name: "getAppManagementPolicy"; appId: string }
  | { name: "getServicePrincipal"; appId: string }
  | { name: "listAppRoleAssignedTo"; servicePrincipalId: string }
  | { name: "listOAuth2PermissionGrants"; servicePrincipalId: string };

const PERMISSION: Record<GraphOperation["name"], string> = {
  getApplication: "Application.ReadWrite.OwnedBy (and be an owner of the app registration)",
  addPassword: "Application.ReadWrite.OwnedBy (and be an owner of the app registration)",
  removePassword: "Application.ReadWrite.OwnedBy (and be an owner of the app registration)",
  getAppManagementPolicy: "Policy.Read.ApplicationConfiguration",
  getServicePrincipal: "Application.Read.All (or own the service principal with Application.ReadWrite.OwnedBy)",
  listAppRoleAssignedTo: "Application.Read.All",
  listOAuth2PermissionGrants: "DelegatedPermissionGrant.Read.All (or Directory.Read.All)",
};

const IDENTITY_ERRORS = new Set(["AuthenticationError", "AuthenticationRequiredError", "CredentialUnavailableError", "AggregateAuthenticationError"]);

function target(op: GraphOperation): string {
  switch (op.name) {
    case "getApplication":
      return `application ${op.objectId ?? `appId ${op.appId}`}`;
    case "addPassword":
      return `application ${op.objectId}`;
    case "removePassword":
      return `key ${op.keyId} of application ${op.objectId}`;
    case "getAppManagementPolicy":
      return `the app management policies (tenant default and app-specific) of appId ${op.appId}`;
    case "getServicePrincipal":
      return `the service principal of appId ${op.appId}`;
    case "listAppRoleAssignedTo":
    case "listOAuth2PermissionGrants":
      return `service principal ${op.servicePrincipalId}`;
  }
}

const CONCURRENT_REQUESTS = /concurrent requests being made to the tenant/i;

/**
 * Graph's refusal of a write that overlaps another write to the tenant: 400 Request_BadRequest
 * "Error due to concurrent requests being made to the tenant. Please wait briefly and retry." (as
 * Infisical's Azure client secret rotation retries it), or 409 Directory_ConcurrencyViolation with
 * the same text. The write was not applied.
 */
export function isConcurrentRequests(err: unknown): boolean {
  if (!(err instanceof GraphError)) return false;
  if (err.code === "Directory_ConcurrencyViolation") return true;
  return (err.statusCode === 400 || err.statusCode === 409) && CONCURRENT_REQUESTS.test(err.message ?? "");
}

/**
 * No HTTP answer. `code` is our HTTP layer's (graphClient.ts passes it through the SDK's
 * GraphError): HTTP_TIMEOUT, HTTP_NETWORK, HTTP_ADDRESS_REFUSED, HTTP_RESPONSE_TOO_LARGE.
 */
function transportError(what: string, op: GraphOperation, code: string | undefined, detail: string): RotatorError {
  const unknownOutcome =
    "The secret may or may not have been created. Do not retry blindly: look for a credential " +
    "with this run's display name first (the next run does), and let the orphan sweep remove one nobody holds.";
  if (code === "HTTP_TIMEOUT") {
    return new RotatorError("GRAPH_TIMEOUT", `${what} got no answer in time: ${detail}`, {
      hint:
        op.name === "addPassword"
          ? `Microsoft Graph did not answer in time. ${unknownOutcome}`
          : "Microsoft Graph did not answer in time; the next pass retries. Check Graph's service health and the network path.",
      retryable: true,
    });
  }
  if (code === "HTTP_ADDRESS_REFUSED" || code === "HTTP_RESPONSE_TOO_LARGE" || code === "GRAPH_CLIENT_ERROR") {
    return new RotatorError(
      code === "HTTP_ADDRESS_REFUSED" ? "GRAPH_ADDRESS_REFUSED" : code === "HTTP_RESPONSE_TOO_LARGE" ? "GRAPH_RESPONSE_TOO_LARGE" : code,
      `${what} failed: ${detail}`,
      {
        hint:
          code === "HTTP_ADDRESS_REFUSED"
            ? "The Graph URL (the set's graphBaseUrl, or a paging link Graph returned) is not an address the rotator calls; fix graphBaseUrl."
            : code === "HTTP_RESPONSE_TOO_LARGE"
              ? "Microsoft Graph answered with far more data than expected; check graphBaseUrl points at Microsoft Graph."
              : "The Graph client is misconfigured; this is a code problem.",
        retryable: false,
      },
    );
  }
  return new RotatorError("GRAPH_NETWORK", `${what} got no answer: ${detail || code || "network error"}`, {
    hint:
      op.name === "addPassword"
        ? `The connection failed. ${unknownOutcome}`
        : "The connection to Microsoft Graph failed; check DNS, outbound firewall and TLS trust, then retry.",
    retryable: true,
  });
}

export function mapGraphError(err: unknown, op: GraphOperation, redactor?: Redactor): RotatorError {
  if (err instanceof RotatorError) return err;
  const scrub = (s: string): string => (redactor ? redactor.redact(s) : s);
  const what = `Graph ${op.name} on ${target(op)}`;

  if (err instanceof GraphClientError) {
    return new RotatorError("GRAPH_CLIENT_ERROR", scrub(`${what} could not be sent: ${err.message}`), {
      hint: "The Graph client is misconfigured (base URL, credential or scopes); this is a deployment or code problem.",
    });
  }
  if (!(err instanceof GraphError)) {
    const message = err instanceof Error ? err.message : String(err);
    return new RotatorError("GRAPH_REQUEST_FAILED", scrub(`${what} failed: ${message}`), {
      hint: "An unexpected error occurred while calling Microsoft Graph; see the logs for the failing step.",
    });
  }

  const status = err.statusCode;
  const code = err.code ?? undefined;
  const upstream = { ...(code ? { upstreamCode: code } : {}) };
  const detail = scrub(err.message ?? "");

  if (status <= 0) {
    if (code && IDENTITY_ERRORS.has(code)) {
      const aadsts = parseAadsts(err.message);
      return new RotatorError("GRAPH_AUTH_FAILED", scrub(`${what}: the rotator's own identity could not get a Graph token: ${detail}`), {
        hint:
          "In Azure, check the Function App's managed identity is enabled (and the configured client ID of a user-assigned one); " +
          "locally, check the operator app's tenant ID, client ID and secret.",
        ...(aadsts !== undefined ? { aadsts } : {}),
        ...upstream,
        retryable: code === "CredentialUnavailableError",
      });
    }
    if (code === "AbortError" || code === "ABORTED") {
      return new RotatorError("ABORTED", `${what} was cancelled.`, {
        hint: "The operation was cancelled (function timeout or shutdown); the next run resumes it.",
      });
    }
    return transportError(what, op, code ?? undefined, detail);
  }

  return graphStatusError(err, op, scrub(`${what} answered ${status}${code ? ` ${code}` : ""}: ${detail}`), upstream);
}

/** Refusals Graph names by their code or message, whatever the status: concurrent writes and the app management policy. */
function namedRefusal(err: GraphError, message: string, upstream: { upstreamCode?: string }): RotatorError | undefined {
  const status = err.statusCode;
  const code = err.code ?? undefined;
  if (isConcurrentRequests(err)) {
    return new RotatorError("GRAPH_CONCURRENT_REQUESTS", message, {
      hint:
        "Microsoft Graph kept refusing the write because other writes to the tenant were in progress, after retries with backoff. " +
        "The next pass retries; if it persists, look for other automation writing to this app registration at the same time.",
      status,
      ...upstream,
      retryable: true,
    });
  }
  if (code === "CredentialTypeNotAllowedAsPerAppPolicy") {
    return new RotatorError("GRAPH_POLICY_BLOCKS_PASSWORD", message, {
      hint:
        "The app management policy in effect for this app (its own appManagementPolicy, or else the tenant default; restriction 'passwordAddition') forbids new client secrets. " +
        "Ask an admin to exempt this app (assign it an appManagementPolicy without that restriction) or move it to certificate credentials; " +
        "until then keep the current secret and do not retire it.",
      status,
      ...upstream,
    });
  }
  if (code === "CredentialInvalidLifetimeAsPerAppPolicy") {
    return new RotatorError("GRAPH_POLICY_LIFETIME", message, {
      hint:
        "The requested secret lifetime exceeds the 'passwordLifetime' maxLifetime of the app management policy in effect for this app. " +
        "Lower the credential set's lifetime to at most that value (the planner clamps to the policy it can read: grant Policy.Read.ApplicationConfiguration).",
      status,
      ...upstream,
    });
  }
  return undefined;
}

/** Graph answered with an HTTP error status: a refusal it names, or else the status, is the typed error. `message` is already scrubbed. */
function graphStatusError(err: GraphError, op: GraphOperation, message: string, upstream: { upstreamCode?: string }): RotatorError {
  const status = err.statusCode;
  const named = namedRefusal(err, message, upstream);
  if (named) return named;
  if (status === 401) {
    return new RotatorError("GRAPH_UNAUTHORIZED", message, {
      hint: "Graph refused the rotator's token; check the identity's tenant matches the app's tenant and that the token audience is Microsoft Graph.",
      status,
      ...upstream,
    });
  }
  if (status === 403) {
    return new RotatorError("GRAPH_FORBIDDEN", message, {
      hint: `The rotator's identity lacks permission: grant it the Microsoft Graph application permission ${PERMISSION[op.name]}, with admin consent.`,
      status,
      ...upstream,
    });
  }
  if (status === 404) {
    const appOp = op.name === "getApplication" || op.name === "addPassword" || op.name === "removePassword";
    return new RotatorError(appOp ? "GRAPH_APP_NOT_FOUND" : "GRAPH_NOT_FOUND", message, {
      hint: appOp
        ? "The app registration does not exist or is not visible to the rotator (with Application.ReadWrite.OwnedBy it must be an owner); check the set's clientId/objectId."
        : "The object does not exist in this tenant; check the IDs in the credential set.",
      status,
      ...upstream,
    });
  }
  if (status === 429) {
    const retryAfter = err.headers?.get?.("retry-after") ?? undefined;
    return new RotatorError("GRAPH_THROTTLED", message, {
      hint: `Microsoft Graph is throttling the rotator${retryAfter ? ` (Retry-After ${retryAfter}s)` : ""}; the run resumes later.`,
      status,
      ...upstream,
      retryable: true,
    });
  }
  if (status === 409 || status === 412) {
    return new RotatorError("GRAPH_CONFLICT", message, {
      hint: "Another write to the same app registration was in progress; retry after a short pause.",
      status,
      ...upstream,
      retryable: true,
    });
  }
  if (status >= 500) {
    return new RotatorError("GRAPH_UNAVAILABLE", message, {
      hint:
        op.name === "addPassword"
          ? "Microsoft Graph failed; the secret may have been created anyway. The next run looks for this run's display name before creating another."
          : "Microsoft Graph failed; it is usually transient and the next run retries.",
      status,
      ...upstream,
      retryable: true,
    });
  }
  return new RotatorError("GRAPH_BAD_REQUEST", message, {
    hint: "Microsoft Graph rejected the request; see the message for the field it refused.",
    status,
    ...upstream,
  });
}
