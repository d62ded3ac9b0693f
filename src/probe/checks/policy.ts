import { renewWindowDays } from "../../rotation/policy.js";
import type { CheckContext, CheckDefinition } from "../context.js";
import { Findings, type CheckOutcome } from "../findings.js";
import type { Evidence } from "../model.js";

/**
 * The tenant's default app management policy against what rotation needs: adding a password must
 * be allowed, and a lifetime cap below `lifetimeDays` shortens every new secret (below the renewal
 * window it would make every pass rotate again).
 */
const EXEMPT_HINT =
  "Ask a tenant admin to exempt this app: assign it an appManagementPolicy without the restriction, " +
  "or move the default policy's restrictForAppsCreatedAfterDateTime past the app's creation date.";

export const policyCheck: CheckDefinition = {
  id: "policy",
  title: "Tenant app management policy allows the rotation",
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const { set, deps, signal } = ctx;
    const f = new Findings();
    // A failure here (403 without Policy.Read.All, a timeout) means the check could not run.
    const policy = await deps.graph.getAppManagementPolicy({ abortSignal: signal });
    const evidence: Evidence = {
      passwordAdditionBlocked: policy.passwordAdditionBlocked,
      configuredLifetimeDays: set.secret.lifetimeDays,
    };
    if (policy.maxPasswordLifetimeDays !== undefined) evidence.maxPasswordLifetimeDays = policy.maxPasswordLifetimeDays;

    if (policy.passwordAdditionBlocked) {
      f.fail(
        "error",
        "the tenant's app management policy forbids adding client secrets: the next rotation cannot create one",
        `${EXEMPT_HINT} Until then the current secret runs out at its end date.`,
      );
    }
    const cap = policy.maxPasswordLifetimeDays;
    if (cap !== undefined && cap < set.secret.lifetimeDays) {
      const window = renewWindowDays(set);
      if (cap <= window) {
        f.fail(
          "error",
          `the policy caps new secrets at ${cap} days, within the ${Math.round(window * 10) / 10}-day renewal window: every new secret would be due for renewal at once`,
          `Lower secret.lifetimeDays to ${cap} and renewBeforeDays/renewAtFraction so the renewal window is well below it, or ${EXEMPT_HINT.charAt(0).toLowerCase()}${EXEMPT_HINT.slice(1)}`,
        );
      } else {
        f.warn(
          "warning",
          `the policy caps new secrets at ${cap} days, below the configured ${set.secret.lifetimeDays}: rotations create ${cap}-day secrets`,
          `Set secret.lifetimeDays to ${cap} so the configuration says what happens, or ${EXEMPT_HINT.charAt(0).toLowerCase()}${EXEMPT_HINT.slice(1)}`,
        );
      }
    }
    return f.outcome(
      cap !== undefined
        ? `client secrets may be added; the policy's ${cap}-day cap allows the configured ${set.secret.lifetimeDays}-day lifetime`
        : "client secrets may be added without a lifetime cap",
      evidence,
    );
  },
};
