import { plainText, slackMrkdwn } from "../markup.js";
import { evidenceLines, eventLabel, truncate, type AlertEvent } from "../../model.js";

/**
 * A Slack incoming-webhook message with Block Kit blocks. Limits kept: header text ≤ 150, section
 * text ≤ 3000, ≤ 10 fields of ≤ 2000, button text ≤ 75 and URL ≤ 3000, ≤ 50 blocks; `text` is the
 * notification fallback. User text is escaped (&, <, >) so it cannot form Slack links or mentions.
 */
const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  buttonText: 75,
  url: 3000,
  blocks: 50,
  text: 40_000,
} as const;

const EMOJI: Record<string, string> = { critical: ":rotating_light:", error: ":red_circle:", warning: ":warning:", info: ":information_source:" };

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

export function buildSlackMessage(event: AlertEvent): SlackMessage {
  const i = event.incident;
  const label = eventLabel(event);
  const emoji = event.type === "resolved" ? ":white_check_mark:" : (EMOJI[i.severity] ?? "");
  const field = (title: string, value: string): Record<string, unknown> => ({
    type: "mrkdwn",
    text: truncate(`*${title}*\n${slackMrkdwn(value)}`, SLACK_LIMITS.fieldText),
  });
  const fields = [
    field("Set", i.set),
    field("Check", i.check),
    field("Severity", i.severity),
    // An informational event is not an incident: no state or opening time to show.
    ...(event.type === "event" ? [field("At", i.updatedAt)] : [field("State", i.state), field("Opened", i.openedAt)]),
    ...(i.runId ? [field("Run", i.runId)] : []),
    ...(i.resolvedAt && event.type !== "event" ? [field("Resolved", i.resolvedAt)] : []),
  ].slice(0, SLACK_LIMITS.fields);

  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: truncate(plainText(`${label}: ${i.title}`), SLACK_LIMITS.headerText), emoji: true } },
    { type: "section", fields },
    { type: "section", text: { type: "mrkdwn", text: truncate(`*What to do:* ${slackMrkdwn(i.hint)}`, SLACK_LIMITS.sectionText) } },
  ];
  const lines = evidenceLines(i.evidence).map((e) => `• *${slackMrkdwn(e.key)}*: ${slackMrkdwn(truncate(e.value, 400))}`);
  if (lines.length > 0) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: truncate(`*Evidence*\n${lines.join("\n")}`, SLACK_LIMITS.sectionText) } });
  }
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: truncate(`${emoji} incident \`${i.dedupKey}\``, SLACK_LIMITS.sectionText) }] });
  const buttons: Record<string, unknown>[] = [];
  if (i.links.status && i.links.status.length <= SLACK_LIMITS.url) {
    buttons.push({ type: "button", text: { type: "plain_text", text: "Open status" }, url: i.links.status });
  }
  if (i.links.run && i.links.run.length <= SLACK_LIMITS.url) {
    buttons.push({ type: "button", text: { type: "plain_text", text: "Open run journal" }, url: i.links.run });
  }
  if (buttons.length > 0) blocks.push({ type: "actions", elements: buttons });

  return {
    // The fallback text is parsed like mrkdwn (mentions, links); the header block is plain_text and is not.
    text: truncate(`${emoji} [${label}] ${i.severity.toUpperCase()} ${slackMrkdwn(plainText(`${i.set}/${i.check}: ${i.title}`))}`, SLACK_LIMITS.text),
    blocks,
  };
}
