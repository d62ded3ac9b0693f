import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayTarget } from "./types.js";

/** sha256(salt ‖ secret) as lowercase hex — the contract's `secretFingerprint`. */
export function computeFingerprint(salt: string, secret: string): string {
  return createHash("sha256").update(salt, "utf8").update(secret, "utf8").digest("hex");
}

/**
 * The one salted-hash comparison: true when `fingerprint` is sha256(salt ‖ secret) as hex (any
 * case), compared in constant time. Gateway read-backs and the stash seal (rotation/secretCheck.ts)
 * both use it. The hex is compared as text, not decoded: Buffer.from(hex) stops at the first
 * non-hex character, so a digest with junk appended would otherwise match.
 */
export function saltedHashMatches(salt: string, secret: string, fingerprint: string): boolean {
  const expected = Buffer.from(computeFingerprint(salt, secret), "utf8");
  const actual = Buffer.from(fingerprint.toLowerCase(), "utf8");
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function fingerprintMatches(target: Pick<GatewayTarget, "secretFingerprint" | "fingerprintSalt">, secret: string): boolean {
  if (!target.secretFingerprint || target.fingerprintSalt === undefined) return false;
  return saltedHashMatches(target.fingerprintSalt, secret, target.secretFingerprint);
}
