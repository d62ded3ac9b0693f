import type { Incident } from "../../alerts/model.js";
import { fmtDate, fmtDays, fmtDuration, fmtTime } from "../../dashboard/html.js";
import { probeSet } from "../../handlers/health.js";
import { verdictAsOf, verdictOf } from "../../dashboard/render.js";
import { gatherStatus, statusApiBody, type SetStatus } from "../../dashboard/statusData.js";
import { FINISHED } from "../../rotation/model.js";
import { pickupLine } from "../../gateway/proof.js";
import type { CommandContext } from "../context.js";
import { EXIT, type ExitCode } from "../output.js";

/**
 * `status`: the dashboard in a terminal — per set its verdict (with its age), current secret and
 * expiry, the active and last run, targets verified k/N with the stale ones, failing checks with
 * their hints, open incidents, and every secret of the app on its timeline.
 *
 * Exit 1 when a set is failing, when a dependency (Key Vault, Graph) cannot be read within
 * LIVE_READ_DEADLINE_MS (as `plan` exits 1 when it cannot read them), or when its verdict is
 * UNKNOWN because nothing is known yet: exit 0 means every set is one status can vouch for.
 * With `probe: true` every set is probed first (the health timer's checks, no incidents), so the
 * verdict is as of now rather than of the last stored probe.
 */
export async function statusCommand(ctx: CommandContext, options: { probe?: boolean } = {}): Promise<{ code: ExitCode; body: Record<string, unknown> }> {
  if (options.probe) {
    ctx.out.say("probing every set before answering…");
    await Promise.all(ctx.sets.map((set) => probeSet(ctx.runtime, set, ctx.loggerFor(set))));
  }
  const snapshot = await gatherStatus(ctx.runtime, { timeline: true, recentRuns: 3, sets: ctx.sets.map((s) => s.name) });
  for (const s of snapshot.sets) printSet(ctx, s, snapshot.at);
  if (snapshot.serviceIncidents.length) {
    ctx.out.say("the rotator itself:");
    printIncidents(ctx, snapshot.serviceIncidents);
  }
  const failing =
    snapshot.sets.some((s) => verdictOf(s) === "failing" || verdictOf(s) === "unknown") ||
    snapshot.serviceIncidents.some((i) => i.severity === "critical" || i.severity === "error");
  const api = statusApiBody(snapshot) as { sets: Record<string, unknown>[] };
  return {
    code: failing ? EXIT.failed : EXIT.ok,
    body: {
      command: "status",
      ok: !failing,
      ...api,
      sets: api.sets.map((a, i) => {
        const s = snapshot.sets[i]!;
        return {
          ...a,
          verdict: verdictOf(s),
          verdictAsOf: verdictAsOf(s, snapshot.at),
          unreadable: s.unreadable ?? [],
          unknowns: s.unknowns ?? [],
          expiring: (s.expiring ?? []).map((c) => ({
            keyId: c.keyId,
            displayName: c.displayName,
            role: c.role,
            endDateTime: c.endDateTime,
            daysLeft: c.daysLeft,
          })),
          staleTargets: s.targets.stale,
          targetsFromRun: { verified: s.targets.verified, total: s.targets.total, runId: s.targets.runId },
          targetsByKind: (s.targets.kinds ?? []).map((k) => ({ ...k, line: pickupLine(k) })),
          ...(s.targets.byHand ? { byHand: s.targets.byHand } : {}),
          timeline: s.timeline,
        };
      }),
    },
  };
}

function printSet(ctx: CommandContext, s: SetStatus, nowIso: string): void {
  const say = (l: string) => ctx.out.say(l);
  const asOf = verdictAsOf(s, nowIso);
  const age =
    asOf.ageMs === null
      ? "nothing probed or run yet"
      : `as of the ${asOf.basis === "probe" ? "probe" : "last run"} at ${fmtTime(asOf.at)}, ${fmtDuration(asOf.ageMs)} ago`;
  say(`${s.set}  ${verdictOf(s).toUpperCase()}  (${age}${asOf.basis !== "none" ? "; `status --probe` checks afresh" : ""})`);
  for (const u of s.unreadable ?? []) {
    say(`  UNREADABLE      ${u.dependency}: ${u.code}: ${u.message} — the verdict cannot vouch for this set`);
    say(`      → ${u.hint}`);
  }
  if (s.unknowns?.length) say(`  not known yet   ${s.unknowns.join("; ")}`);
  for (const c of s.expiring ?? [])
    say(`  expires soon    ${c.role} ${c.keyId}${c.displayName ? ` "${c.displayName}"` : ""} ends ${fmtDate(c.endDateTime)} (${fmtDays(c.daysLeft)})`);
  say(
    `  current secret  ${s.current ? `${s.current.keyId}${s.current.expiresOn ? ` expires ${fmtDate(s.current.expiresOn)} (${fmtDays(s.current.daysLeft ?? 0)})` : ""}` : "unknown (no run has finished yet)"}; next rotation ${fmtDate(s.state.nextRotationAt)}`,
  );
  if (s.activeRun && !FINISHED.has(s.activeRun.status)) {
    const st = s.activeRun.steps.at(-1);
    say(`  active run      ${s.activeRun.runId} ${s.activeRun.status} at step ${st?.name ?? "plan"}${st?.detail ? ` — ${st.detail}` : ""}`);
  }
  if (s.lastRun)
    say(
      `  last run        ${s.lastRun.runId} ${s.lastRun.status} (${s.lastRun.mode}, ${fmtTime(s.lastRun.updatedAt)})${s.lastRun.error ? ` ${s.lastRun.error.code}: ${s.lastRun.error.message}` : ""}`,
    );
  say(`  targets         ${s.targets.total ? `${s.targets.verified}/${s.targets.total} verified` : "no run has touched targets yet"}`);
  for (const k of s.targets.kinds ?? []) say(`    ${pickupLine(k)}`);
  for (const t of s.targets.stale) say(`    not verified  ${t.name}${t.code ? ` (${t.code})` : ""}`);
  const byHand = s.targets.byHand;
  if (byHand) {
    say(`  by hand         ${byHand.confirmed.length}/${byHand.confirmed.length + byHand.unconfirmed.length} MCP servers confirmed`);
    for (const c of byHand.confirmed) say(`    confirmed     ${c.name} by ${c.by}${c.at ? ` at ${c.at}` : ""}`);
    for (const n of byHand.unconfirmed) say(`    to confirm    ${n}`);
  }
  const drift = s.probe?.checks.find((c) => c.id === "gateway-drift")?.evidence;
  if (drift && typeof drift["holdingCurrentSecret"] === "number" && typeof drift["targets"] === "number")
    say(`  gateway now     ${drift["holdingCurrentSecret"]}/${drift["targets"]} hold Key Vault's current secret (probe)`);
  if (s.timeline) {
    for (const c of s.timeline.credentials)
      say(
        `  ${c.role.padEnd(15)} ${c.keyId} hint ${c.hint ?? "?"}… ends ${fmtDate(c.endDateTime)} (${fmtDays(c.daysLeft)})${c.displayName ? ` "${c.displayName}"` : ""}`,
      );
    if (s.timeline.renewDueAt) say(`  renewal due     ${fmtDate(s.timeline.renewDueAt)}`);
    if (s.timeline.grace) say(`  grace window    until ${fmtTime(s.timeline.grace.until)}`);
    if (s.timeline.error) say(`  (credentials not read live: ${s.timeline.error.code}: ${s.timeline.error.message})`);
  }
  if (!s.probe) say("  checks          no probe yet — run `mcp-sso-rotator probe`");
  else {
    const bad = s.probe.checks.filter((c) => c.status !== "pass" && c.status !== "skip");
    say(`  checks          ${s.probe.checks.length - bad.length}/${s.probe.checks.length} pass (probed ${fmtTime(s.probe.startedAt)})`);
    for (const c of bad) {
      say(`    ${c.status.toUpperCase()} ${c.id} [${c.severity}]${c.aadsts !== undefined ? ` AADSTS${c.aadsts}` : ""}: ${c.summary}`);
      if (c.hint) say(`      → ${c.hint}`);
    }
  }
  if (s.incidents.length) printIncidents(ctx, s.incidents);
  else say("  incidents       none open");
}

export function printIncidents(ctx: CommandContext, incidents: readonly Incident[]): void {
  for (const i of incidents) {
    ctx.out.say(`  [${i.severity}] ${i.dedupKey}  opened ${fmtTime(i.openedAt)}${i.runId ? `  run ${i.runId}` : ""}`);
    ctx.out.say(`      ${i.title}`);
    ctx.out.say(`      → ${i.hint}`);
  }
}
