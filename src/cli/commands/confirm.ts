import os from "node:os";
import { ensureRotatorError, RotatorError } from "../../errors.js";
import { acceptConfirmation } from "../../rotation/enqueue.js";
import { operatorTodo } from "../../rotation/operatorConfirmations.js";
import type { CommandContext } from "../context.js";
import { EXIT, type ExitCode } from "../output.js";
import { rotateSet } from "./rotate.js";

/**
 * `confirm <runId>`: an operator has updated every MCP server of a manual gateway by hand. The
 * confirmation is recorded in the run's journal (as POST /api/rotations/{runId}/confirm does), then
 * a pass resumes the run at once. If another pass holds the lease (exit 3), the confirmation stays
 * recorded and that pass or the next one carries the run on.
 */
export async function confirmCommand(
  ctx: CommandContext,
  runId: string,
  by: string | undefined,
  options: { wait: boolean; timeoutInMs: number; intervalMs: number; target?: string },
): Promise<{ code: ExitCode; body: Record<string, unknown> }> {
  const run = await ctx.runtime.journals.findRun(runId);
  if (!run)
    throw new RotatorError("RUN_NOT_FOUND", `No rotation run "${runId}"`, {
      hint: "Use the run ID from the awaiting-confirmation alert, `mcp-sso-rotator status` or the dashboard.",
    });
  const set = ctx.runtime.sets.find((s) => s.name === run.set);
  if (!set) throw new RotatorError("SET_NOT_FOUND", `Run ${runId} belongs to set "${run.set}", which is no longer configured`, { hint: "Nothing to confirm." });
  const confirmedBy = by ?? os.userInfo().username;
  // The same conditional write as POST /api/rotations/{runId}/confirm: a pass writing the journal
  // meanwhile makes it re-read, never overwrite, and a run that erred while waiting still counts.
  try {
    await acceptConfirmation(
      { container: ctx.runtime.container, journals: ctx.runtime.journals, now: () => ctx.runtime.clock.now() },
      { runId, confirmedBy, ...(options.target !== undefined ? { target: options.target } : {}) },
    );
  } catch (e) {
    const err = ensureRotatorError(e);
    if (err.code !== "RUN_NOT_AWAITING_CONFIRMATION") throw err;
    const refused = new RotatorError(err.code, err.message, {
      hint: "Only a run paused for a manual gateway can be confirmed; `mcp-sso-rotator status` shows what it waits for.",
    });
    return { code: EXIT.failed, body: { command: "confirm", ok: false, runId, set: run.set, status: run.status, error: ctx.out.error(refused) } };
  }
  ctx.out.say(`${run.set}: ${options.target !== undefined ? `MCP server ${options.target} of run ${runId}` : `run ${runId}`} confirmed by ${confirmedBy}`);
  const { target, ...wait } = options;
  const outcome = await rotateSet(ctx, set, { mode: run.mode, runId, ...wait });
  const after = await ctx.runtime.journals.findRun(runId);
  const todo = after ? operatorTodo(after).map((t) => t.name) : [];
  if (todo.length > 0) ctx.out.say(`  still to update by hand and confirm (${todo.length}): ${todo.join(", ")}`);
  if (outcome.code === EXIT.busy) ctx.out.say("  the confirmation is recorded: the pass holding the lease, or the next timer pass, resumes the run");
  return {
    code: outcome.code,
    body: { command: "confirm", ok: outcome.code === EXIT.ok, confirmedBy, ...(target !== undefined ? { target } : {}), ...outcome, runId, unconfirmed: todo },
  };
}
