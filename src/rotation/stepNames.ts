/**
 * The names of the rotation's steps, apart from the run model so the seams that name a step
 * (hooks) and the model itself depend on this leaf, not on each other.
 */
export const STEPS = ["plan", "create", "stash", "verify-entra", "promote", "propagate", "verify-targets", "retire"] as const;
/** The rotation's steps, plus `reconcile`: the drift repair a pass runs when no rotation is due. */
export type StepName = (typeof STEPS)[number] | "reconcile";
