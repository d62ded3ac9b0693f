import type { StepName } from "./stepNames.js";

/**
 * Seams around a pass: the CLI's progress display and fault injection in tests. A seam may throw
 * an error that `abandonsPass` recognises to say "the process is gone at this point": the runner
 * then records nothing and releases no lease, exactly as a killed worker would leave things. The
 * runner knows only that capability, never a test's error class.
 */
export interface RotationHooks {
  /** After a step's outcome is written to the journal. */
  afterStep?(step: StepName): void | Promise<void>;
  /** After a side effect but before the journal records it. */
  afterEffect?(step: StepName, effect: string): void | Promise<void>;
  /** After one target was updated on the gateway. */
  afterTargetUpdated?(targetId: string): void | Promise<void>;
}

/** An error whose thrower means the process stops here: nothing after it may run, be recorded or be released. */
export interface AbandonsPass {
  readonly abandonsPass: true;
}

export function abandonsPass(e: unknown): e is AbandonsPass {
  return typeof e === "object" && e !== null && (e as Partial<AbandonsPass>).abandonsPass === true;
}
