import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { ensureRotatorError } from "../errors.js";
import type { BuiltRuntime } from "../runtime/createRuntime.js";
import { esc } from "./html.js";
import { renderDashboard } from "./render.js";
import { gatherStatus } from "./statusData.js";
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

/** GET /api/dashboard — the status page (function key), with each set's credentials read live. */
export function makeDashboardHandler(getRuntime: () => Promise<BuiltRuntime>) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const refused = requestProblem(request, { methods: ["GET"], body: "none" });
    if (refused) return refused;
    const runtime = await getRuntime();
    try {
      const snapshot = await gatherStatus(runtime, { timeline: true, recentRuns: 5 });
      // A second line of defence: every secret the runtime has seen is blanked before the page leaves.
      return { status: 200, headers: HEADERS, body: runtime.redactor.redact(renderDashboard(snapshot)) };
    } catch (e) {
      const err = ensureRotatorError(e);
      context.error(`dashboard failed: ${err.code}: ${err.message}`);
      const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>mcp-sso-rotator status</title></head><body><h1>Status unavailable</h1><p><code>${esc(err.code)}</code> ${esc(err.message)}</p><p>${esc(err.hint)}</p></body></html>`;
      return { status: 503, headers: HEADERS, body: runtime.redactor.redact(page) };
    }
  };
}
