import type { AbandonsPass } from "../../src/rotation/hooks.js";

/**
 * A hook that throws this simulates the process dying at that point (crash tests, the lifecycle
 * simulator): the runner lets it through without recording anything or releasing the lease.
 */
export class ProcessCrash extends Error implements AbandonsPass {
  readonly abandonsPass = true as const;
  constructor(where: string) {
    super(`simulated process crash ${where}`);
    this.name = "ProcessCrash";
  }
}
