/**
 * App management policies as Microsoft Graph documents them, and the emulator's enforcement of
 * their password-credential restrictions at addPassword. Written from the docs, independently of
 * the rotator's own evaluation (src/entra), so a misreading on one side shows up on the other:
 *
 * - tenantAppManagementPolicy (`GET /policies/defaultAppManagementPolicy`): the tenant default,
 *   restrictions in `applicationRestrictions.passwordCredentials`.
 *   https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy
 * - appManagementPolicy (`GET /applications/{id}/appManagementPolicies`): "If this resource is not
 *   configured for an application or service principal, the restrictions default to the settings in
 *   the tenantAppManagementPolicy object" — an assigned policy replaces the default for that app.
 *   Restrictions in `restrictions.passwordCredentials`.
 *   https://learn.microsoft.com/graph/api/resources/appmanagementpolicy
 * - passwordCredentialConfiguration: `restrictionType` passwordAddition | passwordLifetime (each at
 *   most once per policy), `state` enabled | disabled, `maxLifetime` (ISO 8601 duration, required for
 *   passwordLifetime), `restrictForAppsCreatedAfterDateTime` ("the date from which the policy
 *   restriction applies to newly created applications").
 *   https://learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration
 *
 * Interpretation where the docs are silent: a policy with `isEnabled: false` restricts nothing, and
 * an assigned app policy that is disabled counts as not configured (the default applies).
 */
export interface PasswordRestriction {
  restrictionType: "passwordAddition" | "passwordLifetime";
  state: "enabled" | "disabled";
  /** ISO 8601 duration; required for passwordLifetime, null for passwordAddition. */
  maxLifetime: string | null;
  restrictForAppsCreatedAfterDateTime: string | null;
}

export interface PolicyDocument {
  id: string;
  displayName: string;
  description: string;
  isEnabled: boolean;
  passwordCredentials: PasswordRestriction[];
}

/** The shorthand tests seed with. */
export interface PolicyShorthand {
  passwordAdditionBlocked?: boolean;
  maxPasswordLifetimeDays?: number;
  /** Applies to both restrictions; default 2019-01-01 (every app seeded here is younger). */
  restrictForAppsCreatedAfterDateTime?: string | null;
  isEnabled?: boolean;
}

const POLICY_EPOCH = "2019-01-01T00:00:00Z";
export const DEFAULT_POLICY_ID = "00000000-0000-0000-0000-000000000000";

export function restrictionsFrom(s: PolicyShorthand): PasswordRestriction[] {
  const after = s.restrictForAppsCreatedAfterDateTime === undefined ? POLICY_EPOCH : s.restrictForAppsCreatedAfterDateTime;
  const out: PasswordRestriction[] = [];
  if (s.passwordAdditionBlocked)
    out.push({ restrictionType: "passwordAddition", state: "enabled", maxLifetime: null, restrictForAppsCreatedAfterDateTime: after });
  if (s.maxPasswordLifetimeDays !== undefined) {
    out.push({
      restrictionType: "passwordLifetime",
      state: "enabled",
      maxLifetime: `P${s.maxPasswordLifetimeDays}D`,
      restrictForAppsCreatedAfterDateTime: after,
    });
  }
  return out;
}

/** ISO 8601 duration in milliseconds (years 365 days, months 30), or undefined when malformed. */
export function durationMs(iso: string): number | undefined {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso);
  if (!m || iso === "P" || iso.endsWith("T")) return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  const DAY = 86_400_000;
  return n(1) * 365 * DAY + n(2) * 30 * DAY + n(3) * 7 * DAY + n(4) * DAY + n(5) * 3_600_000 + n(6) * 60_000 + n(7) * 1000;
}

/** The password restrictions Entra enforces on this app right now. */
export function enforcedRestrictions(
  app: { createdDateTime: string },
  defaultPolicy: Pick<PolicyDocument, "isEnabled" | "passwordCredentials">,
  appPolicy: PolicyDocument | undefined,
): PasswordRestriction[] {
  const source = appPolicy?.isEnabled ? appPolicy : defaultPolicy.isEnabled ? defaultPolicy : undefined;
  if (!source) return [];
  const created = Date.parse(app.createdDateTime);
  return source.passwordCredentials.filter(
    (r) => r.state === "enabled" && (r.restrictForAppsCreatedAfterDateTime === null || created > Date.parse(r.restrictForAppsCreatedAfterDateTime)),
  );
}

/** Graph's JSON of a password restriction. */
export function restrictionJson(r: PasswordRestriction): Record<string, unknown> {
  return {
    restrictionType: r.restrictionType,
    state: r.state,
    maxLifetime: r.maxLifetime,
    restrictForAppsCreatedAfterDateTime: r.restrictForAppsCreatedAfterDateTime,
  };
}
