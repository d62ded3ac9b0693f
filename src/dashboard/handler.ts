import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { ensureRotatorError } from "../errors.js";
import type { BuiltRuntime } from "../runtime/createRuntime.js";
import { esc } from "./html.js";
import { renderDashboard } from "./render.js";
import { gatherStatus, type StatusSnapshot } from "./statusData.js";
import { requestProblem } from "../handlers/http.js";

/**
 * The page allows nothing but its own inline styles: no script, no frame, no external request.
 * A stray injection could therefore neither run nor phone home, on top of everything being escaped.
 */
export const DASHBOARD_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": DASHBOARD_CSP,
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/**
 * How long one gathered snapshot serves the page. Each open tab reloads every 60 s and every load
 * reads Graph and Key Vault per set; within this window, and while one read is under way, loads
 * share it (issue 26, defect 12), as GET /api/health shares its probes.
 */
export const DASHBOARD_CACHE_MS = 15_000;

/** GET /api/dashboard — the status page (function key), with each set's credentials read live. */
export function makeDashboardHandler(getRuntime: () => Promise<BuiltRuntime>) {
  // Per handler (one per Function App instance): the read under way, and the last one kept.
  let inFlight: Promise<StatusSnapshot> | undefined;
  let cached: { at: number; snapshot: StatusSnapshot } | undefined;
  const snapshotOnce = (runtime: BuiltRuntime): Promise<StatusSnapshot> => {
    const now = runtime.clock.now().getTime();
    if (cached && now - cached.at >= 0 && now - cached.at < DASHBOARD_CACHE_MS) return Promise.resolve(cached.snapshot);
    inFlight ??= gatherStatus(runtime, { timeline: true, recentRuns: 5 })
      .then((snapshot) => {
        cached = { at: runtime.clock.now().getTime(), snapshot };
        return snapshot;
      })
      .finally(() => (inFlight = undefined));
    return inFlight;
  };
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const refused = requestProblem(request, { methods: ["GET"], body: "none" });
    if (refused) return refused;
    const runtime = await getRuntime();
    try {
      const snapshot = await snapshotOnce(runtime);
      // Redact the data, THEN escape it (issue 26, defect 7): escaping first turns a secret holding
      // & ' " < > into a form the redactor does not know, and quotes into &quot; that by-name
      // patterns (client_secret="…") no longer match.
      const page = renderDashboard(runtime.redactor.redactJson(snapshot));
      // A second line of defence: every secret the runtime has seen is blanked before the page leaves.
      return { status: 200, headers: HEADERS, body: runtime.redactor.redact(page) };
    } catch (e) {
      const err = ensureRotatorError(e);
      context.error(`dashboard failed: ${err.code}: ${err.message}`);
      const r = (t: string | undefined): string => esc(runtime.redactor.redact(t ?? ""));
      const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>mcp-sso-rotator status</title></head><body><h1>Status unavailable</h1><p><code>${r(err.code)}</code> ${r(err.message)}</p><p>${r(err.hint)}</p></body></html>`;
      return { status: 503, headers: HEADERS, body: runtime.redactor.redact(page) };
    }
  };
}
