import { RotatorError } from "../errors.js";
import type { GatewayAdapter, GatewayTarget } from "./types.js";

/**
 * A set's targets live in one or more groups (DESIGN.md § Target groups), and a run keeps one
 * journal record per target keyed by ID. Two groups may use the same IDs (two gateways both with a
 * server "srv-1"), so every group after the first sees its IDs prefixed with `g<n>:`; the first
 * group's IDs stay as they are, so journals written before groups existed still match.
 */
function groupIdPrefix(index: number): string {
  return index === 0 ? "" : `g${index + 1}:`;
}

/** `adapter` with its target IDs in the namespace of group `index`; the first group's adapter is returned as is. */
export function scopeToGroup(adapter: GatewayAdapter, index: number): GatewayAdapter {
  const prefix = groupIdPrefix(index);
  if (!prefix) return adapter;
  const outward = (t: GatewayTarget): GatewayTarget => ({ ...t, id: prefix + t.id });
  const inward = (id: string): string => {
    if (!id.startsWith(prefix)) {
      // An ID of another group reaching this adapter is an engine bug. Not TargetNotFound: that
      // would drop the target as gone and let retirement pass it by.
      throw new RotatorError("TARGET_GROUP_MISMATCH", `target ${id} does not belong to target group ${index + 1}`, {
        hint: "This is a defect in the rotator: report it with the run journal.",
        retryable: false,
      });
    }
    return id.slice(prefix.length);
  };
  const scoped: GatewayAdapter = {
    kind: adapter.kind,
    capabilities: adapter.capabilities,
    listTargets: async (filter, options) => {
      const { onDrift, onRefreshedByConsumer } = filter;
      const scopedFilter = {
        ...filter,
        ...(onDrift ? { onDrift: (t: GatewayTarget, why: string) => onDrift(outward(t), why) } : {}),
        ...(onRefreshedByConsumer ? { onRefreshedByConsumer: (t: GatewayTarget, why: string) => onRefreshedByConsumer(outward(t), why) } : {}),
      };
      const targets = await adapter.listTargets(scopedFilter, options);
      return targets.map(outward);
    },
    readTarget: async (id, options) => outward(await adapter.readTarget(inward(id), options)),
    updateClientSecret: async (id, secret, options) => outward(await adapter.updateClientSecret(inward(id), secret, options)),
  };
  const refresh = adapter.requestRefresh?.bind(adapter);
  if (refresh) scoped.requestRefresh = async (id, options) => outward(await refresh(inward(id), options));
  const test = adapter.testConnection?.bind(adapter);
  if (test) scoped.testConnection = (id, options) => test(inward(id), options);
  return scoped;
}
