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
const SLACK_ERROR_HINTS: Record<string, string> = {
  invalid_payload: "Slack could not parse the message; this is a bug in mcp-sso-rotator's Slack payload — report it.",
  no_text: "Slack received no text; this is a bug in mcp-sso-rotator's Slack payload — report it.",
  invalid_blocks: "Slack refused a block; this is a bug in mcp-sso-rotator's Slack payload — report it.",
  invalid_blocks_format: "Slack refused the blocks array; this is a bug in mcp-sso-rotator's Slack payload — report it.",
  too_many_attachments: "Slack refused the attachments; report this as a bug.",
  user_not_found: "The webhook targets a user that no longer exists; create a new incoming webhook and store its URL in Key Vault.",
  action_prohibited: "A workspace admin restricted this webhook; ask them to allow it or create a new one.",
  invalid_token: "The webhook URL's token is invalid; copy the webhook URL again into the Key Vault secret.",
  channel_not_found: "The webhook's channel was deleted; create a new incoming webhook for an existing channel and store its URL in Key Vault.",
  channel_is_archived: "The webhook's channel is archived; unarchive it or create a webhook for another channel.",
  no_service: "The webhook was revoked or its app removed; create a new incoming webhook and store its URL in Key Vault.",
  no_service_id: "The webhook URL is incomplete; copy the full URL into the Key Vault secret.",
  no_team: "The webhook's workspace no longer exists or the URL is wrong; copy the full URL again.",
  team_disabled: "The Slack workspace is disabled; use another workspace's webhook.",
  posting_to_general_channel_denied: "Only admins may post to #general; pick another channel for the webhook.",
  rollup_error: "Slack failed on its side; the next report retries.",
  rate_limited: "Slack is throttling this webhook (about one message per second); the next report retries.",
};

/** The errors that say Slack could not take the message now; every other one needs a person to fix the webhook or the payload. */
const SLACK_RETRYABLE_ERRORS: ReadonlySet<string> = new Set(["rollup_error", "rate_limited"]);

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
      const hint = slackError ? SLACK_ERROR_HINTS[slackError] : undefined;
      if (slackError && hint) {
        return results.failed({
          code: `ALERT_SLACK_${slackError.toUpperCase()}`,
          reason: `Slack answered ${res.status}: ${slackError}`,
          hint,
          status: res.status,
          attempts: res.attempts,
          retryable: SLACK_RETRYABLE_ERRORS.has(slackError),
        });
      }
      return results.httpFailure("Slack", res, text.slice(0, 200));
    },
  });
}
