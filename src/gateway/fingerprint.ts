import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayTarget } from "./types.js";

/** sha256(salt ‖ secret) as lowercase hex — the contract's `secretFingerprint`. */
export function computeFingerprint(salt: string, secret: string): string {
  return createHash("sha256").update(salt, "utf8").update(secret, "utf8").digest("hex");
}

export function fingerprintMatches(target: Pick<GatewayTarget, "secretFingerprint" | "fingerprintSalt">, secret: string): boolean {
  if (!target.secretFingerprint || target.fingerprintSalt === undefined) return false;
  const expected = Buffer.from(computeFingerprint(target.fingerprintSalt, secret), "hex");
  const actual = Buffer.from(target.secretFingerprint, "hex");
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
