import type { ErrorSummary } from "../errors.js";
import type { Logger } from "../logging.js";
import type { RotationJournalStore } from "./journal.js";
import type { RotationDeps, RunJournal, RunStatus } from "./model.js";
import type { Facts } from "./planner.js";
import type { GatewayTarget } from "../gateway/types.js";

/** What one step of a pass works with (src/rotation/steps.ts, targetWrites.ts, reconcile.ts). */
export interface StepContext {
  deps: RotationDeps;
  journals: RotationJournalStore;
  run: RunJournal;
  /** Writes the run's journal now (conditional on the version this pass last wrote). */
  save(): Promise<void>;
  abortSignal: AbortSignal;
  log: Logger;
  /** The new secret's value, in memory only for this pass. */
  secret?: string;
  facts?: Facts;
  /** The target group this context works on (src/rotation/groups.ts inGroup); absent: the first. */
  group?: number;
  /**
   * This pass's listing of each group, by group index (src/rotation/targetWrites.ts passListing): one
   * listing of a large gateway costs many latency-bound pages, and verify-targets needs only which
   * targets exist, not what they held before propagate wrote. Shared by every group context of the pass.
   */
  listings?: Map<number, Promise<GatewayTarget[]>>;
  /**
   * verify-targets outcomes of the groups that propagate already read back in this pass, by group
   * index (src/rotation/steps.ts propagateStep): with several groups, each group's proof follows its
   * own writes at once instead of waiting for the slowest group's writes.
   */
  provenInPass?: Map<number, StepOutcome>;
}

/**
 * Outcome of one step: carry on, or stop this pass leaving the run resumable. A pause with `error`
 * is a pass that made no progress because of errors (issue 25): the pass reports it, the run stays open.
 */
export type StepOutcome =
  { kind: "done"; detail?: string } | { kind: "skipped"; detail: string } | { kind: "pause"; status: RunStatus; detail: string; error?: ErrorSummary };
