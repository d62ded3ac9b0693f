import { provesPickup, type PickupExpectation } from "../../gateway/proof.js";
import type { GatewayTarget, PickupProof } from "../../gateway/types.js";
import { groupRecords, runGroups, type RunGroup } from "../../rotation/groups.js";
import type { RunJournal } from "../../rotation/model.js";
import type { SecretVersion } from "../../vault/types.js";
import { settle, type Read } from "../deadline.js";
import type { CheckContext } from "../context.js";

/**
 * What the probe sees of one target group's pickup of Key Vault's current secret, judged only
 * through the group adapter's capabilities and the one proof rule (src/gateway/proof.ts), never by
 * its kind: the same rule the engine applies before it retires a secret.
 */
export interface GroupPickup {
  /** `group 2 (kong-openid-connect)`: names the group and its kind in every message. */
  label: string;
  kind: string;
  proof: PickupProof;
  /** Targets listed (operator groups: the configured servers). */
  targets: number;
  /** Targets proven on the current secret (time: all once the window is over; operator: confirmed ones). */
  proven: number;
  /** Targets that do not prove it, with what the consumer reported when it said why. */
  unproven: { name: string; detail?: string }[];
  /** `time` groups: when the documented pickup delay after the current version ends (ISO). */
  windowEndsAt?: string;
  /** `operator` groups: servers of the active run not confirmed yet. */
  unconfirmed?: string[];
  /** A Key Vault consumer's documented pickup delay: until it ends after the current version, an unproven target may still pick it up. */
  maxPickupDelayMs?: number;
  /** The group's listing failed: nothing is known of its targets. */
  listError?: { code: string; message: string; hint: string };
}

/** The run that promoted `current` (its tag), whose journal holds the ETags its writes left (undated status proof). */
async function promotingRun(ctx: CheckContext, current: SecretVersion): Promise<RunJournal | undefined> {
  const runId = current.tags["runId"];
  const journals = ctx.deps.journals;
  if (!runId || !journals) return undefined;
  const read = await settle(journals.readRun(ctx.set.name, runId, ctx.abortSignal));
  return read.ok ? read.value : undefined;
}

/**
 * Every group's pickup of `current`. The first group's listing is the probe's shared read (the
 * other checks use it too); every other group is listed here, each failure kept to its group.
 */
export async function groupPickups(ctx: CheckContext, current: SecretVersion, activeRun: RunJournal | undefined): Promise<GroupPickup[]> {
  const groups = runGroups({ gateway: ctx.deps.gateway, ...(ctx.deps.groups ? { groups: ctx.deps.groups } : {}) });
  const promoting = await promotingRun(ctx, current);
  const written = new Map((promoting?.targets ?? []).filter((r) => r.updated && r.etag !== undefined).map((r) => [r.id, r.etag!]));
  const promotedAt = current.createdOn?.getTime();
  return Promise.all(
    groups.map(async (group): Promise<GroupPickup> => {
      const listing: Read<GatewayTarget[]> =
        group.index === 0
          ? await ctx.shared.targets()
          : await settle(group.adapter.listTargets({ clientId: ctx.set.clientId }, { abortSignal: ctx.abortSignal }));
      return judgeGroup(group, listing, { current, promotedAt, written, activeRun, now: ctx.now.getTime() });
    }),
  );
}

interface Judging {
  current: SecretVersion;
  promotedAt: number | undefined;
  written: Map<string, string>;
  activeRun: RunJournal | undefined;
  now: number;
}

function judgeGroup(group: RunGroup, listing: Read<GatewayTarget[]>, j: Judging): GroupPickup {
  const caps = group.adapter.capabilities;
  const base = {
    label: group.label,
    kind: group.adapter.kind,
    proof: caps.pickupProof,
    ...(caps.delivery === "keyVault" && caps.maxPickupDelayMs !== undefined ? { maxPickupDelayMs: caps.maxPickupDelayMs } : {}),
  };
  if (!listing.ok) {
    const { code, message, hint } = listing.error;
    return { ...base, targets: 0, proven: 0, unproven: [], listError: { code, message, hint } };
  }
  const targets = listing.value;
  switch (caps.pickupProof) {
    case "operator": {
      // Nothing to read back: the run's confirmations are the proof. Without a run past promote, every server was confirmed by the last one.
      const records = j.activeRun?.promotedVersion ? groupRecords(j.activeRun, group.index).filter((r) => r.outcome === undefined) : [];
      const unconfirmed = records.filter((r) => !r.confirmedBy).map((r) => r.name);
      return { ...base, targets: targets.length, proven: targets.length - unconfirmed.length, unproven: [], unconfirmed };
    }
    case "time": {
      const endsAt = j.promotedAt === undefined ? undefined : j.promotedAt + (caps.maxPickupDelayMs ?? 0);
      const over = endsAt !== undefined && j.now >= endsAt;
      return {
        ...base,
        targets: targets.length,
        proven: over ? targets.length : 0,
        unproven: [],
        ...(endsAt !== undefined ? { windowEndsAt: new Date(endsAt).toISOString() } : {}),
      };
    }
    default: {
      const expected = (t: GatewayTarget): PickupExpectation => ({
        secret: j.current.value ?? "",
        ...(j.current.version ? { promotedVersion: j.current.version } : {}),
        ...(j.promotedAt !== undefined ? { promotedAt: j.promotedAt } : {}),
        ...(j.written.has(t.id) ? { writtenEtag: j.written.get(t.id)! } : {}),
      });
      const unproven = targets
        .filter((t) => !provesPickup(t, expected(t), caps.pickupProof))
        .map((t) => ({ name: t.name, ...(t.pickup?.ok === false && t.pickup.detail ? { detail: t.pickup.detail } : {}) }));
      return { ...base, targets: targets.length, proven: targets.length - unproven.length, unproven };
    }
  }
}
