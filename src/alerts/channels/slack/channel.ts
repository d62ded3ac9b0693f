import type { AlertChannelConfig } from "../../../config/schema.js";
import { bodyText } from "../common.js";
import { createUrlWebhookChannel } from "../urlWebhook.js";
import type { AlertChannel, ChannelDeps } from "../types.js";
import { buildSlackMessage } from "./payload.js";

export type SlackChannelConfig = Extract<AlertChannelConfig, { kind: "slack" }>;

/**
 * Slack incoming webhook. Success is HTTP 200 with the literal body `ok`; failures carry a short
 * error string in a plain-text body, which we turn into a code and an operator hint.
 */
const SLACK_ERRORS: Record<string, { hint: string; retryable: boolean }> = {
  invalid_payload: { hint: "Slack could not parse the message; this is a bug in mcp-sso-rotator's Slack payload — report it.", retryable: false },
  no_text: { hint: "Slack received no text; this is a bug in mcp-sso-rotator's Slack payload — report it.", retryable: false },
  invalid_blocks: { hint: "Slack refused a block; this is a bug in mcp-sso-rotator's Slack payload — report it.", retryable: false },
  invalid_blocks_format: { hint: "Slack refused the blocks array; this is a bug in mcp-sso-rotator's Slack payload — report it.", retryable: false },
  too_many_attachments: { hint: "Slack refused the attachments; report this as a bug.", retryable: false },
  user_not_found: { hint: "The webhook targets a user that no longer exists; create a new incoming webhook and store its URL in Key Vault.", retryable: false },
  action_prohibited: { hint: "A workspace admin restricted this webhook; ask them to allow it or create a new one.", retryable: false },
  invalid_token: { hint: "The webhook URL's token is invalid; copy the webhook URL again into the Key Vault secret.", retryable: false },
  channel_not_found: {
    hint: "The webhook's channel was deleted; create a new incoming webhook for an existing channel and store its URL in Key Vault.",
    retryable: false,
  },
  channel_is_archived: { hint: "The webhook's channel is archived; unarchive it or create a webhook for another channel.", retryable: false },
  no_service: { hint: "The webhook was revoked or its app removed; create a new incoming webhook and store its URL in Key Vault.", retryable: false },
  no_service_id: { hint: "The webhook URL is incomplete; copy the full URL into the Key Vault secret.", retryable: false },
  no_team: { hint: "The webhook's workspace no longer exists or the URL is wrong; copy the full URL again.", retryable: false },
  team_disabled: { hint: "The Slack workspace is disabled; use another workspace's webhook.", retryable: false },
  posting_to_general_channel_denied: { hint: "Only admins may post to #general; pick another channel for the webhook.", retryable: false },
  rollup_error: { hint: "Slack failed on its side; the next report retries.", retryable: true },
  rate_limited: { hint: "Slack is throttling this webhook (about one message per second); the next report retries.", retryable: true },
};

export function createSlackChannel(deps: ChannelDeps<SlackChannelConfig>): AlertChannel {
  return createUrlWebhookChannel(deps, {
    kind: "slack",
    service: "Slack",
    urlHint: "Store the full incoming-webhook URL (https://hooks.slack.com/services/…) as the secret value.",
    build: buildSlackMessage,
    interpret(res, results) {
      const text = bodyText(res.data).trim();
      if (res.status === 200 && (text === "ok" || text === "")) return results.ok(res.status, res.attempts);
      const slackError = /^[a-z_]+$/.test(text) ? text : res.status === 429 ? "rate_limited" : undefined;
      const mapped = slackError ? SLACK_ERRORS[slackError] : undefined;
      if (slackError && mapped) {
        return results.failed({
          code: `ALERT_SLACK_${slackError.toUpperCase()}`,
          reason: `Slack answered ${res.status}: ${slackError}`,
          hint: mapped.hint,
          status: res.status,
          attempts: res.attempts,
          retryable: mapped.retryable,
        });
      }
      return results.httpFailure("Slack", res, text.slice(0, 200));
    },
  });
}
