import { plainIncident, plainText } from "../markup.js";
import { eventLabel, truncate, type AlertEvent } from "../../model.js";

/**
 * PagerDuty Events API v2. Alerts: `trigger` (opened/updated/repeat — PagerDuty dedups on
 * `dedup_key` and updates the open alert) and `resolve`. Informational events (rotation started /
 * succeeded) are Change Events, which never page. Limits: summary ≤ 1024, dedup_key ≤ 255,
 * whole event ≤ 512 KB (evidence is trimmed far below that).
 */
const PD_SUMMARY_MAX = 1024;
const PD_DEDUP_KEY_MAX = 255;
const CUSTOM_DETAILS_BUDGET = 64_000;

export interface PagerDutyAlertEvent {
  routing_key: string;
  event_action: "trigger" | "resolve";
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: "critical" | "error" | "warning" | "info";
    timestamp: string;
    component: string;
    group: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  client?: string;
  client_url?: string;
  links?: { href: string; text: string }[];
}

export interface PagerDutyChangeEvent {
  routing_key: string;
  payload: { summary: string; timestamp: string; source: string; custom_details: Record<string, unknown> };
  links?: { href: string; text: string }[];
}

export function buildPagerDutyAlert(event: AlertEvent, routingKey: string, source: string, now: Date): PagerDutyAlertEvent {
  event = { ...event, incident: plainIncident(event.incident) };
  const i = event.incident;
  const dedup_key = truncate(i.dedupKey, PD_DEDUP_KEY_MAX);
  if (event.type === "resolved") return { routing_key: routingKey, event_action: "resolve", dedup_key };
  const links = linksOf(event);
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key,
    payload: {
      summary: truncate(plainText(`[${i.set}] ${i.title}`), PD_SUMMARY_MAX),
      source: truncate(`${source}/${i.set}`, 255),
      severity: i.severity,
      timestamp: now.toISOString(),
      component: i.check,
      group: i.set,
      class: i.check,
      custom_details: details(event),
    },
    client: source,
    ...(i.links.status ? { client_url: i.links.status } : {}),
    ...(links.length ? { links } : {}),
  };
}

export function buildPagerDutyChange(event: AlertEvent, routingKey: string, source: string, now: Date): PagerDutyChangeEvent {
  event = { ...event, incident: plainIncident(event.incident) };
  const i = event.incident;
  const links = linksOf(event);
  return {
    routing_key: routingKey,
    payload: {
      summary: truncate(plainText(`[${i.set}] ${i.title}`), PD_SUMMARY_MAX),
      timestamp: now.toISOString(),
      source: truncate(`${source}/${i.set}`, 255),
      custom_details: details(event),
    },
    ...(links.length ? { links } : {}),
  };
}

/** The change-events endpoint beside the configured alert-events endpoint. */
export function changeEventsUrl(eventsUrl: string): string {
  const u = new URL(eventsUrl);
  u.pathname = u.pathname.replace(/\/enqueue\/?$/, "/change/enqueue");
  return u.toString();
}

function details(event: AlertEvent): Record<string, unknown> {
  const i = event.incident;
  const base = {
    notification: eventLabel(event),
    check: i.check,
    state: i.state,
    hint: i.hint,
    opened_at: i.openedAt,
    ...(i.runId ? { run_id: i.runId } : {}),
  };
  const evidence = JSON.stringify(i.evidence);
  return evidence.length <= CUSTOM_DETAILS_BUDGET ? { ...base, evidence: i.evidence } : { ...base, evidence: truncate(evidence, CUSTOM_DETAILS_BUDGET) };
}

function linksOf(event: AlertEvent): { href: string; text: string }[] {
  const l = event.incident.links;
  return [...(l.status ? [{ href: l.status, text: "mcp-sso-rotator status" }] : []), ...(l.run ? [{ href: l.run, text: "Rotation run journal" }] : [])];
}
