import { RotatorError, parseAadsts } from "../errors.js";
import { Redactor } from "../redact.js";

/**
 * Turns whatever `SecretClient` (or the credential under it) threw into one RotatorError with a
 * stable code and an operator hint. The SDK's RestError carries the request — including a
 * `setSecret` body with the value — so it is never kept as `cause`; only status, codes and the
 * service's message (passed through the redactor) survive.
 */
export interface VaultCallContext {
  operation: "getSecret" | "listVersions" | "setSecret" | "updateProperties";
  vaultUrl: string;
  name: string;
  version?: string;
  /** Values this call handled; removed from any text that ends up in the error. */
  redactor?: Redactor;
  /** Every secret the service knows (the runtime's redactor), applied after `redactor`. */
  shared?: Redactor;
}

interface RestErrorLike {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  details?: { error?: { code?: string; message?: string; innerError?: { code?: string } } };
}

const NETWORK_CODES = new Set(["REQUEST_SEND_ERROR", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "ECONNABORTED"]);
const TLS_HINT = /certificate|self[- ]signed|UNABLE_TO_VERIFY|CERT_/i;

export function mapVaultError(err: unknown, ctx: VaultCallContext): RotatorError {
  if (err instanceof RotatorError) return err;
  const redactor = ctx.redactor ?? new Redactor();
  const clean = (text: string): string => (ctx.shared ? ctx.shared.redact(redactor.redact(text)) : redactor.redact(text));
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as RestErrorLike;
  const target = `secret '${ctx.name}'${ctx.version ? ` version ${ctx.version}` : ""} in ${ctx.vaultUrl}`;
  // Redact the whole message, then cut: a secret straddling the cut must not survive as a fragment.
  const upstream = cut(clean(oneLine(e.details?.error?.message ?? e.message ?? "no detail")), 600);

  if (e.name === "AbortError") {
    return new RotatorError("ABORTED", `Key Vault ${ctx.operation} of ${target} was cancelled`, {
      hint: "The run was cancelled (shutdown or timeout); the next run resumes where this one stopped.",
    });
  }

  // @azure/identity errors: the function's identity could not get a token for Key Vault.
  if (e.name === "AuthenticationError" || e.name === "CredentialUnavailableError" || e.name === "AuthenticationRequiredError") {
    return new RotatorError("VAULT_AUTH_FAILED", `could not get a Key Vault token for ${ctx.operation} of ${target}: ${upstream}`, {
      hint: "Check the identity the function runs as (managed identity enabled, correct tenant) and that Entra answers; the AADSTS code says more.",
      aadsts: parseAadsts(upstream),
      upstreamCode: e.name,
      retryable: e.name !== "CredentialUnavailableError",
    });
  }

  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  // Codes are upstream text as well; a hostile or buggy vault may echo a value in them.
  const rawCode = e.details?.error?.code ?? e.code;
  const code = rawCode === undefined ? undefined : cut(clean(rawCode), 100);
  const rawInner = e.details?.error?.innerError?.code;
  const inner = rawInner === undefined ? undefined : cut(clean(rawInner), 100);
  const upstreamCode = inner ?? code;
  const what = `Key Vault ${ctx.operation} of ${target} failed`;

  // Thrown by the SDK's challenge policy before any token is fetched.
  if (status === undefined && /challenge resource .* does not match the requested domain/i.test(upstream)) {
    return new RotatorError("VAULT_CHALLENGE_MISMATCH", `${what}: the host is not a Key Vault host for the challenged resource`, {
      hint: "keyVault.vaultUrl must be the vault's own URI (https://<name>.vault.azure.net, or the sovereign-cloud equivalent); a proxy or custom host name is refused by design.",
    });
  }
  if (status === undefined) {
    const tls = TLS_HINT.test(upstream);
    return new RotatorError("VAULT_UNREACHABLE", `${what}: ${upstream}`, {
      hint: tls
        ? "The vault's TLS certificate is not trusted; for a local emulator pass its CA (`ca` option or NODE_EXTRA_CA_CERTS)."
        : "Key Vault could not be reached; check the vault URL, DNS, private endpoint / firewall rules and outbound networking.",
      upstreamCode: code,
      retryable: !tls && (code === undefined || NETWORK_CODES.has(code) || /socket|network|timeout/i.test(upstream)),
    });
  }
  return vaultStatusError(status, { what, upstream, code, inner, upstreamCode, name: ctx.name, vaultUrl: ctx.vaultUrl });
}

/** Key Vault answered with an HTTP error status: each status (and Key Vault's inner code) is its own typed error. */
function vaultStatusError(
  status: number,
  a: { what: string; upstream: string; code?: string; inner?: string; upstreamCode?: string; name: string; vaultUrl: string },
): RotatorError {
  const { what, upstream, code, inner } = a;
  const base = { status, upstreamCode: a.upstreamCode };
  // Key Vault says which thing is missing (SecretNotFound); a bare 404 — an HTML page from a proxy
  // or a wrongly routed private endpoint — must not read as "the vault holds no such secret", or the
  // planner takes the vault for empty.
  if (status === 404 && code !== "SecretNotFound" && inner !== "SecretNotFound") {
    return new RotatorError("VAULT_UNEXPECTED_RESPONSE", `${what}: 404 without Key Vault's SecretNotFound code — the answer did not come from Key Vault`, {
      ...base,
      hint: "Check keyVault.url (the vault's own https://<name>.vault.azure.net URI), any proxy in between and the private endpoint's DNS; the next run retries.",
      retryable: true,
    });
  }
  if (status === 404) {
    return new RotatorError("VAULT_SECRET_NOT_FOUND", `${what}: not found (${upstream})`, {
      ...base,
      hint: `Create the secret '${a.name}' in ${a.vaultUrl}, recover it if it was deleted, or fix keyVault.secretName / keyVault.vaultUrl in the credential-set configuration.`,
    });
  }
  if (status === 403 && (inner === "SecretDisabled" || /disabled secret/i.test(upstream))) {
    return new RotatorError("VAULT_DISABLED_VERSION", `${what}: the version is disabled`, {
      ...base,
      hint: "A disabled version cannot be read. Re-enable it only if it must be used again; otherwise let the rotator write a new current version.",
    });
  }
  if (status === 403) {
    return new RotatorError("VAULT_FORBIDDEN", `${what}: access denied (${upstream})`, {
      ...base,
      hint:
        'Grant the role "Key Vault Secrets Officer" on the vault to the function app\'s managed identity (vaults using access policies: ' +
        "get, list and set permissions on secrets). Role assignments can take a few minutes to apply.",
    });
  }
  if (status === 409 && inner === "ObjectIsDeletedButRecoverable") {
    return new RotatorError("VAULT_DELETED_RECOVERABLE", `${what}: the secret is soft-deleted (${upstream})`, {
      ...base,
      hint: `Recover the deleted secret (az keyvault secret recover --vault-name <vault> --name ${a.name}) to keep its versions, or purge it (az keyvault secret purge ...) to start afresh; then run again.`,
    });
  }
  if (status === 409) {
    return new RotatorError("VAULT_CONFLICT", `${what}: conflict (${upstream})`, {
      ...base,
      hint: "The secret is being deleted or recovered right now; the next attempt should succeed.",
      retryable: true,
    });
  }
  if (status === 429) {
    return new RotatorError("VAULT_THROTTLED", `${what}: throttled by Key Vault`, {
      ...base,
      hint: "Key Vault throttled this vault's callers beyond the automatic retries; the run resumes later. If it persists, look for other heavy clients of the vault.",
      retryable: true,
    });
  }
  if (status === 400) {
    return new RotatorError("VAULT_INVALID_REQUEST", `${what}: rejected as invalid (${upstream})`, {
      ...base,
      hint: "Key Vault rejected a parameter (name, value size, tags or attributes); the message names it.",
    });
  }
  if (status === 401) {
    return new RotatorError("VAULT_UNAUTHORIZED", `${what}: the token was rejected (${upstream})`, {
      ...base,
      hint: "The identity's token does not fit the vault: its tenant must be the vault's tenant (AKV10032) and its audience https://vault.azure.net (AKV10022).",
    });
  }
  if (status >= 500 || status === 408) {
    return new RotatorError("VAULT_UNAVAILABLE", `${what}: service error ${status} (${upstream})`, {
      ...base,
      hint: "Key Vault had a transient failure beyond the automatic retries; the next run retries.",
      retryable: true,
    });
  }
  return new RotatorError("VAULT_ERROR", `${what}: HTTP ${status} (${upstream})`, {
    ...base,
    hint: "An unexpected Key Vault answer; see the upstream code and message.",
  });
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, " ").trim();
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
