import { printable } from "../../printable.js";
import type { Evidence, EvidenceValue, Incident } from "../model.js";

/**
 * The one escaping module for alert channel markup (issue 26, defect 1). Every value that comes
 * from outside — server names, credential display names, upstream messages — reaches a channel
 * through one of these, chosen by how that channel renders text, so a server named
 * `[Re-authenticate here](https://evil.example/login)` is shown as written, never as a link.
 * Our own markup (`**What to do:**`) is added around escaped values, never inside them.
 */

/**
 * Teams Adaptive Card TextBlock/FactSet Markdown: CommonMark backslash escapes for every character
 * that can open markup (emphasis, links, images, code, HTML, headings, lists, tables).
 */
export function teamsMarkdown(text: string): string {
  return printable(text, { keepNewlines: true })
    .replace(/[\\`*_~[\]()<>#|!{}]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([-+]|\d+\.)(?=\s)/gm, (_m, space: string, marker: string) => `${space}${marker.replace(/([-+.])$/, "\\$1")}`);
}

/** Slack mrkdwn: `&`, `<` and `>` are the only characters Slack asks to escape (links and mentions need `<`). */
export function slackMrkdwn(text: string): string {
  return printable(text, { keepNewlines: true }).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Plain-text fields (Opsgenie message/description/details, PagerDuty summary/details): they render
 * no markup, so a written link shows its real URL; what remains dangerous are control and bidi
 * characters, which could reorder what on-call reads. A one-line field gets no line breaks either.
 */
export function plainText(text: string, options: { multiline?: boolean } = {}): string {
  return printable(text, { keepNewlines: options.multiline === true });
}

/** Evidence with every string made plain text, keys included (nested values keep their shape). */
function plainEvidence(value: EvidenceValue): EvidenceValue {
  if (typeof value === "string") return plainText(value, { multiline: true });
  if (Array.isArray(value)) return value.map(plainEvidence);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [plainText(k), plainEvidence(v)]));
  return value;
}

/** The incident's outside text as plain text, for the plain-text channels (Opsgenie, PagerDuty). */
export function plainIncident(i: Incident): Incident {
  return {
    ...i,
    set: plainText(i.set),
    check: plainText(i.check),
    title: plainText(i.title),
    hint: plainText(i.hint, { multiline: true }),
    dedupKey: plainText(i.dedupKey),
    evidence: plainEvidence(i.evidence) as Evidence,
  };
}
