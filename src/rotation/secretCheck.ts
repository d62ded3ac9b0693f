import { randomBytes } from "node:crypto";
import { RotatorError } from "../errors.js";
import { computeFingerprint, saltedHashMatches } from "../gateway/fingerprint.js";

/**
 * Proof that a value read back from Key Vault is the one this run stashed. A keyId tag only says
 * which credential a version claims to hold; a restore, a hand edit or a bug can put another value
 * under the same tag, and a resumed pass would then wait at verify-entra for ever, looking exactly
 * like replication delay. So the stash step records a salted fingerprint (never the value) in the
 * journal, and every read-back is compared with it and with the hint Graph returned.
 */
export interface SecretSeal {
  /** Random per run, base64url. */
  salt: string;
  /** sha256(salt ‖ value), hex. */
  sha256: string;
}

export function sealSecret(value: string): SecretSeal {
  const salt = randomBytes(16).toString("base64url");
  return { salt, sha256: computeFingerprint(salt, value) };
}

/** What the run knows about the value it stashed. */
export interface ExpectedSecret {
  keyId?: string;
  /** First characters of the value, as Graph's addPassword answered them. */
  hint?: string | null;
  seal?: SecretSeal;
}

/**
 * Throws VAULT_VALUE_CHANGED when `value` is not the stashed one: its hint differs from Graph's,
 * or its fingerprint from the one recorded at stash. The error names neither value.
 */
export function assertStashedValue(value: string, expected: ExpectedSecret, where: string): void {
  const hintOk = !expected.hint || value.startsWith(expected.hint);
  const sealOk = !expected.seal || saltedHashMatches(expected.seal.salt, value, expected.seal.sha256);
  if (hintOk && sealOk) return;
  throw new RotatorError(
    "VAULT_VALUE_CHANGED",
    `${where} is tagged with credential ${expected.keyId ?? "(none)"} but holds a different value (${hintOk ? "its fingerprint differs from the one recorded at stash" : "its first characters differ from the credential's hint"})`,
    {
      hint: "Someone or something replaced the secret in Key Vault during the rotation (a restore, a hand edit, another tool). The run stopped instead of waiting for a secret Entra will never accept; inspect the secret's versions, then start a forced rotation.",
      retryable: false,
    },
  );
}
