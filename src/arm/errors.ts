import { RotatorError } from "../errors.js";
import type { ErrorCode } from "../errorCodes.js";

/**
 * ARM's error body `{"error":{"code","message"}}` (common-types ErrorResponse) as typed errors.
 * The ARM code (AuthorizationFailed, ResourceNotFound, InvalidAuthenticationTokenAudience …) rides
 * along as `upstreamCode`; our code says what the operator can do about it.
 */
export interface ArmErrorBody {
  code?: string;
  message?: string;
}

/** The ARM error object of a response body, if it has one. */
export function armErrorOf(data: unknown): ArmErrorBody | undefined {
  if (!data || typeof data !== "object") return undefined;
  const e = (data as { error?: unknown }).error;
  if (!e || typeof e !== "object") return undefined;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return { ...(typeof code === "string" ? { code } : {}), ...(typeof message === "string" ? { message } : {}) };
}

interface Mapping {
  code: ErrorCode;
  hint: string;
  retryable?: boolean;
}

function mappingFor(status: number, upstream: string | undefined): Mapping {
  if (status === 401) {
    return {
      code: "ARM_UNAUTHORIZED",
      hint:
        upstream === "InvalidAuthenticationTokenAudience"
          ? "The token was issued for another cloud's Resource Manager: set the cloud's armEndpoint (or armAudience) so the token's audience matches."
          : "Resource Manager refused the token: check that the Function App's identity belongs to the subscription's tenant.",
    };
  }
  if (status === 403) {
    return {
      code: "ARM_FORBIDDEN",
      hint: "The identity lacks the Resource Manager action named in the message: grant it the custom role docs/deployment.md lists for this target kind, on the resource.",
    };
  }
  if (status === 404) {
    return { code: "ARM_NOT_FOUND", hint: "The resource does not exist: check the configured resource ID (subscription, resource group, service name)." };
  }
  if (status === 409) return { code: "ARM_CONFLICT", hint: "The resource is busy with another operation or in a conflicting state; the next pass retries." };
  if (status === 412) {
    return { code: "ARM_PRECONDITION_FAILED", retryable: true, hint: "The resource changed since it was read (ETag mismatch); read it again and retry." };
  }
  if (status === 429) {
    return {
      code: "ARM_THROTTLED",
      retryable: true,
      hint: "Resource Manager kept throttling this subscription after the waits it asked for; lower the group's concurrency or run fewer passes at once.",
    };
  }
  if (status >= 500 || status === 408)
    return {
      code: "ARM_UNAVAILABLE",
      retryable: true,
      hint: "Resource Manager or the resource provider failed; it is usually transient and the next pass retries.",
    };
  return { code: "ARM_REJECTED", hint: "Resource Manager rejected the request; the message names the field or parameter it refused." };
}

/** A non-2xx ARM answer as a RotatorError; `describe` is "METHOD /path" (no query, no host secrets). */
export function armHttpError(status: number, data: unknown, describe: string, redact: (text: string) => string): RotatorError {
  const body = armErrorOf(data);
  const m = mappingFor(status, body?.code);
  const detail = body ? `${body.code ?? "(no code)"}: ${body.message ?? ""}` : typeof data === "string" ? data.slice(0, 300) : "(no ARM error body)";
  return new RotatorError(m.code, redact(`Resource Manager: ${describe} answered ${status}: ${detail}`), {
    hint: m.hint,
    status,
    ...(body?.code ? { upstreamCode: body.code } : {}),
    ...(m.retryable !== undefined ? { retryable: m.retryable } : {}),
  });
}

export function armBadResponse(describe: string, why: string): RotatorError {
  return new RotatorError("ARM_BAD_RESPONSE", `Resource Manager: ${describe}: ${why}`, {
    hint: "Resource Manager answered something this client does not expect; check the configured armEndpoint points at Resource Manager. The next pass retries.",
  });
}
