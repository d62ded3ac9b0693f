import { scopeToGroup } from "../gateway/groups.js";
import type { GatewayAdapter } from "../gateway/types.js";
import type { RotationDeps, RunJournal, TargetRecord } from "./model.js";
import type { StepContext } from "./stepContext.js";

/**
 * The engine's view of a set's target groups (DESIGN.md § Target groups). Every step that touches
 * targets runs once per group with that group's adapter (its own limiter, concurrency and canary)
 * and sees only that group's journal records, so one group's listing can never drop another's
 * targets as gone.
 */
export interface RunGroup {
  index: number;
  /** The group's adapter, its target IDs in the group's namespace (src/gateway/groups.ts). */
  adapter: GatewayAdapter;
  /** For people: `group 2 (manual)`. */
  label: string;
}

export function runGroups(deps: Pick<RotationDeps, "gateway" | "groups">): RunGroup[] {
  const adapters = deps.groups && deps.groups.length > 0 ? deps.groups : [deps.gateway];
  return adapters.map((a, index) => ({ index, adapter: scopeToGroup(a, index), label: `group ${index + 1} (${a.kind})` }));
}

/** The step context of one group: `deps.gateway` is the group's adapter. Shares the run and its save. */
export function inGroup(ctx: StepContext, group: RunGroup): StepContext {
  return { ...ctx, deps: { ...ctx.deps, gateway: group.adapter }, group: group.index };
}

/**
 * `save` that writes one journal version at a time: groups working at once share one run journal,
 * whose writes are conditional on the version this pass last wrote, so two in flight would collide.
 * A call made while a write is in flight writes again after it (the run may have changed since).
 */
export function oneSaveAtATime(save: () => Promise<void>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const next = last.catch(() => undefined).then(save);
    last = next;
    return next;
  };
}

function recordGroup(rec: TargetRecord): number {
  return rec.group ?? 0;
}

/** The run's records of the context's group (all records when the set has one group). */
export function groupRecords(run: RunJournal, group: number | undefined): TargetRecord[] {
  return run.targets.filter((r) => recordGroup(r) === (group ?? 0));
}

/** Whether any group is proven by an operator's confirmation (a run past promote then never fails: it waits). */
export function hasOperatorGroup(deps: Pick<RotationDeps, "gateway" | "groups">): boolean {
  return runGroups(deps).some((g) => g.adapter.capabilities.pickupProof === "operator");
}

/**
 * The targets an operator must update by hand: those of the groups proven by confirmation. Other
 * groups' targets are written by the engine and must not appear in the operator's to-do list.
 */
export function operatorTargetNames(deps: Pick<RotationDeps, "gateway" | "groups">, run: RunJournal): string[] {
  const operatorGroups = new Set(
    runGroups(deps)
      .filter((g) => g.adapter.capabilities.pickupProof === "operator")
      .map((g) => g.index),
  );
  // Servers already confirmed one by one are done: the to-do list shrinks as the operator works.
  return run.targets.filter((t) => operatorGroups.has(recordGroup(t)) && t.outcome === undefined && !t.confirmedBy).map((t) => t.name);
}

/**
 * The longest documented pickup delay among `time`-proof groups (0 when none): retirement cannot
 * come before promote + this, and the planner warns when the grace period is shorter.
 */
export function longestPickupDelayMs(deps: Pick<RotationDeps, "gateway" | "groups">): number {
  return Math.max(0, ...runGroups(deps).map((g) => (g.adapter.capabilities.pickupProof === "time" ? (g.adapter.capabilities.maxPickupDelayMs ?? 0) : 0)));
}
