import { teamsMarkdown } from "../markup.js";
import { evidenceLines, eventLabel, truncate, type AlertEvent } from "../../model.js";

/**
 * A Teams Workflows ("When a Teams webhook request is received") message: an Adaptive Card in a
 * message envelope. Workflows accept Adaptive Cards only (not the old connector MessageCard), and a
 * Teams message must stay under ~28 KB, so evidence is trimmed to fit.
 */
const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
/** Room left for the envelope, HTTP overhead and Teams' own additions. */
const BUDGET_BYTES = 24_000;

type CardElement = Record<string, unknown>;

export interface TeamsMessage {
  type: "message";
  attachments: { contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; contentUrl: null; content: AdaptiveCard }[];
}

interface AdaptiveCard {
  $schema: string;
  type: "AdaptiveCard";
  version: "1.4";
  msteams: { width: "Full" };
  body: CardElement[];
  actions: { type: "Action.OpenUrl"; title: string; url: string }[];
}

export function buildTeamsMessage(event: AlertEvent): TeamsMessage {
  let maxFacts = 25;
  let maxValue = 500;
  for (;;) {
    const msg = envelope(card(event, maxFacts, maxValue));
    if (Buffer.byteLength(JSON.stringify(msg)) <= BUDGET_BYTES || maxFacts === 0) return msg;
    maxFacts = Math.floor(maxFacts / 2);
    maxValue = Math.max(80, Math.floor(maxValue / 2));
  }
}

function envelope(content: AdaptiveCard): TeamsMessage {
  return { type: "message", attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content }] };
}

function card(event: AlertEvent, maxFacts: number, maxValue: number): AdaptiveCard {
  const i = event.incident;
  const resolved = event.type === "resolved";
  const color = resolved ? "good" : i.severity === "critical" || i.severity === "error" ? "attention" : i.severity === "warning" ? "warning" : "accent";
  // Facts and text blocks both render Markdown in Teams: every incident value is escaped (markup.ts).
  const facts = [
    { title: "Set", value: i.set },
    { title: "Check", value: i.check },
    { title: "Severity", value: i.severity },
    // An informational event is not an incident: no state or opening time to show.
    ...(event.type === "event"
      ? [{ title: "At", value: i.updatedAt }]
      : [
          { title: "State", value: i.state },
          { title: "Opened", value: i.openedAt },
        ]),
    ...(i.resolvedAt && event.type !== "event" ? [{ title: "Resolved", value: i.resolvedAt }] : []),
    ...(i.runId ? [{ title: "Run", value: i.runId }] : []),
  ].map((f) => ({ title: f.title, value: teamsMarkdown(f.value) }));
  const evidence = evidenceLines(i.evidence);
  const shown = evidence.slice(0, maxFacts).map((e) => ({ title: teamsMarkdown(truncate(e.key, 100)), value: teamsMarkdown(truncate(e.value, maxValue)) }));
  const body: CardElement[] = [
    { type: "TextBlock", text: `${eventLabel(event)}: ${teamsMarkdown(truncate(i.title, 280))}`, size: "Large", weight: "Bolder", wrap: true, color },
    { type: "FactSet", facts },
    { type: "TextBlock", text: `**What to do:** ${teamsMarkdown(truncate(i.hint, 1900))}`, wrap: true },
  ];
  if (shown.length > 0) {
    body.push({ type: "TextBlock", text: "Evidence", weight: "Bolder", wrap: true, spacing: "Medium" });
    body.push({ type: "FactSet", facts: shown });
    if (evidence.length > shown.length) {
      body.push({ type: "TextBlock", text: `…and ${evidence.length - shown.length} more (see /api/status)`, isSubtle: true, wrap: true });
    }
  }
  body.push({ type: "TextBlock", text: `Incident ${teamsMarkdown(i.dedupKey)}`, isSubtle: true, size: "Small", wrap: true });
  const actions: AdaptiveCard["actions"] = [];
  if (i.links.status) actions.push({ type: "Action.OpenUrl", title: "Open status", url: i.links.status });
  if (i.links.run) actions.push({ type: "Action.OpenUrl", title: "Open run journal", url: i.links.run });
  return {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    msteams: { width: "Full" },
    body,
    actions,
  };
}
