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
  /** The ETag the target had right after the engine wrote the new secret to it (journaled): an undated status with this ETag is the one after that write. */
  writtenEtag?: string;
}

/**
 * The one proof rule (DESIGN.md § Target groups): whether `target`, as the adapter last read it,
 * proves it picked up the new secret, by the group's `proof`:
 * - `fingerprint`: the salted hash of what the consumer holds is the new secret's;
 * - `status`: the consumer reports a successful fetch or use at or after promote (or, undated, on
 *   the very state our post-promote write left: the ETag journaled after that write);
 * - `version`: the consumer reports the promoted Key Vault version.
 * `time` and `operator` have nothing to read: the engine decides those by the clock or the confirmation.
 */
export function provesPickup(
  target: Pick<GatewayTarget, "secretFingerprint" | "fingerprintSalt" | "pickup" | "etag">,
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
      if (target.pickup?.ok !== true) return false;
      const at = Date.parse(target.pickup.at ?? "");
      if (expected.promotedAt !== undefined && Number.isFinite(at) && at >= expected.promotedAt) return true;
      return expected.writtenEtag !== undefined && target.etag === expected.writtenEtag;
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

/** "kong-openid-connect: 2 targets, 1 proven (fingerprint)": one target group's pickup in one line (the probe, `status` and the page). */
export function pickupLine(g: { kind: string; targets: number; proven: number; proof: string }): string {
  return `${g.kind}: ${g.targets} target${g.targets === 1 ? "" : "s"}, ${g.proven} proven (${g.proof})`;
}
