import type { CheckResult, CheckSeverity, Evidence } from "./model.js";
import { severityRank } from "../severity.js";

/**
 * What one check observed, one line per problem. A check records findings as it goes and the
 * outcome is derived the same way for every check: the worst status wins, the most severe finding
 * at that status writes the summary, hint and AADSTS code, and every problem stays listed in the
 * evidence — so no problem is hidden behind a worse one.
 */
export interface Finding {
  status: "warn" | "fail";
  severity: CheckSeverity;
  message: string;
  hint: string;
  aadsts?: number;
}

export type CheckOutcome = Omit<CheckResult, "id" | "title" | "durationMs">;

const STATUS_RANK = { warn: 1, fail: 2 } as const;
const MAX_SUMMARY_PARTS = 3;

export class Findings {
  private readonly items: Finding[] = [];

  warn(severity: CheckSeverity, message: string, hint: string, aadsts?: number): void {
    this.items.push({ status: "warn", severity, message, hint, ...(aadsts !== undefined ? { aadsts } : {}) });
  }

  fail(severity: CheckSeverity, message: string, hint: string, aadsts?: number): void {
    this.items.push({ status: "fail", severity, message, hint, ...(aadsts !== undefined ? { aadsts } : {}) });
  }

  get list(): readonly Finding[] {
    return this.items;
  }

  /**
   * @param passSummary what to say when nothing is wrong
   * @param evidence the check's own evidence; `findings` and `aadstsCodes` are added here
   */
  outcome(passSummary: string, evidence: Evidence, passHint = "Nothing to do."): CheckOutcome {
    if (this.items.length === 0) {
      return { status: "pass", severity: "info", summary: passSummary, hint: passHint, evidence };
    }
    const ranked = [...this.items].sort((a, b) => STATUS_RANK[b.status] - STATUS_RANK[a.status] || severityRank(b.severity) - severityRank(a.severity));
    const top = ranked[0]!;
    const worst = ranked.filter((f) => f.status === top.status);
    const shown = worst.slice(0, MAX_SUMMARY_PARTS).map((f) => f.message);
    const more = worst.length - shown.length;
    const hints = [...new Set(worst.map((f) => f.hint))].slice(0, MAX_SUMMARY_PARTS);
    const codes = [...new Set(ranked.map((f) => f.aadsts).filter((c): c is number => c !== undefined))];
    const aadsts = top.aadsts ?? worst.find((f) => f.aadsts !== undefined)?.aadsts;
    return {
      status: top.status,
      severity: top.severity,
      summary: shown.join("; ") + (more > 0 ? ` (and ${more} more)` : ""),
      hint: hints.join(" Also: "),
      ...(aadsts !== undefined ? { aadsts } : {}),
      evidence: {
        ...evidence,
        findings: ranked.map((f) => `${f.status}/${f.severity}: ${f.message}`),
        ...(codes.length > 0 ? { aadstsCodes: codes.map(String) } : {}),
      },
    };
  }
}

/** A critical failure Entra named by its AADSTS code: how the token and authorize checks read Entra's refusals. */
export function aadstsFailure(
  aadsts: number,
  message: string,
  hint: string,
): { status: "fail"; severity: "critical"; message: string; hint: string; aadsts: number } {
  return { status: "fail", severity: "critical", message, hint, aadsts };
}

/**
 * AADSTS700016 and 90002/900023 ask the same question at the authorize and the token endpoint: does
 * the URL name the tenant where the app is registered. One wording for both, naming which URL.
 */
export function wrongDirectory(
  aadsts: number | undefined,
  where: { urlName: string; clientId?: string; tenantFix: string },
): ReturnType<typeof aadstsFailure> | undefined {
  if (aadsts === 700016) {
    return aadstsFailure(
      aadsts,
      `Entra does not find ${where.clientId ? `client ID ${where.clientId}` : "the application"} in the tenant the ${where.urlName} names (AADSTS700016)`,
      `Compare the client ID with the Application (client) ID on the app registration's Overview page, and check the ${where.urlName} names the tenant where the app is registered.`,
    );
  }
  if (aadsts === 90002 || aadsts === 900023) {
    return aadstsFailure(aadsts, `Entra does not know the tenant in the ${where.urlName} (AADSTS${aadsts})`, where.tenantFix);
  }
  return undefined;
}
