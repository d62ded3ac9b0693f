import type { EmuResponse } from "../common/server.js";

/**
 * The Key Vault data-plane error bodies, worded as the real service words them:
 * `{error:{code, message, innererror?:{code}}}` (lower-case `innererror`, which the SDK reads
 * into `details.error.innerError`). Messages marked "emulator wording" were not confirmed
 * against the real service; codes and statuses were.
 */
export class KeyVaultServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "KeyVaultServiceError";
  }

  toResponse(): EmuResponse {
    return {
      status: this.status,
      headers: this.headers,
      body: {
        error: {
          code: this.code,
          message: this.message,
          ...(this.innerCode ? { innererror: { code: this.innerCode } } : {}),
        },
      },
    };
  }
}

const RECOVERY_HELP =
  "If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";

export const kvErrors = {
  secretNotFound: (nameOrId: string): KeyVaultServiceError =>
    new KeyVaultServiceError(404, "SecretNotFound", `A secret with (name/id) ${nameOrId} was not found in this key vault. ${RECOVERY_HELP}`),
  deletedSecretNotFound: (): KeyVaultServiceError => new KeyVaultServiceError(404, "SecretNotFound", "Deleted Secret not found"),
  invalidName: (name: string): KeyVaultServiceError => new KeyVaultServiceError(400, "BadParameter", `The request URI contains an invalid name: ${name}`),
  /** Emulator wording; the limit (25 KB) is the documented one. */
  valueTooLarge: (bytes: number, max: number): KeyVaultServiceError =>
    new KeyVaultServiceError(400, "BadParameter", `The secret value is ${bytes} bytes; the maximum permitted size is ${max} bytes.`),
  /** Emulator wording. */
  missingValue: (): KeyVaultServiceError => new KeyVaultServiceError(400, "BadParameter", "Property 'value' is required and must be a string."),
  /** Emulator wording; the limits (15 tags, 256 characters) are the documented ones. */
  badTags: (detail: string): KeyVaultServiceError => new KeyVaultServiceError(400, "BadParameter", `Invalid tags: ${detail}`),
  /** Emulator wording (the real message was not found published); the limit and the code are the documented ones. */
  contentTypeTooLong: (length: number, max: number): KeyVaultServiceError =>
    new KeyVaultServiceError(400, "BadParameter", `Property 'contentType' is ${length} characters long; the maximum length is ${max} characters.`),
  /** Emulator wording. */
  badParameter: (detail: string): KeyVaultServiceError => new KeyVaultServiceError(400, "BadParameter", detail),
  disabled: (): KeyVaultServiceError => new KeyVaultServiceError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"),
  deletedButRecoverable: (name: string): KeyVaultServiceError =>
    new KeyVaultServiceError(
      409,
      "Conflict",
      `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
      "ObjectIsDeletedButRecoverable",
    ),
  forbiddenByRbac: (caller: string, action: string, resource: string, vault: string): KeyVaultServiceError =>
    new KeyVaultServiceError(
      403,
      "Forbidden",
      "Caller is not authorized to perform action on resource.\r\n" +
        "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
        `Caller: ${caller}\r\n` +
        `Action: 'Microsoft.KeyVault/vaults/secrets/${action}'\r\n` +
        `Resource: '${resource}'\r\n` +
        "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n" +
        `Vault: ${vault};location=local\r\n`,
      "ForbiddenByRbac",
    ),
  /** Emulator wording (the real 429 body varies); status and Retry-After are what clients act on. */
  throttled: (retryAfterSeconds: number): KeyVaultServiceError =>
    new KeyVaultServiceError(429, "Throttled", "Request was not processed because too many requests were received. Reason: secrets operations.", undefined, {
      "Retry-After": String(retryAfterSeconds),
    }),
};

/** The 401 that starts (or restarts) the Key Vault challenge flow. */
export function unauthorized(message: string, authorityUrl: string): EmuResponse {
  return {
    status: 401,
    headers: { "WWW-Authenticate": challengeHeader(authorityUrl) },
    body: { error: { code: "Unauthorized", message } },
  };
}

export const KEY_VAULT_RESOURCE = "https://vault.azure.net";

function challengeHeader(authorityUrl: string): string {
  return `Bearer authorization="${authorityUrl}", resource="${KEY_VAULT_RESOURCE}"`;
}
