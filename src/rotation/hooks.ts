import type { StepName } from "./model.js";

/**
 * Fault-injection seams for crash tests. A hook that throws `ProcessCrash` simulates the process
 * dying at that point: the runner lets it through without recording anything or releasing the
 * lease, exactly as a killed worker would leave things.
 */
export class ProcessCrash extends Error {
  constructor(where: string) {
    super(`simulated process crash ${where}`);
    this.name = "ProcessCrash";
  }
}

export interface RotationHooks {
  /** After a step's outcome is written to the journal. */
  afterStep?(step: StepName): void | Promise<void>;
  /** After a side effect but before the journal records it. */
  afterEffect?(step: StepName, effect: string): void | Promise<void>;
  /** After one target was updated on the gateway. */
  afterTargetUpdated?(targetId: string): void | Promise<void>;
}
