import { ensureRotatorError, type ErrorSummary } from "../../errors.js";
import type { Plan, RotationMode } from "../../rotation/model.js";
import type { CommandContext } from "../context.js";
import { EXIT, exitFor, worstExit, type ExitCode } from "../output.js";
import { fmtDate, fmtDays } from "../../dashboard/html.js";
import { LIVE_READ_DEADLINE_MS, readWithin } from "../../dashboard/liveRead.js";

/** `plan` (and `rotate --dry-run`): what the next pass would do for each set; reads only. */
export async function planCommand(ctx: CommandContext, mode: RotationMode): Promise<{ code: ExitCode; body: Record<string, unknown> }> {
  const results = await Promise.all(
    ctx.sets.map(async (set): Promise<{ set: string; code: ExitCode; plan?: Plan; error?: ErrorSummary }> => {
      try {
        // The client setup reads the gateway token from Key Vault: bounded like status's live reads,
        // so a hanging vault is named in seconds by both commands (issue 25).
        const runner = await readWithin(
          "Key Vault",
          ctx.runtime.createRunner(set, ctx.loggerFor(set)),
          AbortSignal.timeout(LIVE_READ_DEADLINE_MS),
          LIVE_READ_DEADLINE_MS,
        );
        return { set: set.name, code: EXIT.ok, plan: await runner.dryRun(mode) };
      } catch (e) {
        return { set: set.name, code: exitFor(e), error: ensureRotatorError(e).toJSON() };
      }
    }),
  );
  for (const r of results) {
    if (r.error) {
      ctx.out.say(`${r.set}: could not plan — ${r.error.code}: ${r.error.message}`);
      ctx.out.say(`  hint: ${r.error.hint}`);
      continue;
    }
    printPlan(ctx, r.set, r.plan!);
  }
  const code = worstExit(results.map((r) => r.code));
  return {
    code,
    body: {
      command: "plan",
      mode,
      ok: code === EXIT.ok,
      sets: results.map((r) => ({
        set: r.set,
        ...(r.plan ? { action: r.plan.action, reason: r.plan.reason, plan: r.plan } : { action: "error", error: r.error }),
      })),
    },
  };
}

function printPlan(ctx: CommandContext, set: string, p: Plan): void {
  const say = (l: string) => ctx.out.say(l);
  say(`${set}: ${p.action.toUpperCase()} (${p.mode}) — ${p.reason}`);
  if (p.current) {
    say(
      `  current secret   ${p.current.keyId} hint ${p.current.hint ?? "?"}… ends ${fmtDate(p.current.endDateTime)} (${fmtDays(p.current.daysLeft)})${p.current.managed ? "" : " — not yet managed"}`,
    );
  } else {
    say("  current secret   none found in Key Vault");
  }
  say(
    `  renewal          window ${round(p.renewWindowDays)} d${p.renewDueAt ? `, due ${fmtDate(p.renewDueAt)}` : ""}; new lifetime ${p.lifetimeDays} d${p.clampedByPolicyDays !== undefined ? ` (clamped by tenant policy to ${p.clampedByPolicyDays} d)` : ""}; grace ${p.gracePeriodHours} h`,
  );
  say(
    `  targets          ${p.targets.total}${p.targets.names.length ? `: ${p.targets.names.slice(0, 8).join(", ")}${p.targets.names.length > 8 ? ` and ${p.targets.names.length - 8} more` : ""}` : ""}`,
  );
  if (p.adoption) say(`  adoption         ${p.adoption.status} — ${p.adoption.detail}`);
  for (const u of p.unmanagedCredentials)
    say(`  unmanaged        ${u.keyId} "${u.displayName ?? ""}" ends ${fmtDate(u.endDateTime)} (${fmtDays(u.daysLeft)}) — reported, never touched`);
  for (const o of p.orphans)
    say(
      `  orphan           ${o.keyId} "${o.displayName ?? ""}" — created by a run that never stored its value; the next pass removes it through the retirement rule`,
    );
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
