import { RotatorError } from "../errors.js";

/**
 * Key Vault's documented limits, checked before a call so the error names the field at fault
 * (the service's own 400 says less). Messages carry names and sizes, never a secret value or a
 * tag value.
 */
const SECRET_NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
const MAX_SECRET_VALUE_BYTES = 25 * 1024;
const MAX_SECRET_TAGS = 15;
const MAX_TAG_CHARS = 256;
const VERSION_PATTERN = /^[0-9a-zA-Z]{1,64}$/;

function invalid(message: string, hint: string): RotatorError {
  return new RotatorError("VAULT_INVALID_REQUEST", message, { hint, status: 400 });
}

export function assertSecretName(name: string): void {
  if (typeof name !== "string" || !SECRET_NAME_PATTERN.test(name)) {
    throw invalid(
      `secret name ${JSON.stringify(String(name).slice(0, 140))} is invalid: Key Vault allows 1-127 letters, digits and hyphens`,
      "Fix keyVault.secretName in the credential-set configuration (no underscores, dots or spaces).",
    );
  }
}

export function assertVersion(name: string, version: string): void {
  if (typeof version !== "string" || !VERSION_PATTERN.test(version)) {
    throw invalid(
      `version ${JSON.stringify(String(version).slice(0, 70))} of secret '${name}' is not a Key Vault version id`,
      "Pass the version id exactly as Key Vault returned it (32 hexadecimal characters).",
    );
  }
}

export function assertSecretValue(name: string, value: string): void {
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(`value of secret '${name}' is empty`, "A secret value must be a non-empty string; this is a bug in the caller.");
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw invalid(
      `value of secret '${name}' is ${bytes} bytes; Key Vault allows at most ${MAX_SECRET_VALUE_BYTES}`,
      "Store large material elsewhere (e.g. encrypted in Blob Storage) and keep only its key in Key Vault.",
    );
  }
}

export function assertTags(name: string, tags: Record<string, string> | undefined): void {
  if (tags === undefined) return;
  const entries = Object.entries(tags);
  if (entries.length > MAX_SECRET_TAGS) {
    throw invalid(
      `tags of secret '${name}': ${entries.length} given, Key Vault allows at most ${MAX_SECRET_TAGS}`,
      "Drop tags that are not needed; the rotator itself writes at most 7.",
    );
  }
  for (const [key, value] of entries) {
    const shownKey = JSON.stringify(key.slice(0, 64));
    if (key.length === 0 || key.length > MAX_TAG_CHARS) {
      throw invalid(`tag name ${shownKey} of secret '${name}' is ${key.length} characters; Key Vault allows 1-${MAX_TAG_CHARS}`, "Shorten the tag name.");
    }
    if (typeof value !== "string") {
      throw invalid(`tag ${shownKey} of secret '${name}' is not a string`, "Tag values must be strings.");
    }
    if (value.length > MAX_TAG_CHARS) {
      throw invalid(
        `value of tag ${shownKey} of secret '${name}' is ${value.length} characters; Key Vault allows at most ${MAX_TAG_CHARS}`,
        "Shorten the tag value.",
      );
    }
  }
}
