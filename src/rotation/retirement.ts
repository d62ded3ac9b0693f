import type { CredentialSet } from "../config/schema.js";
import type { Logger } from "../logging.js";
import type { RunJournal } from "./model.js";
import { checkRetirementEvidence, type RetirementEvidenceDeps } from "./retirementEvidence.js";

/**
 * The retirement rule (DESIGN.md § Retirement rule), in one place. A credential is removed from the
 * app only when
 *   1. every live target is proven on a newer secret,
 *   2. its grace period has passed (0 in an emergency) — a missing or unreadable `retireAfter`
 *      means keep, never "due",
 *   3. Entra's sign-in evidence allows it (src/rotation/retirementEvidence.ts).
 * The checks run cheapest first (grace, then the targets' read-back, then Graph); all must pass.
 * Every path that removes a credential asks this function first: the retire step, reconcile's
 * pending retirement, superseded credentials and the orphan sweep. The paths differ only in how
 * they gather the inputs; none decides on its own.
 */
type RetirementPath = "retire" | "pending-retirement" | "superseded" | "orphan";

export interface RetirementCandidate {
  path: RetirementPath;
  keyId: string;
  /**
   * Proves the targets: the names of live targets not on a newer secret (empty: every live target
   * is). Called only once the grace period is over, so a pass inside it lists nothing. An orphan's
   * value never reached Key Vault, so no target can hold it: its caller answers none.
   */
  laggingTargets(): Promise<readonly string[]>;
  /** End of the grace period (ISO 8601). */
  retireAfter: string | undefined;
  /** When every target held the newer secret: a sign-in after it is an outside consumer. */
  targetsVerifiedAt: string;
}

export interface RetirementContext {
  set: CredentialSet;
  runId: string;
  now: Date;
  /** An operator's emergency: no grace period, and sign-in evidence does not hold it. */
  emergency: boolean;
  evidence?: RetirementEvidenceDeps;
  log: Logger;
  abortSignal?: AbortSignal;
}

export type RetirementVerdict =
  { due: true; note: string } | { due: false; heldBy: "targets" | "grace" | "retire-after-unreadable" | "sign-ins"; note: string };

export async function retirementDue(candidate: RetirementCandidate, ctx: RetirementContext): Promise<RetirementVerdict> {
  const { keyId, path } = candidate;
  // Targets first, on every pass: a target that lost the new secret during the grace period (edited
  // by hand) is found now and propagated to again, not on the day the grace period ends.
  const lagging = await candidate.laggingTargets();
  if (lagging.length > 0) {
    return { due: false, heldBy: "targets", note: `${lagging.length} target(s) do not hold the new secret yet (${lagging.join(", ")}); ${keyId} is kept` };
  }
  if (!ctx.emergency) {
    const retireAfter = Date.parse(candidate.retireAfter ?? "");
    if (!Number.isFinite(retireAfter)) {
      // Without a readable end of grace nobody can say the grace period is over: keep, and say so.
      const note = `${keyId} is kept (${path}): its retireAfter is ${candidate.retireAfter === undefined ? "missing" : `unreadable ("${candidate.retireAfter}")`}, so its grace period cannot be shown to be over`;
      ctx.log.warn(note);
      return { due: false, heldBy: "retire-after-unreadable", note };
    }
    if (ctx.now.getTime() < retireAfter) return { due: false, heldBy: "grace", note: `grace period runs until ${candidate.retireAfter}` };
  }
  const evidence = await checkRetirementEvidence({
    set: ctx.set,
    runId: ctx.runId,
    targetsVerifiedAt: candidate.targetsVerifiedAt,
    previousKeyId: keyId,
    now: ctx.now,
    force: ctx.emergency,
    ...(ctx.evidence ? { deps: ctx.evidence } : {}),
    log: ctx.log,
    ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
  });
  if (evidence.kind === "hold") return { due: false, heldBy: "sign-ins", note: evidence.note };
  return { due: true, note: evidence.note };
}

/** When every target of a run held its new secret: the last verify-targets (or, for a manual gateway, promote) that finished. */
export function targetsVerifiedAt(run: RunJournal): string {
  const done = run.steps.filter((s) => (s.name === "verify-targets" || s.name === "promote") && s.status === "done");
  return (done.filter((s) => s.name === "verify-targets").at(-1) ?? done.at(-1))?.endedAt ?? run.createdAt;
}
