import type { CheckId, CheckResult, CheckStatus, ProbeReport } from "./model.js";

/**
 * The "Common troubleshooting" table of the setup guide our users followed, row by row, with the
 * checks that detect each condition before a user meets it and our remedy. `diagnose` says which
 * rows a probe report hits, so an alert can quote the row the operator already knows.
 */
export interface TroubleshootingRow {
  code: number;
  /** The guide's "Problem" column, verbatim. */
  problem: string;
  /** The guide's "Solution" column, verbatim. */
  guideSolution: string;
  /** Checks whose results carry this code when the condition holds. */
  checks: readonly CheckId[];
  /** Other AADSTS codes that are the same row in practice (an expired secret is the 7000215 row's "hasn't expired"). */
  relatedCodes: readonly number[];
  /** What to do, in our words and with this service's tools. */
  remedy: string;
}

export const TROUBLESHOOTING_ROWS: readonly TroubleshootingRow[] = [
  {
    code: 50011,
    problem: "AADSTS50011: Redirect URI mismatch",
    guideSolution: "Verify the URI in Azure matches your MCP configuration exactly",
    checks: ["authorize", "app-registration", "gateway-drift", "sign-ins"],
    relatedCodes: [500113],
    remedy:
      "The redirectUri the gateway sends is not one of the app's Web redirect URIs, character for character. Copy the gateway's redirectUri " +
      "(the evidence lists it) into App registrations > Authentication > Web > Redirect URIs, or set the gateway's redirectUri to the registered one; " +
      "mind the trailing slash and case.",
  },
  {
    code: 700016,
    problem: "AADSTS700016: Invalid client ID",
    guideSolution: "Double-check the Application (client) ID is copied correctly",
    checks: ["token", "authorize", "gateway-drift", "sign-ins"],
    relatedCodes: [],
    remedy:
      "Entra does not find this client ID in the tenant the URL names. Compare clientId in the credential set and the gateway's Client ID with " +
      "the Application (client) ID on the app's Overview page, and check the Token/Authorization URLs name the app's own tenant.",
  },
  {
    code: 7000215,
    problem: "AADSTS7000215: Invalid client secret",
    guideSolution: "Confirm secret hasn't expired and is copied correctly",
    checks: ["token", "expiry", "sign-ins"],
    relatedCodes: [7000222],
    remedy:
      "The secret in Key Vault is not a live secret of the app: removed from the app, expired, or the secret ID stored instead of the value. " +
      'Run an emergency rotation (POST /api/rotations {"mode": "emergency"}): it issues a new secret, proves it at Entra, stores it in Key Vault ' +
      "and pushes it to every MCP server. A secret created minutes ago may just be replicating; the probe reports that as a warning.",
  },
  {
    code: 50105,
    problem: "AADSTS50105: User not assigned",
    guideSolution: "Add user to the enterprise application or disable assignment requirement",
    checks: ["app-registration", "sign-ins"],
    relatedCodes: [],
    remedy:
      "'Assignment required' is on for the enterprise application but nobody is assigned. Assign the users or groups of the MCP servers under " +
      "Enterprise applications > Users and groups, or set 'Assignment required?' to No if every user of the directory may sign in.",
  },
  {
    code: 65001,
    problem: "AADSTS65001: Consent required",
    guideSolution: "User or admin needs to consent to the requested permissions",
    checks: ["app-registration", "sign-ins"],
    relatedCodes: [],
    remedy:
      "Admin consent is missing for some of openid, profile, email, User.Read. On the app's API permissions page choose 'Grant admin consent " +
      "for <organization>' and check every permission shows Granted.",
  },
];

export interface TroubleshootingHit {
  row: TroubleshootingRow;
  checks: { id: CheckId; status: CheckStatus; summary: string; aadsts: number }[];
}

/** Codes a result reports: its own, and every code listed in its evidence. */
function codesOf(result: CheckResult): number[] {
  const listed = result.evidence["aadstsCodes"];
  const extra = Array.isArray(listed) ? listed.map(Number).filter(Number.isFinite) : [];
  return [...new Set([...(result.aadsts !== undefined ? [result.aadsts] : []), ...extra])];
}

/** Which rows of the guide's table the report hits, and through which checks. */
export function diagnose(report: Pick<ProbeReport, "checks">): TroubleshootingHit[] {
  const hits: TroubleshootingHit[] = [];
  for (const row of TROUBLESHOOTING_ROWS) {
    const codes = new Set([row.code, ...row.relatedCodes]);
    const checks = report.checks
      .filter((c) => (c.status === "fail" || c.status === "warn") && row.checks.includes(c.id))
      .flatMap((c) => {
        const code = codesOf(c).find((x) => codes.has(x));
        return code === undefined ? [] : [{ id: c.id, status: c.status, summary: c.summary, aadsts: code }];
      });
    if (checks.length) hits.push({ row, checks });
  }
  return hits;
}

export function rowFor(code: number): TroubleshootingRow | undefined {
  return TROUBLESHOOTING_ROWS.find((r) => r.code === code || r.relatedCodes.includes(code));
}
