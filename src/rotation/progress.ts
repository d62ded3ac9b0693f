import type { CredentialSet } from "../config/schema.js";
import { FINISHED, type RotationEvent, type RunJournal } from "./model.js";

/**
 * Progress of an open run (issue 25): a pass that made no progress because of errors leaves its
 * last step waiting with an error. Such a run is "stalled" since it last moved; past the set's
 * budget that is an incident, raised by the pass itself and re-checked by the health timer, so a
 * daily rotation schedule does not delay it by a day.
 */

/**
 * How long a run may go without progress before it is an incident: the set's own budget
 * (`verification.budgetSeconds`, the longest a rotation legitimately waits on Entra replication).
 */
function progressBudgetMs(set: Pick<CredentialSet, "verification">): number {
  return set.verification.budgetSeconds * 1000;
}

/** The stall of an open run whose last pass made no progress because of errors; undefined otherwise. */
export function stallOf(run: RunJournal, set: Pick<CredentialSet, "verification" | "secret">): RotationEvent["stalled"] {
  const last = run.steps.at(-1);
  if (FINISHED.has(run.status) || last?.status !== "waiting" || !last.error) return undefined;
  const oldSecretExpiresOn = run.previousCredential?.endDateTime ?? run.plan?.current?.endDateTime;
  return {
    since: run.lastProgressAt ?? run.createdAt,
    budgetMs: progressBudgetMs(set),
    gracePeriodHours: set.secret.gracePeriodHours,
    ...(oldSecretExpiresOn ? { oldSecretExpiresOn } : {}),
  };
}
