/**
 * The few HTML helpers the dashboard needs. Every piece of text that reaches the page goes through
 * `esc` — set names, key IDs, hints, error messages and incident titles all come from configuration
 * or from upstream services and may hold markup.
 */
export function esc(value: string | number | boolean | null | undefined): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** `2026-12-01 03:00 UTC` — one unambiguous format for people in any time zone. */
export function fmtTime(iso: string | undefined | null): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  return `${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function fmtDate(iso: string | undefined | null): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : String(iso);
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function fmtDays(days: number): string {
  const abs = Math.abs(days);
  const n = abs >= 10 ? Math.round(abs) : Math.round(abs * 10) / 10;
  return days < 0 ? `expired ${n} d ago` : `${n} d left`;
}

/** A fragment id safe in an `id` attribute and a URL fragment. */
export function anchor(setName: string): string {
  return `set-${setName.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}
