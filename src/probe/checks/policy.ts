import { effectiveLifetimeDays, renewalWindow } from "../../rotation/policy.js";
import { need, type CheckDefinition } from "../context.js";
import type { Evidence } from "../model.js";

/**
 * The app management policy in effect for the app (its own appManagementPolicy, else the tenant
 * default, each restriction only for apps created after its restrictForAppsCreatedAfterDateTime)
 * against what rotation needs: adding a password must be allowed, and a lifetime cap below
 * `lifetimeDays` shortens every new secret — the renewal window then follows the shorter lifetime.
 */
const EXEMPT_HINT =
  "Ask a tenant admin to exempt this app: assign it an appManagementPolicy without the restriction, " +
  "or move the default policy's restrictForAppsCreatedAfterDateTime past the app's creation date.";
const exempt = (): string => `${EXEMPT_HINT.charAt(0).toLowerCase()}${EXEMPT_HINT.slice(1)}`;

export const policyCheck: CheckDefinition = {
  id: "policy",
  title: "App management policy allows the rotation",
  async run(ctx, f) {
    const { set } = ctx;
    // A failure here (403 without Policy.Read.ApplicationConfiguration, a timeout) means the check could not run.
    const policy = need(await ctx.shared.policy(), "The app management policy");
    const lifetime = effectiveLifetimeDays(set, policy.maxPasswordLifetimeDays);
    const renewal = renewalWindow(set, lifetime);
    const evidence: Evidence = {
      policySource: policy.source,
      policyDetail: policy.detail,
      passwordAdditionBlocked: policy.passwordAdditionBlocked,
      configuredLifetimeDays: set.secret.lifetimeDays,
      effectiveLifetimeDays: lifetime,
      renewWindowDays: Math.round(renewal.days * 10) / 10,
      renewWindowBasis: renewal.basis,
    };
    if (policy.policyId) evidence.policyId = policy.policyId;
    if (policy.maxPasswordLifetimeDays !== undefined) evidence.maxPasswordLifetimeDays = policy.maxPasswordLifetimeDays;

    if (policy.passwordAdditionBlocked) {
      f.fail(
        "error",
        `the app management policy in effect forbids adding client secrets (${policy.detail}): the next rotation cannot create one`,
        `${EXEMPT_HINT} Until then the current secret runs out at its end date.`,
      );
    }
    const cap = policy.maxPasswordLifetimeDays;
    if (cap !== undefined && cap < set.secret.lifetimeDays) {
      f.warn(
        "warning",
        `the policy caps new secrets at ${cap} days, below the configured ${set.secret.lifetimeDays}: rotations create ${cap}-day secrets, renewed ${Math.round(renewal.days * 10) / 10} days before expiry`,
        `Set secret.lifetimeDays to ${cap} so the configuration says what happens, or ${exempt()}`,
      );
    }
    if (renewal.renewBeforeClamped) {
      f.warn(
        "warning",
        `secret.renewBeforeDays ${renewal.renewBeforeClamped.configuredDays} is not below the ${lifetime}-day effective lifetime: the rotator uses ${renewal.renewBeforeClamped.usedDays} days instead`,
        `Lower secret.renewBeforeDays below ${lifetime} (e.g. ${Math.max(1, Math.floor(lifetime / 4))}) so the configuration says what happens.`,
      );
    }
    return f.outcome(
      cap !== undefined
        ? `client secrets may be added; ${policy.detail}; renewal ${Math.round(renewal.days * 10) / 10} days before expiry`
        : `client secrets may be added without a lifetime cap (${policy.detail})`,
      evidence,
    );
  },
};
