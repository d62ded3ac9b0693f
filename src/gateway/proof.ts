import { fingerprintMatches } from "./fingerprint.js";
import type { GatewayTarget, PickupProof } from "./types.js";

/** What the engine expects a target to show once it picked up the new secret. */
export interface PickupExpectation {
  /** The new secret (only `fingerprint` reads it, through a salted hash). */
  secret: string;
  /** The Key Vault version promote wrote. */
  promotedVersion?: string;
  /** When promote finished (ms since the epoch): a status older than this reports the previous secret. */
  promotedAt?: number;
}

/**
 * The one proof rule (DESIGN.md § Target groups): whether `target`, as the adapter last read it,
 * proves it picked up the new secret, by the group's `proof`:
 * - `fingerprint`: the salted hash of what the consumer holds is the new secret's;
 * - `status`: the consumer reports a successful fetch or use at or after promote;
 * - `version`: the consumer reports the promoted Key Vault version.
 * `time` and `operator` have nothing to read: the engine decides those by the clock or the confirmation.
 */
export function provesPickup(
  target: Pick<GatewayTarget, "secretFingerprint" | "fingerprintSalt" | "pickup">,
  expected: PickupExpectation,
  proof: PickupProof,
): boolean {
  switch (proof) {
    case "fingerprint":
      return fingerprintMatches(target, expected.secret);
    case "status": {
      const at = Date.parse(target.pickup?.at ?? "");
      return target.pickup?.ok === true && expected.promotedAt !== undefined && Number.isFinite(at) && at >= expected.promotedAt;
    }
    case "version":
      return target.pickup?.ok === true && expected.promotedVersion !== undefined && target.pickup.version === expected.promotedVersion;
    default:
      return false;
  }
}
