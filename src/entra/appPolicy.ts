import type { AppManagementPolicy } from "./types.js";

/**
 * The app management policy Entra enforces on one app's new client secrets, computed the way the
 * Graph docs describe it:
 * - an appManagementPolicy assigned to the app replaces the tenant default for that app ("If this
 *   resource is not configured for an application …, the restrictions default to the settings in the
 *   tenantAppManagementPolicy object" — learn.microsoft.com/graph/api/resources/appmanagementpolicy);
 * - a restriction applies only to apps created after its restrictForAppsCreatedAfterDateTime
 *   (learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration); an object without a
 *   creation date counts as created on 2019-01-01, as Graph treats service principals;
 * - a disabled policy restricts nothing, and a disabled app policy counts as not configured;
 *   a disabled restriction is not evaluated.
 */
export interface PasswordRestrictionDoc {
  restrictionType: string;
  state?: string;
  maxLifetime?: string | null;
  restrictForAppsCreatedAfterDateTime?: string | null;
}

export interface PolicyDoc {
  id: string;
  isEnabled: boolean;
  passwordCredentials: PasswordRestrictionDoc[];
}

export interface EffectivePolicyInput {
  appCreatedDateTime: string | null;
  tenantDefault: PolicyDoc;
  appPolicies: PolicyDoc[];
}

const UNKNOWN_CREATION = "2019-01-01T00:00:00Z";

export function effectiveAppManagementPolicy(input: EffectivePolicyInput): AppManagementPolicy {
  const appPolicy = input.appPolicies.find((p) => p.isEnabled);
  const source = appPolicy ? "app" : input.tenantDefault.isEnabled ? "tenantDefault" : "none";
  const policy = appPolicy ?? (input.tenantDefault.isEnabled ? input.tenantDefault : undefined);
  const name = appPolicy ? `app policy ${appPolicy.id}` : "tenant default policy";
  if (!policy) return { passwordAdditionBlocked: false, source: "none", detail: "no app policy is assigned and the tenant default policy is disabled" };

  const created = input.appCreatedDateTime ?? UNKNOWN_CREATION;
  const createdMs = Date.parse(created);
  const active: PasswordRestrictionDoc[] = [];
  const spared: string[] = [];
  for (const r of policy.passwordCredentials) {
    if (r.restrictionType !== "passwordAddition" && r.restrictionType !== "passwordLifetime") continue;
    if (r.state === "disabled") continue;
    const after = r.restrictForAppsCreatedAfterDateTime;
    if (after && !(createdMs > Date.parse(after))) {
      spared.push(`${r.restrictionType} (applies to apps created after ${after}; this app was created ${created})`);
      continue;
    }
    active.push(r);
  }
  const blocked = active.some((r) => r.restrictionType === "passwordAddition");
  const lifetimes = active
    .filter((r) => r.restrictionType === "passwordLifetime" && typeof r.maxLifetime === "string")
    .map((r) => isoDurationToDays(r.maxLifetime as string))
    .filter((d): d is number => d !== undefined);

  const result: AppManagementPolicy = { passwordAdditionBlocked: blocked, source, policyId: policy.id, detail: "" };
  if (lifetimes.length > 0) result.maxPasswordLifetimeDays = Math.min(...lifetimes);
  const applied = [
    ...(blocked ? ["passwordAddition (new client secrets blocked)"] : []),
    ...(result.maxPasswordLifetimeDays !== undefined ? [`passwordLifetime (at most ${result.maxPasswordLifetimeDays} days)`] : []),
  ];
  result.detail =
    `${name}${source === "app" ? " (overrides the tenant default)" : ""}: ` +
    (applied.length ? `enforces ${applied.join(" and ")}` : "enforces no password restriction") +
    (spared.length ? `; not applied: ${spared.join("; ")}` : "");
  return result;
}

/** ISO 8601 duration (P90D, P1Y, P2W, P1DT12H …) to whole days, rounded down. */
export function isoDurationToDays(value: string): number | undefined {
  const m =
    /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      value.trim(),
    );
  if (!m || value.trim() === "P") return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  const days = n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4) + n(5) / 24 + n(6) / 1440 + n(7) / 86_400;
  return Math.floor(days);
}
