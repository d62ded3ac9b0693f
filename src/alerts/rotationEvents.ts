import type { RotationEvent } from "../rotation/model.js";
import type { RotationEventInput } from "./incidents.js";

/**
 * Glue from the rotation runner's events to `IncidentManager.rotationEvent`. A "waiting" pass that
 * made no progress because of errors is "stalled" (an incident once past the set's budget); any
 * other "waiting" pass moved the run and resolves that incident; "noop" announces nothing.
 */
export interface RotationEventContext {
  /** The current secret's expiry (SetState.currentExpiresOn); a failure inside the renewal window is critical. */
  secretExpiresOn?: Date | string;
  renewalWindowDays?: number;
}

export function toRotationEventInput(event: RotationEvent, context: RotationEventContext = {}): RotationEventInput | undefined {
  switch (event.type) {
    case "started":
      return { type: "started", runId: event.runId, mode: event.mode };
    case "succeeded":
      return { type: "succeeded", runId: event.runId, ...(event.detail ? { detail: event.detail } : {}) };
    case "failed":
      return {
        type: "failed",
        runId: event.runId,
        ...(event.step ? { step: event.step } : {}),
        ...(event.error ? { code: event.error.code, hint: event.error.hint, message: event.error.message } : {}),
        ...(context.secretExpiresOn !== undefined ? { secretExpiresOn: context.secretExpiresOn } : {}),
        ...(context.renewalWindowDays !== undefined ? { renewalWindowDays: context.renewalWindowDays } : {}),
        ...(event.targets?.stale?.length ? { staleTargets: event.targets.stale } : {}),
      };
    case "awaiting_confirmation":
      return { type: "awaiting_confirmation", runId: event.runId, targets: event.targets?.names ?? [] };
    case "waiting":
      if (event.stalled) {
        return {
          type: "stalled",
          runId: event.runId,
          since: event.stalled.since,
          budgetMs: event.stalled.budgetMs,
          gracePeriodHours: event.stalled.gracePeriodHours,
          ...(event.stalled.oldSecretExpiresOn ? { oldSecretExpiresOn: event.stalled.oldSecretExpiresOn } : {}),
          ...(event.step ? { step: event.step } : {}),
          ...(event.error ? { code: event.error.code, hint: event.error.hint, message: event.error.message } : {}),
        };
      }
      return event.error ? undefined : { type: "progressed", runId: event.runId };
    case "noop":
      return undefined;
  }
}
