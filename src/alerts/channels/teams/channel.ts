import type { AlertChannelConfig } from "../../../config/schema.js";
import { bodyText } from "../common.js";
import { createUrlWebhookChannel } from "../urlWebhook.js";
import type { AlertChannel, ChannelDeps } from "../types.js";
import { buildTeamsMessage } from "./payload.js";

export type TeamsChannelConfig = Extract<AlertChannelConfig, { kind: "teams" }>;

/**
 * Microsoft Teams through a Workflows webhook (the replacement for Office 365 connectors). The URL,
 * including its `sig` signature, is the credential and lives in Key Vault. Workflows answer 202
 * once the request is queued; a card the flow cannot post fails later, inside the flow run.
 */
export function createTeamsChannel(deps: ChannelDeps<TeamsChannelConfig>): AlertChannel {
  return createUrlWebhookChannel(deps, {
    kind: "teams",
    service: "Teams Workflows",
    urlHint: "Store the full Workflows webhook URL (Teams channel → Workflows → 'Send webhook alerts to a channel') as the secret value.",
    build: buildTeamsMessage,
    interpret(res, results) {
      if (res.status === 200 || res.status === 202) return results.ok(res.status, res.attempts);
      const err = (res.data as { error?: { code?: string; message?: string } } | undefined)?.error;
      const upstream = err?.code ? `${err.code}${err.message ? ` — ${err.message}` : ""}` : bodyText(res.data).slice(0, 200);
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        return results.failed({
          code: res.status === 404 ? "ALERT_TEAMS_WORKFLOW_NOT_FOUND" : "ALERT_TEAMS_UNAUTHORIZED",
          reason: `Teams Workflows answered ${res.status}: ${upstream}`,
          hint:
            res.status === 404
              ? "The workflow was deleted or turned off; re-create it in the Teams channel and store its new URL in Key Vault."
              : "The webhook URL's signature (sig) was refused; copy the workflow's full URL again into the Key Vault secret.",
          status: res.status,
          attempts: res.attempts,
          retryable: false,
        });
      }
      return results.httpFailure("Teams Workflows", res, upstream);
    },
  });
}
