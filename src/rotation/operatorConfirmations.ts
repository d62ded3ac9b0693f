import { RotatorError } from "../errors.js";
import type { RunJournal, TargetRecord } from "./model.js";

/**
 * Per-server confirmation of an operator-delivered target group (issue 25): a person updates each
 * MCP server by hand and confirms it; the journal keeps who and when per server, and the run goes on
 * only when every one of them is confirmed.
 */

/**
 * Applies confirmations to a group's records and marks the rest as awaiting an operator; returns
 * those still to do. A confirmation of the whole run (`runConfirmedBy`) covers every server not
 * confirmed on its own.
 */
export function markOperatorConfirmations(records: TargetRecord[], runConfirmedBy: string | undefined, now: string): TargetRecord[] {
  const todo: TargetRecord[] = [];
  for (const t of records) {
    if (t.outcome !== undefined) continue;
    if (!t.confirmedBy && runConfirmedBy) Object.assign(t, { confirmedBy: runConfirmedBy, confirmedAt: now });
    if (t.confirmedBy) {
      Object.assign(t, { updated: true, verified: true, proof: "operator" });
      delete t.awaitingOperator;
    } else {
      t.awaitingOperator = true;
      todo.push(t);
    }
  }
  return todo;
}

/** Records one server's confirmation on the run; the target is named by its ID or its name. */
export function confirmTarget(run: RunJournal, target: string, confirmedBy: string, now: string): TargetRecord {
  const record = run.targets.find((t) => t.outcome === undefined && (t.id === target || t.name === target));
  if (!record || (!record.awaitingOperator && !record.confirmedBy)) {
    const open = operatorTodo(run).map((t) => t.name);
    throw new RotatorError("CONFIRM_TARGET_UNKNOWN", `Run ${run.runId} has no MCP server "${target}" waiting to be updated by hand`, {
      hint: open.length
        ? `Servers still to confirm: ${open.join(", ")}.`
        : "Every server of this run is confirmed already; `mcp-sso-rotator status` shows who confirmed each.",
    });
  }
  // A second confirmation of the same server keeps the first one's who and when.
  if (!record.confirmedBy) Object.assign(record, { confirmedBy, confirmedAt: now });
  return record;
}

/** The servers of a run still waiting for a person to update them. */
export function operatorTodo(run: RunJournal): TargetRecord[] {
  return run.targets.filter((t) => t.outcome === undefined && t.awaitingOperator === true && !t.confirmedBy);
}

/** Servers confirmed by hand, with who and when. */
export function operatorConfirmed(run: RunJournal): TargetRecord[] {
  return run.targets.filter((t) => t.outcome === undefined && t.confirmedBy !== undefined);
}

/** A pass saving over an operator's per-server confirmations (written meanwhile) keeps them. */
export function keepTargetConfirmations(run: RunJournal, latest: RunJournal): void {
  for (const written of latest.targets) {
    if (!written.confirmedBy) continue;
    const mine = run.targets.find((t) => t.id === written.id);
    if (mine && !mine.confirmedBy) Object.assign(mine, { confirmedBy: written.confirmedBy, confirmedAt: written.confirmedAt });
  }
}
