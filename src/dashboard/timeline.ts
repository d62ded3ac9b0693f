import { DAY_MS } from "../clock.js";
import { esc, fmtDate, fmtDays } from "./html.js";
import type { CredentialRole, SetTimeline } from "./statusData.js";

/**
 * The expiry timeline as inline SVG: one bar per client secret of the app on a shared time axis,
 * with today, the renewal date and the grace window marked. Pure markup (no script, no external
 * font or image) so it renders in any browser, in a mail client and with JavaScript off. Every
 * element carries a class and data attributes naming what it shows, for people using the DOM
 * inspector and for the browser tests.
 */
const WIDTH = 480;
const PAD_X = 8;
const TOP = 46;
const ROW = 40;
const AXIS = 26;

export const ROLE_LABEL: Record<CredentialRole, string> = {
  current: "current",
  pending: "pending (new, not yet promoted)",
  previous: "previous (retires after grace)",
  managed: "managed (older)",
  unmanaged: "not managed by the rotator",
};

export function renderTimeline(setName: string, timeline: SetTimeline, now: Date): string {
  const creds = timeline.credentials;
  const nowMs = now.getTime();
  const points = [nowMs - 14 * DAY_MS, nowMs + 14 * DAY_MS];
  for (const c of creds) points.push(Date.parse(c.startDateTime), Date.parse(c.endDateTime));
  if (timeline.renewDueAt) points.push(Date.parse(timeline.renewDueAt));
  if (timeline.grace) points.push(Date.parse(timeline.grace.from), Date.parse(timeline.grace.until));
  const finite = points.filter(Number.isFinite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const span = Math.max(max - min, DAY_MS);
  const x = (t: number): number => PAD_X + ((t - min) / span) * (WIDTH - 2 * PAD_X);
  const height = TOP + Math.max(creds.length, 1) * ROW + AXIS;
  const axisY = height - AXIS;

  const parts: string[] = [];
  // Grace window first so bars and markers draw over it.
  if (timeline.grace) {
    const g1 = x(Date.parse(timeline.grace.from));
    const g2 = x(Date.parse(timeline.grace.until));
    parts.push(
      `<rect class="grace-window" data-from="${esc(timeline.grace.from)}" data-until="${esc(timeline.grace.until)}" x="${f(g1)}" y="${TOP - 6}" width="${f(Math.max(g2 - g1, 6))}" height="${f(axisY - TOP + 6)}"><title>grace window until ${esc(timeline.grace.until)}: the previous secret still works</title></rect>`,
      `<text class="marker-label grace-label" x="${f(clampText(g2 + 3))}" y="35">grace → ${esc(fmtDate(timeline.grace.until))}</text>`,
    );
  }

  creds.forEach((c, i) => {
    const y = TOP + i * ROW;
    const s = Date.parse(c.startDateTime);
    const e = Date.parse(c.endDateTime);
    const x1 = x(Number.isFinite(s) ? s : e);
    const x2 = x(e);
    const expired = c.daysLeft <= 0;
    const label = `${c.role === "unmanaged" ? "unmanaged" : c.role} · ${c.hint ?? "?"}… · ${fmtDays(c.daysLeft)}`;
    parts.push(
      `<g class="credential" data-role="${c.role}" data-key-id="${esc(c.keyId)}" data-end="${esc(c.endDateTime)}">`,
      `<text class="bar-label" x="${PAD_X}" y="${y + 13}">${esc(label)}</text>`,
      `<rect class="bar role-${c.role}${expired ? " expired" : ""}" data-role="${c.role}" data-key-id="${esc(c.keyId)}" x="${f(x1)}" y="${y + 18}" width="${f(Math.max(x2 - x1, 3))}" height="14" rx="3"><title>${esc(
        `${ROLE_LABEL[c.role]}: ${c.displayName ?? "(no name)"} — key ${c.keyId}, ${fmtDate(c.startDateTime)} → ${fmtDate(c.endDateTime)} (${fmtDays(c.daysLeft)})`,
      )}</title></rect>`,
      `</g>`,
    );
  });
  if (creds.length === 0) parts.push(`<text class="bar-label empty" x="${PAD_X}" y="${TOP + 20}">no client secret on the app</text>`);

  // Axis with month (or week) ticks.
  parts.push(`<line class="axis" x1="${PAD_X}" y1="${axisY}" x2="${WIDTH - PAD_X}" y2="${axisY}"/>`);
  for (const t of ticks(min, max)) {
    const tx = x(t.at);
    parts.push(
      `<line class="tick" x1="${f(tx)}" y1="${axisY}" x2="${f(tx)}" y2="${axisY + 4}"/><text class="tick-label" x="${f(tx)}" y="${axisY + 17}">${esc(t.label)}</text>`,
    );
  }

  if (timeline.renewDueAt && Number.isFinite(Date.parse(timeline.renewDueAt))) {
    const rx = x(Date.parse(timeline.renewDueAt));
    parts.push(
      `<line class="marker-renewal" data-at="${esc(timeline.renewDueAt)}" x1="${f(rx)}" y1="17" x2="${f(rx)}" y2="${axisY}"><title>renewal due ${esc(fmtDate(timeline.renewDueAt))}</title></line>`,
      `<text class="marker-label renewal-label" x="${f(clampText(rx + 3))}" y="23">renew ${esc(fmtDate(timeline.renewDueAt))}</text>`,
    );
  }
  const tx = x(nowMs);
  parts.push(
    `<line class="marker-today" data-at="${esc(now.toISOString())}" x1="${f(tx)}" y1="4" x2="${f(tx)}" y2="${axisY}"><title>today ${esc(fmtDate(now.toISOString()))}</title></line>`,
    `<text class="marker-label today-label" x="${f(clampText(tx + 3))}" y="12">today</text>`,
  );

  const summary = creds.map((c) => `${c.role} secret ${fmtDays(c.daysLeft)}`).join("; ") || "no client secret";
  return `<svg class="timeline" data-set="${esc(setName)}" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="${esc(`Expiry timeline of ${setName}: ${summary}`)}" xmlns="http://www.w3.org/2000/svg">${parts.join("")}</svg>`;
}

function clampText(x: number): number {
  // Keep a marker's label inside the picture; a label near the right edge starts further left.
  return Math.min(x, WIDTH - 175);
}

function f(n: number): string {
  return n.toFixed(1);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function ticks(min: number, max: number): { at: number; label: string }[] {
  const out: { at: number; label: string }[] = [];
  const days = (max - min) / DAY_MS;
  if (days <= 120) {
    // Weekly-ish ticks, at most seven.
    const step = Math.max(7, Math.ceil(days / 6)) * DAY_MS;
    for (let t = Math.ceil(min / DAY_MS) * DAY_MS; t <= max; t += step) {
      const d = new Date(t);
      out.push({ at: t, label: `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}` });
    }
    return out;
  }
  const months = days / 30.4;
  const every = Math.max(1, Math.ceil(months / 6));
  const d = new Date(min);
  let cursor = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  let i = 0;
  while (cursor <= max) {
    const c = new Date(cursor);
    if (i % every === 0) out.push({ at: cursor, label: `${MONTHS[c.getUTCMonth()]} ${String(c.getUTCFullYear()).slice(2)}` });
    cursor = Date.UTC(c.getUTCFullYear(), c.getUTCMonth() + 1, 1);
    i++;
  }
  return out;
}
