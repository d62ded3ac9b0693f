import type { CredentialSet } from "../../config/schema.js";
import { abortableDelay } from "../../clock.js";
import { RotatorError, ensureRotatorError, type ErrorSummary } from "../../errors.js";
import { FINISHED } from "../../rotation/model.js";
import type { PassResult, RotationMode, RunJournal, RunStatus } from "../../rotation/model.js";
import { fmtDuration } from "../../dashboard/html.js";
import type { CommandContext } from "../context.js";
import { EXIT, exitFor, worstExit, type ExitCode } from "../output.js";

export interface RotateOptions {
  mode: RotationMode;
  wait: boolean;
  /** --wait: give up after this long. */
  timeoutInMs: number;
  /** --wait: pause between passes. */
  intervalMs: number;
  /** confirm: the run to resume. */
  runId?: string;
}

export interface SetPassOutcome {
  set: string;
  code: ExitCode;
  runId?: string;
  status?: RunStatus;
  passes: number;
  step?: string;
  detail?: string;
  targets?: { verified: number; total: number };
  error?: ErrorSummary;
}

/**
 * `rotate`: one rotation pass per set in this process, exactly as the queue worker runs it — under
 * the set's blob lease, so it never overlaps a timer pass (a held lease is exit code 3). An active
 * run is resumed (emergency upgrades it and skips the grace period). With --wait, passes repeat
 * until the run finishes, waits for an operator, or only its grace period is left.
 */
export async function rotateCommand(ctx: CommandContext, options: RotateOptions): Promise<{ code: ExitCode; body: Record<string, unknown> }> {
  const outcomes: SetPassOutcome[] = [];
  // One set at a time: the progress bar and log lines of two passes would interleave.
  for (const set of ctx.sets) outcomes.push(await rotateSet(ctx, set, options));
  const code = worstExit(outcomes.map((o) => o.code));
  return { code, body: { command: "rotate", mode: options.mode, wait: options.wait, ok: code === EXIT.ok, sets: outcomes } };
}

export async function rotateSet(ctx: CommandContext, set: CredentialSet, options: RotateOptions): Promise<SetPassOutcome> {
  const deadline = Date.now() + options.timeoutInMs;
  let passes = 0;
  let last: PassResult | undefined;
  ctx.out.say(`${set.name}: ${options.runId ? `resuming run ${options.runId}` : `${options.mode} rotation pass`}…`);
  try {
    for (;;) {
      const runner = await ctx.runtime.createRunner(set, ctx.loggerFor(set));
      ctx.progress.begin(set.name, ctx.runtime.journals);
      try {
        last = await runner.runPass({ mode: options.mode, trigger: "cli", ...(options.runId ? { runId: options.runId } : {}) });
      } finally {
        ctx.progress.end();
      }
      passes++;
      if (!options.wait || settled(last.journal)) break;
      if (Date.now() + options.intervalMs > deadline) {
        printRun(ctx, last.journal);
        const err = new RotatorError(
          "CLI_WAIT_TIMEOUT",
          `Run ${last.runId} is still ${last.status} at step ${last.journal.steps.at(-1)?.name ?? "plan"} after ${passes} pass(es)`,
          {
            hint: "The run keeps its journal; the next timer pass (or another `rotate`) resumes it. Raise --timeout to wait longer.",
          },
        );
        return { ...summary(set.name, last, passes), code: EXIT.failed, error: ctx.out.error(err) };
      }
      ctx.out.say(`  run ${last.runId} is ${last.status} (${last.journal.steps.at(-1)?.detail ?? "waiting"}); next pass in ${fmtDuration(options.intervalMs)}`);
      await abortableDelay(options.intervalMs);
    }
  } catch (e) {
    const err = ensureRotatorError(e);
    ctx.out.say(`${set.name}: ${err.code === "ROTATION_IN_PROGRESS" ? "another pass holds the lease" : "pass failed"} — ${err.code}: ${err.message}`);
    ctx.out.say(`  hint: ${err.hint}`);
    return { set: set.name, code: exitFor(err), passes, error: err.toJSON() };
  }
  printRun(ctx, last.journal);
  // A pass that made no progress because of errors (its last step waits with an error) is not a
  // success even though the run stays open for the next pass (issue 25).
  const stalled = last.status === "waiting" && last.journal.steps.at(-1)?.error !== undefined;
  const code: ExitCode = last.status === "failed" || last.status === "needs_attention" || stalled ? EXIT.failed : EXIT.ok;
  return { ...summary(set.name, last, passes), code, ...(last.journal.error && code !== EXIT.ok ? { error: last.journal.error } : {}) };
}

/** Nothing more a pass can do right now: finished, waiting for an operator, or only the grace period left. */
function settled(run: RunJournal): boolean {
  if (FINISHED.has(run.status) || run.status === "awaiting_confirmation") return true;
  const lastStep = run.steps.at(-1);
  return run.status === "waiting" && lastStep?.name === "retire" && lastStep.status === "waiting";
}

function summary(set: string, r: PassResult, passes: number): Omit<SetPassOutcome, "code"> {
  const lastStep = r.journal.steps.at(-1);
  return {
    set,
    runId: r.runId,
    status: r.status,
    passes,
    ...(lastStep ? { step: lastStep.name, ...(lastStep.detail ? { detail: lastStep.detail } : {}) } : {}),
    targets: { verified: r.journal.targets.filter((t) => t.verified).length, total: r.journal.targets.length },
  };
}

function printRun(ctx: CommandContext, run: RunJournal): void {
  const say = (l: string) => ctx.out.say(l);
  say(`${run.set}: run ${run.runId} → ${run.status.toUpperCase()} (${run.mode}, pass ${run.passes})`);
  for (const s of run.steps)
    say(`  ${s.name.padEnd(15)} ${s.status.padEnd(8)} ${fmtDuration(s.durationMs).padStart(8)}  ${s.detail ?? ""}${s.error ? ` [${s.error.code}]` : ""}`);
  if (run.targets.length) {
    const verified = run.targets.filter((t) => t.verified).length;
    say(
      `  targets ${verified}/${run.targets.length} verified${
        verified < run.targets.length
          ? `; not yet: ${run.targets
              .filter((t) => !t.verified)
              .map((t) => `${t.name}${t.error ? ` (${t.error.code})` : ""}`)
              .join(", ")}`
          : ""
      }`,
    );
  }
  if (run.error) say(`  error ${run.error.code}: ${run.error.message}\n  hint: ${run.error.hint}`);
  const lastStep = run.steps.at(-1);
  if (run.status === "waiting" && lastStep?.name === "retire")
    say(
      `  next: the previous secret is retired by the first pass after ${run.retireAfter ?? "the grace period"}; \`mcp-sso-rotator rotate --emergency\` retires it now`,
    );
  if (run.status === "awaiting_confirmation") say(`  next: update the MCP servers by hand, then \`mcp-sso-rotator confirm ${run.runId}\``);
}
