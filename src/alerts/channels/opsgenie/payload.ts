import type { Severity } from "../../../config/schema.js";
import { plainIncident, plainText } from "../markup.js";
import { evidenceLines, eventLabel, truncate, type AlertEvent } from "../../model.js";

/**
 * Opsgenie (and Jira Service Management's Opsgenie-compatible) Alert API. The incident's dedup key
 * is the alias, so a second create with the same alias is deduplicated by Opsgenie (its count goes
 * up, and a manually closed alert is reopened) and the close is addressed by alias.
 * Limits: message ≤ 130, alias ≤ 512, description ≤ 15000, entity ≤ 512, source ≤ 100,
 * ≤ 20 tags of ≤ 50, details ≤ 8000 characters in total, note ≤ 25000.
 */
const OPSGENIE_LIMITS = {
  message: 130,
  alias: 512,
  description: 15_000,
  entity: 512,
  source: 100,
  tags: 20,
  tag: 50,
  detailsTotal: 8000,
  note: 25_000,
} as const;

export type OpsgeniePriority = "P1" | "P2" | "P3" | "P4" | "P5";

export function priorityFor(severity: Severity): OpsgeniePriority {
  return severity === "critical" ? "P1" : severity === "error" ? "P2" : severity === "warning" ? "P3" : "P5";
}

export interface OpsgenieCreateAlert {
  message: string;
  alias: string;
  description: string;
  tags: string[];
  details: Record<string, string>;
  entity: string;
  source: string;
  priority: OpsgeniePriority;
}

export function buildOpsgenieAlert(event: AlertEvent, source: string): OpsgenieCreateAlert {
  const i = plainIncident(event.incident);
  const evidence = evidenceLines(i.evidence);
  const description = [
    i.title,
    "",
    `What to do: ${i.hint}`,
    "",
    `Set: ${i.set}  Check: ${i.check}  Severity: ${i.severity}  Opened: ${i.openedAt}${i.runId ? `  Run: ${i.runId}` : ""}`,
    ...(evidence.length ? ["", "Evidence:", ...evidence.map((e) => `- ${e.key}: ${truncate(e.value, 1000)}`)] : []),
    ...(i.links.status ? ["", `Status: ${i.links.status}`] : []),
    ...(i.links.run ? [`Run journal: ${i.links.run}`] : []),
  ].join("\n");
  return {
    message: truncate(plainText(`[${i.set}] ${i.title}`), OPSGENIE_LIMITS.message),
    alias: truncate(i.dedupKey, OPSGENIE_LIMITS.alias),
    description: truncate(description, OPSGENIE_LIMITS.description),
    tags: [source, `set:${i.set}`, `check:${i.check}`, `severity:${i.severity}`].map((t) => truncate(t, OPSGENIE_LIMITS.tag)).slice(0, OPSGENIE_LIMITS.tags),
    details: details(event),
    entity: truncate(i.set, OPSGENIE_LIMITS.entity),
    source: truncate(source, OPSGENIE_LIMITS.source),
    priority: priorityFor(i.severity),
  };
}

/** Key/value strings within Opsgenie's 8000-character budget (keys + values). */
function details(event: AlertEvent): Record<string, string> {
  const i = plainIncident(event.incident);
  const out: Record<string, string> = {};
  let used = 0;
  const add = (k: string, v: string): void => {
    const value = truncate(v, 1000);
    if (used + k.length + value.length > OPSGENIE_LIMITS.detailsTotal) return;
    out[k] = value;
    used += k.length + value.length;
  };
  add("notification", eventLabel(event));
  add("set", i.set);
  add("check", i.check);
  add("severity", i.severity);
  add("hint", i.hint);
  if (i.runId) add("runId", i.runId);
  if (i.links.status) add("statusUrl", i.links.status);
  for (const e of evidenceLines(i.evidence)) add(`evidence.${e.key}`, e.value);
  return out;
}

export function buildOpsgenieNote(event: AlertEvent, source: string): { note: string; source: string } {
  const i = plainIncident(event.incident);
  const evidence = evidenceLines(i.evidence)
    .map((e) => `${e.key}: ${truncate(e.value, 500)}`)
    .join("; ");
  const text =
    event.type === "resolved"
      ? `Resolved by ${source} at ${i.resolvedAt ?? i.updatedAt}: the check is healthy again.`
      : `${eventLabel(event)} (${i.severity}): ${i.title}${evidence ? ` — ${evidence}` : ""}`;
  return { note: truncate(text, OPSGENIE_LIMITS.note), source: truncate(source, OPSGENIE_LIMITS.source) };
}
