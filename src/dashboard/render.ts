import type { Incident } from "../alerts/model.js";
import type { CheckResult } from "../probe/model.js";
import { FINISHED, type RunJournal } from "../rotation/model.js";
import { pickupLine } from "../gateway/proof.js";
import { anchor, esc, fmtDate, fmtDays, fmtDuration, fmtTime } from "./html.js";
import type { SetStatus, StatusSnapshot } from "./statusData.js";
import { ROLE_LABEL, renderTimeline } from "./timeline.js";

/**
 * GET /api/dashboard: the whole status page as one self-contained HTML document — inline CSS, inline
 * SVG, no script, no external font, image or stylesheet — so it loads behind a strict CSP, with
 * JavaScript off and on a phone at 3 a.m. Sets that need someone come first.
 */
export type Verdict = "failing" | "unknown" | "rotating" | "attention" | "healthy";

const VERDICT_TEXT: Record<Verdict, string> = {
  failing: "FAILING",
  unknown: "UNKNOWN",
  rotating: "ROTATING",
  attention: "ATTENTION",
  healthy: "HEALTHY",
};

const VERDICT_RANK: Record<Verdict, number> = { failing: 0, unknown: 1, rotating: 2, attention: 3, healthy: 4 };

const failingCheck = (c: CheckResult): boolean => (c.status === "fail" || c.status === "error") && (c.severity === "error" || c.severity === "critical");

export function verdictOf(s: SetStatus): Verdict {
  const checks = s.probe?.checks ?? [];
  if (checks.some(failingCheck) || s.incidents.some((i) => i.severity === "critical" || i.severity === "error")) return "failing";
  if (s.lastRun && (s.lastRun.status === "failed" || s.lastRun.status === "needs_attention") && !s.activeRun) return "failing";
  // An open run whose last pass made no progress because of errors is not "rotating" (issue 25).
  if (s.activeRun && !FINISHED.has(s.activeRun.status) && s.activeRun.steps.at(-1)?.status === "waiting" && s.activeRun.steps.at(-1)?.error) return "failing";
  // A dependency that cannot be read, or nothing known yet: the page cannot vouch for the set (issue 25).
  if (s.unreadable?.length) return "unknown";
  if (s.activeRun && !FINISHED.has(s.activeRun.status)) return "rotating";
  if (s.unknowns?.length) return "unknown";
  if (checks.some((c) => c.status === "warn" || c.status === "fail" || c.status === "error") || s.incidents.length > 0) return "attention";
  return "healthy";
}

/**
 * What the verdict rests on, and how old that is: the stored probe's time (checks are the part
 * that goes stale), else the last run's. A verdict with neither rests on nothing (UNKNOWN).
 */
export function verdictAsOf(s: SetStatus, nowIso: string): { basis: "probe" | "run" | "none"; at: string | null; ageMs: number | null } {
  const at = s.probe?.startedAt ?? s.lastRun?.updatedAt;
  const basis = s.probe ? "probe" : s.lastRun ? "run" : "none";
  return { basis, at: at ?? null, ageMs: at ? Math.max(0, Date.parse(nowIso) - Date.parse(at)) : null };
}

/** "as of the probe at …, 3 h ago" — every verdict shows what it rests on and how old that is. */
function verdictAgeText(s: SetStatus, now: Date): string {
  const asOf = verdictAsOf(s, now.toISOString());
  return asOf.ageMs === null
    ? "nothing probed or run yet"
    : `as of the ${asOf.basis === "probe" ? "probe" : "last run"} at ${fmtTime(asOf.at)}, ${fmtDuration(asOf.ageMs)} ago`;
}

export function renderDashboard(snapshot: StatusSnapshot): string {
  const now = new Date(snapshot.at);
  const sets = [...snapshot.sets].sort((a, b) => VERDICT_RANK[verdictOf(a)] - VERDICT_RANK[verdictOf(b)] || a.set.localeCompare(b.set));
  const overview = sets
    .map((s) => {
      const v = verdictOf(s);
      return `<li><a href="#${anchor(s.set)}"><span class="badge v-${v}">${VERDICT_TEXT[v]}</span> ${esc(s.set)}</a>${s.current?.daysLeft !== undefined ? ` <span class="muted">secret ${esc(fmtDays(s.current.daysLeft))}</span>` : ""}</li>`;
    })
    .join("");
  const service = snapshot.serviceIncidents.length
    ? `<section class="card service" aria-labelledby="service-h"><h2 id="service-h">The rotator itself</h2>${renderIncidents(snapshot.serviceIncidents)}</section>`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<meta name="robots" content="noindex">
<title>mcp-sso-rotator status</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>mcp-sso-rotator status</h1>
<p class="muted">Generated ${esc(fmtTime(snapshot.at))} · refreshes every minute · ${sets.length} credential set${sets.length === 1 ? "" : "s"}</p>
<ul class="overview">${overview}</ul>
</header>
<main>
${service}
${sets.map((s) => renderSet(s, now)).join("\n")}
</main>
<footer class="muted">JSON: <code>GET /api/status</code> · CLI: <code>npx mcp-sso-rotator status</code></footer>
</body>
</html>
`;
}

function renderSet(s: SetStatus, now: Date): string {
  const v = verdictOf(s);
  const id = anchor(s.set);
  const facts: string[] = [
    `<dt>Client ID</dt><dd><code>${esc(s.clientId)}</code></dd>`,
    `<dt>Gateway</dt><dd>${esc(s.gatewayKind)}</dd>`,
    `<dt>Current secret</dt><dd>${s.current ? `<code>${esc(s.current.keyId)}</code>${s.current.expiresOn ? ` · expires ${esc(fmtDate(s.current.expiresOn))} (${esc(fmtDays(s.current.daysLeft ?? 0))})` : ""}` : "not known yet (no run has finished)"}</dd>`,
    `<dt>Next rotation</dt><dd>${esc(fmtDate(s.state.nextRotationAt))}</dd>`,
    `<dt>Last success</dt><dd>${esc(fmtTime(s.state.lastSuccessAt))}</dd>`,
  ];
  for (const u of s.unreadable ?? []) facts.push(`<dt>Unreadable</dt><dd class="unreadable">${esc(u.dependency)}: ${esc(u.code)} — ${esc(u.message)}</dd>`);
  if (s.unknowns?.length) facts.push(`<dt>Not known yet</dt><dd class="unknowns">${esc(s.unknowns.join("; "))}</dd>`);
  for (const c of s.expiring ?? [])
    facts.push(
      `<dt>Expires soon</dt><dd class="expiring">${esc(c.role)} <code>${esc(c.keyId.slice(0, 8))}…</code> ${esc(c.displayName ?? "")} ends ${esc(fmtDate(c.endDateTime))} (${esc(fmtDays(c.daysLeft))})</dd>`,
    );
  if (s.activeRun && !FINISHED.has(s.activeRun.status)) {
    facts.push(
      `<dt>Active run</dt><dd class="active-run"><code>${esc(s.activeRun.runId)}</code> ${esc(s.activeRun.status)} at step ${esc(s.activeRun.steps.at(-1)?.name ?? "plan")}${s.activeRun.steps.at(-1)?.detail ? ` — ${esc(s.activeRun.steps.at(-1)!.detail)}` : ""}</dd>`,
    );
  }
  return `<section class="card set v-${v}" id="${id}" data-set="${esc(s.set)}" data-verdict="${v}" aria-labelledby="${id}-h">
<h2 id="${id}-h"><span class="badge v-${v}">${VERDICT_TEXT[v]}</span> ${esc(s.set)} <span class="muted verdict-age">${esc(verdictAgeText(s, now))}</span></h2>
<dl class="facts">${facts.join("")}</dl>
<h3>Expiry timeline</h3>
${renderTimelineBlock(s, now)}
<h3>Targets</h3>
${renderTargets(s)}
<h3>Checks${s.probe ? ` <span class="muted">(probed ${esc(fmtTime(s.probe.startedAt))})</span>` : ""}</h3>
${renderChecks(s)}
<h3>Open incidents</h3>
${s.incidents.length ? renderIncidents(s.incidents) : `<p class="muted none">No open incident.</p>`}
<h3>Last runs</h3>
${renderRuns(s.recentRuns)}
${renderDelivery(s)}
</section>`;
}

function renderTimelineBlock(s: SetStatus, now: Date): string {
  const t = s.timeline;
  if (!t) return `<p class="muted">Timeline not read.</p>`;
  const warn = t.error
    ? `<p class="note">Could not read the app's credentials live (${esc(t.error.code)}: ${esc(t.error.message)}); showing what the run journal knows.</p>`
    : "";
  const legend = `<ul class="legend"><li><span class="sw role-current"></span>current</li><li><span class="sw role-pending"></span>pending</li><li><span class="sw role-previous"></span>previous</li><li><span class="sw role-unmanaged"></span>unmanaged</li><li><span class="sw today"></span>today</li><li><span class="sw renewal"></span>renewal due</li><li><span class="sw grace"></span>grace window</li></ul>`;
  const rows = t.credentials
    .map(
      (c) =>
        `<tr class="cred role-${c.role}"><td>${esc(ROLE_LABEL[c.role])}</td><td><code>${esc(c.keyId.slice(0, 8))}…</code> ${esc(c.hint ?? "?")}…<br><span class="muted">${esc(c.displayName ?? "(no name)")}</span></td><td class="nowrap">${esc(fmtDate(c.endDateTime))}<br><span class="muted">${esc(fmtDays(c.daysLeft))}</span></td></tr>`,
    )
    .join("");
  const marks = [
    t.renewDueAt ? `renewal due <strong>${esc(fmtDate(t.renewDueAt))}</strong>` : "",
    t.grace ? `grace window until <strong>${esc(fmtTime(t.grace.until))}</strong>` : "",
  ].filter(Boolean);
  return `${warn}<figure class="timeline-wrap">${renderTimeline(s.set, t, now)}<figcaption>${legend}${marks.length ? `<p>${marks.join(" · ")}</p>` : ""}</figcaption></figure>
<table class="creds"><thead><tr><th>role</th><th>secret</th><th>ends</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderTargets(s: SetStatus): string {
  const t = s.targets;
  const drift = s.probe?.checks.find((c) => c.id === "gateway-drift");
  const holding =
    drift && typeof drift.evidence["holdingCurrentSecret"] === "number" && typeof drift.evidence["targets"] === "number"
      ? `<p>Gateway now: <strong>${esc(drift.evidence["holdingCurrentSecret"])}/${esc(drift.evidence["targets"])}</strong> hold Key Vault's current secret (probe).</p>`
      : "";
  if (t.total === 0) return `${holding}<p class="muted none">No run has touched targets yet.</p>`;
  const stale = t.stale.length
    ? `<p>Not verified:</p><ul class="stale">${t.stale.map((x) => `<li><strong>${esc(x.name)}</strong>${x.code ? ` <code>${esc(x.code)}</code>` : ""}${x.message ? ` <span class="muted">${esc(x.message)}</span>` : ""}</li>`).join("")}</ul>`
    : "";
  const h = t.byHand;
  const byHand = h
    ? `<p>${h.confirmed.length}/${h.confirmed.length + h.unconfirmed.length} MCP servers confirmed by hand:</p><ul class="stale">${h.confirmed
        .map((c) => `<li><strong>${esc(c.name)}</strong> <span class="muted">by ${esc(c.by)}${c.at ? ` at ${esc(c.at)}` : ""}</span></li>`)
        .join("")}${h.unconfirmed.map((n) => `<li><strong>${esc(n)}</strong> <span class="muted">to update and confirm</span></li>`).join("")}</ul>`
    : "";
  const kinds = t.kinds?.length
    ? `<ul class="kinds">${t.kinds.map((k) => `<li class="${k.proven === k.targets ? "ok" : "bad"}">${esc(pickupLine(k))}</li>`).join("")}</ul>`
    : "";
  return `<p class="targets"><strong class="${t.verified === t.total ? "ok" : "bad"}">${t.verified}/${t.total}</strong> targets verified${t.runId ? ` <span class="muted">(run ${esc(t.runId)})</span>` : ""}</p>${kinds}${holding}${stale}${byHand}`;
}

function renderChecks(s: SetStatus): string {
  if (!s.probe) return `<p class="muted none">No probe result yet — run <code>npx mcp-sso-rotator probe</code>.</p>`;
  return `<ul class="checks">${s.probe.checks
    .map(
      (c) =>
        `<li class="check st-${c.status}" data-check="${esc(c.id)}" data-status="${esc(c.status)}"><span class="badge st-${c.status}">${esc(c.status.toUpperCase())}</span> <strong>${esc(c.id)}</strong>${c.status !== "pass" && c.status !== "skip" ? ` <span class="sev">${esc(c.severity)}</span>` : ""}${c.aadsts !== undefined ? ` <code>AADSTS${esc(c.aadsts)}</code>` : ""}<div>${esc(c.summary)}</div>${c.hint ? (c.status === "pass" || c.status === "skip" ? `<div class="hint-ok">→ ${esc(c.hint)}</div>` : `<div class="hint">→ ${esc(c.hint)}</div>`) : ""}</li>`,
    )
    .join("")}</ul>`;
}

function renderIncidents(incidents: Incident[]): string {
  return `<ul class="incidents">${incidents
    .map(
      (i) =>
        `<li class="incident sev-${esc(i.severity)}" data-key="${esc(i.dedupKey)}"><span class="badge sev-${esc(i.severity)}">${esc(i.severity.toUpperCase())}</span> <strong>${esc(i.title)}</strong><div class="hint">→ ${esc(i.hint)}</div><div class="muted">opened ${esc(fmtTime(i.openedAt))} · <code>${esc(i.dedupKey)}</code>${i.runId ? ` · run <code>${esc(i.runId)}</code>` : ""}</div></li>`,
    )
    .join("")}</ul>`;
}

function renderRuns(runs: RunJournal[]): string {
  if (runs.length === 0) return `<p class="muted none">No run yet.</p>`;
  return `<ul class="runs">${runs
    .map((r) => {
      const steps = r.steps
        .map(
          (st) =>
            `<li class="step st-${esc(st.status)}" title="${esc(st.detail ?? "")}">${esc(st.name)} <span class="muted">${esc(st.status === "done" ? "" : `${st.status} `)}${esc(fmtDuration(st.durationMs))}</span></li>`,
        )
        .join("");
      const total = r.steps.reduce((n, st) => n + st.durationMs, 0);
      return `<li class="run rs-${esc(r.status)}" data-run-id="${esc(r.runId)}"><div><span class="badge rs-${esc(r.status)}">${esc(r.status)}</span> <code>${esc(r.runId)}</code> <span class="muted">${esc(r.mode)} · ${esc(r.trigger)} · ${r.passes} pass${r.passes === 1 ? "" : "es"} · ${esc(fmtTime(r.createdAt))} · ${esc(fmtDuration(total))}</span></div>${steps ? `<ol class="steps">${steps}</ol>` : ""}${r.error ? `<div class="hint"><code>${esc(r.error.code)}</code> ${esc(r.error.message)} → ${esc(r.error.hint)}</div>` : ""}</li>`;
    })
    .join("")}</ul>`;
}

function renderDelivery(s: SetStatus): string {
  const failing = s.alertDelivery.filter((c) => c.consecutiveFailures > 0);
  if (!failing.length) return "";
  return `<h3>Alert channels failing</h3><ul class="incidents">${failing
    .map(
      (c) =>
        `<li><strong>${esc(c.channel)}</strong> (${esc(c.kind)}) ${c.consecutiveFailures}× <code>${esc(c.lastFailure?.code ?? "")}</code> <span class="hint">${esc(c.lastFailure?.hint ?? "")}</span></li>`,
    )
    .join("")}</ul>`;
}

const CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da;--cur:#2da44e;--pend:#0969da;--prev:#bf8700;--unm:#8c959f}
*{box-sizing:border-box}
body{margin:0;overflow-wrap:anywhere;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:980px;margin:0 auto;padding:12px 16px}
h1{font-size:1.4rem;margin:.3rem 0}
h2{font-size:1.2rem;margin:0 0 .5rem}
h3{font-size:1rem;margin:1.1rem 0 .4rem;border-bottom:1px solid var(--line);padding-bottom:2px}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.muted{color:var(--muted)}
.card{background:var(--card);border:1px solid var(--line);border-left-width:6px;border-radius:8px;padding:14px 16px;margin:0 0 18px}
.card.v-failing{border-left-color:var(--bad)}.card.v-rotating{border-left-color:var(--info)}.card.v-attention{border-left-color:var(--warn)}.card.v-healthy{border-left-color:var(--ok)}.card.v-unknown{border-left-color:var(--warn)}
.badge{display:inline-block;font-size:.75rem;font-weight:700;letter-spacing:.03em;padding:1px 7px;border-radius:10px;color:#fff;background:var(--muted);vertical-align:1px}
.v-failing.badge,.st-fail.badge,.st-error.badge,.sev-critical.badge,.sev-error.badge,.rs-failed.badge,.rs-needs_attention.badge{background:var(--bad)}
.v-rotating.badge,.rs-running.badge,.rs-waiting.badge,.rs-queued.badge,.sev-info.badge{background:var(--info)}
.v-attention.badge,.v-unknown.badge,.st-warn.badge,.sev-warning.badge,.rs-awaiting_confirmation.badge{background:var(--warn)}
.v-healthy.badge,.st-pass.badge,.rs-succeeded.badge{background:var(--ok)}
.overview{list-style:none;padding:0;margin:.4rem 0;display:flex;flex-wrap:wrap;gap:6px 18px}
.overview a{color:inherit;text-decoration:none;font-weight:600}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.timeline-wrap{margin:0}
svg.timeline{display:block;max-width:640px;height:auto;background:#fbfcfd;border:1px solid var(--line);border-radius:6px}
svg .bar-label,svg .tick-label,svg .marker-label{font:12px system-ui,sans-serif;fill:var(--fg)}
svg .tick-label{text-anchor:middle;fill:var(--muted);font-size:11px}
svg .axis,svg .tick{stroke:var(--muted);stroke-width:1}
svg .bar.role-current{fill:var(--cur)}svg .bar.role-pending{fill:var(--pend)}svg .bar.role-previous{fill:var(--prev)}svg .bar.role-managed{fill:#6e7781}svg .bar.role-unmanaged{fill:var(--unm)}
svg .bar.expired{fill:#fff;stroke:var(--bad);stroke-width:2;stroke-dasharray:4 2}
svg .marker-today{stroke:var(--bad);stroke-width:2}
svg .marker-renewal{stroke:var(--warn);stroke-width:2;stroke-dasharray:5 3}
svg .grace-window{fill:rgba(191,135,0,.16);stroke:rgba(191,135,0,.5)}
svg .today-label{fill:var(--bad);font-weight:700}svg .renewal-label{fill:var(--warn)}svg .grace-label{fill:#7d5a00}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85rem}
.sw{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:4px;vertical-align:0}
.sw.role-current{background:var(--cur)}.sw.role-pending{background:var(--pend)}.sw.role-previous{background:var(--prev)}.sw.role-unmanaged{background:var(--unm)}
.sw.today{background:var(--bad);width:3px}.sw.renewal{border-left:3px dashed var(--warn);width:3px;border-radius:0}.sw.grace{background:rgba(191,135,0,.25)}
table.creds{border-collapse:collapse;width:100%;margin-top:6px;font-size:.9rem}
table.creds th,table.creds td{text-align:left;border-top:1px solid var(--line);padding:4px 6px;vertical-align:top}
ul.checks,ul.incidents,ul.runs,ul.stale,ul.kinds{list-style:none;padding:0;margin:0}
ul.checks li,ul.incidents li,ul.runs>li{padding:6px 0;border-top:1px solid var(--line)}
ul.checks li:first-child,ul.incidents li:first-child,ul.runs>li:first-child{border-top:0}
.check.st-pass div{color:var(--muted)}
.hint-ok{font-size:.85rem}
.hint{color:#3d2a00;background:#fff8c5;border-radius:4px;padding:2px 6px;margin-top:3px}
.sev{font-size:.8rem;color:var(--muted)}
.targets strong.ok{color:var(--ok)}.targets strong.bad{color:var(--bad)}
.kinds li.bad{color:var(--bad)}
ol.steps{list-style:none;padding:0;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:4px}
ol.steps li{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 6px;font-size:.82rem}
ol.steps li.st-failed{border-color:var(--bad)}ol.steps li.st-waiting{border-color:var(--info)}
.note{background:#ddf4ff;border-radius:4px;padding:4px 8px}
footer{font-size:.85rem}
.nowrap{white-space:nowrap}
@media (max-width:600px){body{font-size:14px}header,main,footer{padding:8px 10px}.card{padding:10px 10px}.facts{grid-template-columns:1fr}.facts dt{margin-top:4px}
svg .bar-label{font-size:19px}svg .marker-label{font-size:17px}svg .tick-label{font-size:16px}}
`;
