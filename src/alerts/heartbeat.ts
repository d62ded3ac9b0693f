import { ensureRotatorError } from "../errors.js";
import type { HttpClient } from "../http/client.js";
import type { CheckReport } from "./incidents.js";
import { ChannelSecret, hostOf, scrub } from "./channels/common.js";

/**
 * Two guards for "the service itself stopped": a ping to an external dead-man's switch after each
 * successful timer pass (healthchecks.io, Opsgenie/Better Stack heartbeats, …) — which pages when
 * the pings stop, even if this whole app is gone — and a liveness check the health timer runs
 * over the rotation timer's last completion.
 */
export interface PingHeartbeatOptions {
  /** The heartbeat URL; often a secret (it embeds a token), so it never appears in the result. */
  url: string;
  http: HttpClient;
  method?: "GET" | "POST" | "HEAD";
  headers?: Record<string, string>;
  timeoutInMs?: number;
  maxRetries?: number;
  abortSignal?: AbortSignal;
}

export interface HeartbeatResult {
  ok: boolean;
  status?: number;
  /** Secret-free: names the host only. */
  reason?: string;
}

/** Never throws: a failed ping must not fail the timer pass that just succeeded. */
export async function pingHeartbeat(o: PingHeartbeatOptions): Promise<HeartbeatResult> {
  const secrets = ChannelSecret.secretParts(o.url);
  try {
    const res = await o.http.request({
      method: o.method ?? "GET",
      url: o.url,
      headers: o.headers,
      timeoutInMs: o.timeoutInMs ?? 10_000,
      maxRetries: o.maxRetries ?? 2,
      // A ping is harmless to repeat.
      idempotent: true,
      throwOnHttpError: false,
      abortSignal: o.abortSignal,
      secrets,
    });
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, reason: `heartbeat at ${hostOf(o.url)} answered ${res.status}` };
  } catch (e) {
    return { ok: false, reason: scrub(`heartbeat at ${hostOf(o.url)} failed: ${ensureRotatorError(e).code}`, secrets) };
  }
}

export interface RotationTimerLivenessInput {
  /** When the rotation timer last completed a pass; undefined if never recorded. */
  lastCompletedAt: Date | string | undefined;
  /** The timer's schedule period (e.g. 6 h for "0 0 *\/6 * * *"). */
  schedulePeriodMs: number;
  now: Date;
  /** When the service started recording (a fresh deployment is not "dead" before its first pass). */
  since?: Date | string;
}

/**
 * Healthy while the rotation timer completed within two schedule periods; critical otherwise
 * (one missed pass can be a slow run or a platform hiccup; two is a dead timer). The result is
 * shaped for `IncidentManager.report(SERVICE_SET, HEARTBEAT_CHECK, …)`.
 */
export function checkRotationTimerLiveness(input: RotationTimerLivenessInput): CheckReport {
  const limitMs = 2 * input.schedulePeriodMs;
  const last = input.lastCompletedAt === undefined ? undefined : new Date(input.lastCompletedAt);
  const reference = last ?? (input.since === undefined ? undefined : new Date(input.since));
  const ageMs = reference ? input.now.getTime() - reference.getTime() : Number.POSITIVE_INFINITY;
  if (ageMs <= limitMs) return { healthy: true };
  const hours = (ms: number): number => Math.round((ms / 3_600_000) * 10) / 10;
  return {
    healthy: false,
    severity: "critical",
    title: last ? `Rotation timer has not completed for ${hours(ageMs)} h (two periods are ${hours(limitMs)} h)` : "Rotation timer has never completed a pass",
    hint: "Check the Function App is running (not stopped or out of quota), the rotation timer function is enabled, and its recent invocations in Application Insights; secrets are not being rotated meanwhile.",
    evidence: {
      lastCompletedAt: last ? last.toISOString() : null,
      schedulePeriodHours: hours(input.schedulePeriodMs),
      // The growing age is in the title only: evidence must stay stable or every pass re-notifies.
    },
  };
}
