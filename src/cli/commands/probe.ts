import { probeSet, runHealthPass } from "../../handlers/health.js";
import type { CheckResult, ProbeReport } from "../../probe/model.js";
import { diagnose } from "../../probe/index.js";
import type { CommandContext } from "../context.js";
import { EXIT, type ExitCode } from "../output.js";

const failed = (c: CheckResult): boolean => c.status === "fail" || c.status === "error";

/**
 * `probe`: every health check of each set, now, with the same code the health timer runs. The
 * result is stored as the set's latest probe (status page, /api/status). Incidents are left to the
 * health timer, so a probe from a laptop never pages anyone, unless `--alert` asks for the timer's
 * whole health pass: incidents opened, updated and resolved, and channels notified, exactly as the
 * timer would (the sandbox's way to see an alert). Exit 1 when any check fails.
 */
export async function probeCommand(
  ctx: CommandContext,
  options: { alert: boolean } = { alert: false },
): Promise<{ code: ExitCode; body: Record<string, unknown> }> {
  const reports = options.alert
    ? await runHealthPass(ctx.runtime, ctx.progress.logger(ctx.runtime.redactor), ctx.sets)
    : await Promise.all(ctx.sets.map((set) => probeSet(ctx.runtime, set, ctx.loggerFor(set))));
  if (options.alert) ctx.out.say("health pass run as the timer runs it: incidents opened, updated or resolved, channels notified");
  for (const r of reports) printProbe(ctx, r);
  const anyFailed = reports.some((r) => r.checks.some(failed));
  return {
    code: anyFailed ? EXIT.failed : EXIT.ok,
    body: {
      command: "probe",
      ok: !anyFailed,
      alerted: options.alert,
      sets: reports.map((r) => ({
        set: r.set,
        ok: r.ok,
        startedAt: r.startedAt,
        durationMs: r.durationMs,
        checks: r.checks.map((c) => ({
          id: c.id,
          status: c.status,
          severity: c.severity,
          summary: c.summary,
          hint: c.hint,
          ...(c.aadsts !== undefined ? { aadsts: c.aadsts } : {}),
          ...(c.code ? { code: c.code } : {}),
        })),
        troubleshooting: diagnose(r).map((h) => ({ code: h.row.code, problem: h.row.problem, remedy: h.row.remedy, checks: h.checks.map((c) => c.id) })),
      })),
    },
  };
}

function printProbe(ctx: CommandContext, r: ProbeReport): void {
  const bad = r.checks.filter(failed).length;
  ctx.out.say(`${r.set}: ${bad ? `${bad} check(s) FAILING` : "all checks pass"} (${r.checks.length} checks in ${r.durationMs} ms)`);
  for (const c of r.checks) {
    ctx.out.say(
      `  ${c.status.toUpperCase().padEnd(5)} ${c.id.padEnd(17)} ${c.status === "pass" || c.status === "skip" ? "" : `[${c.severity}] `}${c.summary}${c.aadsts !== undefined ? ` [AADSTS${c.aadsts}]` : ""}`,
    );
    if (c.status !== "pass" && c.status !== "skip" && c.hint) ctx.out.say(`        → ${c.hint}`);
  }
  for (const h of diagnose(r)) ctx.out.say(`  setup guide row "${h.row.problem}": ${h.row.remedy}`);
}
