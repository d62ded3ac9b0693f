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
      // A consumer that also names the version it uses (App Service's activeVersion) proves by it: the promoted one, whatever the time.
      if (target.pickup?.version !== undefined)
        return target.pickup.ok && expected.promotedVersion !== undefined && target.pickup.version === expected.promotedVersion;
      const at = Date.parse(target.pickup?.at ?? "");
      return target.pickup?.ok === true && expected.promotedAt !== undefined && Number.isFinite(at) && at >= expected.promotedAt;
    }
    case "version":
      return target.pickup?.ok === true && expected.promotedVersion !== undefined && target.pickup.version === expected.promotedVersion;
    default:
      return false;
  }
}

/**
 * The proof a target that proves pickup under `proof` actually gave, for its journal entry: a
 * `status` group's consumer that reported the promoted version proved it by `version`.
 */
export function proofSeen(target: Pick<GatewayTarget, "pickup">, proof: PickupProof): PickupProof {
  return proof === "status" && target.pickup?.version !== undefined ? "version" : proof;
}
