import type { SignInRecord } from "../../entra/signInActivity.js";
import { ensureRotatorError } from "../../errors.js";
import type { CheckContext, CheckDefinition } from "../context.js";
import { Findings, type CheckOutcome } from "../findings.js";
import type { Evidence } from "../model.js";
import { TROUBLESHOOTING_ROWS, type TroubleshootingRow } from "../troubleshooting.js";

/**
 * Real users' sign-in failures, from Entra's own sign-in log (Graph `auditLogs/signIns`, beta for
 * every event type), beside the synthetic checks: the app's failed sign-ins of the lookback window,
 * grouped by AADSTS code and mapped to the setup guide's troubleshooting rows, with counts, the
 * number of affected users (never their names), and first/last seen. Users failing is an incident;
 * app-only failures (a consumer with a wrong secret) are a warning. Without AuditLog.Read.All or a
 * P1/P2 licence the check is skipped and says what it would need.
 */
const DEFAULT_LOOKBACK_HOURS = 24;

interface CodeGroup {
  code: number;
  failures: number;
  users: Set<string>;
  firstSeen: string;
  lastSeen: string;
  row?: TroubleshootingRow;
  reason?: string;
}

/**
 * What to do when real users already fail with a code, where the row's remedy speaks of the
 * configuration a probe sees before anyone fails (50105: "nobody is assigned").
 */
const OBSERVED_REMEDY: Record<number, string> = {
  50105:
    "'Assignment required' is on for the enterprise application and these users are not assigned, directly or through a group. " +
    "Assign them (or their group) under Enterprise applications > Users and groups, or set 'Assignment required?' to No if every user of the directory may sign in.",
};

function rowFor(code: number): TroubleshootingRow | undefined {
  return TROUBLESHOOTING_ROWS.find((r) => r.code === code || r.relatedCodes.includes(code));
}

/** Groups failures by AADSTS code, most failures first. */
export function groupFailures(records: readonly SignInRecord[]): CodeGroup[] {
  const groups = new Map<number, CodeGroup>();
  for (const r of records) {
    if (r.errorCode === 0) continue;
    const g = groups.get(r.errorCode) ?? {
      code: r.errorCode,
      failures: 0,
      users: new Set<string>(),
      firstSeen: r.createdDateTime,
      lastSeen: r.createdDateTime,
      row: rowFor(r.errorCode),
      ...(r.failureReason ? { reason: r.failureReason } : {}),
    };
    g.failures++;
    if (r.userId) g.users.add(r.userId);
    if (Date.parse(r.createdDateTime) < Date.parse(g.firstSeen)) g.firstSeen = r.createdDateTime;
    if (Date.parse(r.createdDateTime) > Date.parse(g.lastSeen)) g.lastSeen = r.createdDateTime;
    groups.set(r.errorCode, g);
  }
  return [...groups.values()].sort((a, b) => b.failures - a.failures || a.code - b.code);
}

export const signInsCheck: CheckDefinition = {
  id: "sign-ins",
  title: "Real users' sign-ins succeed (Entra sign-in log)",
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const { set, deps, abortSignal: signal, now } = ctx;
    const hours = set.signInEvidence?.monitorLookbackHours ?? DEFAULT_LOOKBACK_HOURS;
    if (!deps.signIns || set.signInEvidence?.enabled === false) {
      return { status: "skip", severity: "info", summary: "the sign-in monitor is not enabled for this set", hint: "Nothing to do.", evidence: {} };
    }
    const since = new Date(now.getTime() - hours * 3_600_000);
    let list;
    try {
      list = await deps.signIns.listSignIns({ appId: set.clientId, since, failuresOnly: true, abortSignal: signal });
    } catch (e) {
      const err = ensureRotatorError(e);
      if (err.code !== "SIGNIN_EVIDENCE_UNAVAILABLE") throw err;
      return {
        status: "skip",
        severity: "info",
        summary: `Entra's sign-in log is not readable (${err.upstreamCode ?? err.code}); only the synthetic checks run`,
        hint: err.hint,
        evidence: { unavailable: err.upstreamCode ?? err.code },
      };
    }
    const users = list.records.filter((r) => r.userId && !r.eventTypes.includes("servicePrincipal"));
    const apps = list.records.filter((r) => r.eventTypes.includes("servicePrincipal"));
    const userGroups = groupFailures(users);
    const appGroups = groupFailures(apps);
    const f = new Findings();
    const evidence: Evidence = {
      lookbackHours: hours,
      failedUserSignIns: users.length,
      failedAppSignIns: apps.length,
      ...(list.truncated ? { truncated: true } : {}),
    };
    for (const g of userGroups) {
      const name = g.row ? g.row.problem : `AADSTS${g.code}${g.reason ? `: ${g.reason.slice(0, 80)}` : ""}`;
      evidence[`aadsts${g.code}`] = `${g.failures} failure(s), ${g.users.size} user(s), first ${g.firstSeen}, last ${g.lastSeen}`;
      f.fail(
        "error",
        `${g.users.size} user(s) failed to sign in ${g.failures} time(s) with ${name} (first ${g.firstSeen}, last ${g.lastSeen})`,
        g.row
          ? `${OBSERVED_REMEDY[g.row.code] ?? g.row.remedy} (Setup guide: ${g.row.guideSolution}.)`
          : `Look up AADSTS${g.code} in the Entra sign-in logs for application ${set.clientId}.`,
        g.code,
      );
    }
    for (const g of appGroups) {
      evidence[`app-aadsts${g.code}`] = `${g.failures} failure(s), first ${g.firstSeen}, last ${g.lastSeen}`;
      f.warn(
        "warning",
        `app-only sign-ins failed ${g.failures} time(s) with AADSTS${g.code}${g.row ? ` (${g.row.problem.replace(/^AADSTS\d+:\s*/, "")})` : ""} (last ${g.lastSeen}): something holds a wrong or old secret`,
        g.row ? g.row.remedy : `Look up AADSTS${g.code} in the Entra service principal sign-in logs for application ${set.clientId}.`,
        g.code,
      );
    }
    return f.outcome(`no failed sign-ins in the last ${hours} h`, evidence);
  },
};
