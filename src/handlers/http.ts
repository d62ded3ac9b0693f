import type { HttpResponseInit } from "@azure/functions";
import type { ErrorCode } from "../errorCodes.js";
import type { RotatorError } from "../errors.js";

/** Every error answer has one shape: { error: { code, message, hint, field? } }. */
export function errorResponse(status: number, code: ErrorCode, message: string, hint: string, extra: Record<string, unknown> = {}): HttpResponseInit {
  return { status, jsonBody: { error: { code, message, hint, ...extra } }, headers: { "Cache-Control": "no-store" } };
}

export function fromRotatorError(err: RotatorError, status = err.status ?? 500): HttpResponseInit {
  return errorResponse(status, err.code, err.message, err.hint);
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { "Cache-Control": "no-store", ...headers } };
}

/** Our request bodies are a few hundred bytes; anything this large is refused unread-through. */
const MAX_BODY_CHARS = 16 * 1024;

export async function readJsonBody(text: () => Promise<string>): Promise<{ ok: true; value: unknown } | { ok: false; response: HttpResponseInit }> {
  const raw = await text();
  if (raw.length > MAX_BODY_CHARS) {
    return {
      ok: false,
      response: errorResponse(413, "BODY_TOO_LARGE", `The request body is ${raw.length} characters — send at most ${MAX_BODY_CHARS}`, 'Send only the documented fields, e.g. {"set":"cequence-sso","mode":"force"}.', { field: "(body)" }),
    };
  }
  if (raw.trim() === "") return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    // JSON.parse's own message quotes the input; ours shows only a short escaped prefix.
    return {
      ok: false,
      response: errorResponse(400, "INVALID_JSON", `The request body is not valid JSON (it starts ${shown(raw, 24)}) — send a JSON object with double-quoted field names`, 'Send a JSON object such as {"set":"cequence-sso","mode":"force"} with Content-Type: application/json.', {
        field: "(body)",
      }),
    };
  }
}

/**
 * A caller-supplied value as it may appear in an answer or a log: at most `max` characters, JSON-
 * escaped, with line breaks, control characters, bidi controls and lone surrogates made visible.
 * Never echo more than this.
 */
export function shown(value: string, max = 40): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What an endpoint accepts besides its route: methods, query parameters, and whether it reads a JSON body. */
export interface RequestRules {
  methods: readonly string[];
  /** Query parameters the endpoint reads; `code` (the function key) is always allowed. */
  query?: readonly string[];
  body: "json" | "none";
}

/** The minimal view of an HttpRequest the guard needs (the host's HttpRequest satisfies it). */
export interface GuardedRequest {
  method: string;
  query: URLSearchParams;
  headers: { get(name: string): string | null };
}

const FUNCTION_KEY_PARAM = "code";

/**
 * The checks every endpoint makes before it reads anything: the method (the host routes by method,
 * but a handler must not act on a request it was never meant to take), the query string (an unknown
 * parameter is refused like an unknown body field, so a typo such as `?set=` never silently does
 * nothing), and the Content-Type of a JSON body (a form post or XML is refused, not parsed as JSON).
 * Answers name the offending part and the fix, and echo nothing beyond a short escaped prefix.
 */
export function requestProblem(request: GuardedRequest, rules: RequestRules): HttpResponseInit | undefined {
  const method = request.method.toUpperCase();
  if (!rules.methods.includes(method)) {
    const res = errorResponse(405, "METHOD_NOT_ALLOWED", `(method): ${shown(method, 16)} is not accepted here — use ${rules.methods.join(" or ")}`, `Send the request with ${rules.methods.join(" or ")}.`, { field: "(method)" });
    return { ...res, headers: { ...(res.headers as Record<string, string>), Allow: rules.methods.join(", ") } };
  }
  const allowed = new Set([FUNCTION_KEY_PARAM, ...(rules.query ?? [])]);
  const unknown = [...new Set([...request.query.keys()])].filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    const names = unknown.slice(0, 5).map((k) => `?${/^[A-Za-z0-9_.-]{1,40}$/.test(k) ? k : shown(k, 24)}`);
    const takes = rules.query?.length ? `this endpoint reads ${rules.query.map((q) => `?${q}`).join(", ")}` : "this endpoint reads no query parameters";
    return errorResponse(
      400,
      "UNKNOWN_QUERY_PARAMETER",
      `unknown query parameter(s) ${names.join(", ")}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ""} — remove them; ${takes}`,
      rules.body === "json" ? 'Put the request in the JSON body, e.g. {"set":"cequence-sso","mode":"force"}; send the function key in the x-functions-key header.' : "Call the URL without a query string; send the function key in the x-functions-key header.",
      { field: names[0] },
    );
  }
  const keys = request.query.getAll(FUNCTION_KEY_PARAM);
  if (keys.length > 1) {
    return errorResponse(400, "UNKNOWN_QUERY_PARAMETER", "?code: the function key is given more than once — send it once", "Send the function key once, preferably in the x-functions-key header.", { field: "?code" });
  }
  if (rules.body === "json") {
    const type = request.headers.get("content-type");
    if (type !== null && !isJsonMediaType(type)) {
      return errorResponse(415, "UNSUPPORTED_MEDIA_TYPE", `Content-Type: ${shown(type, 40)} is not JSON — send Content-Type: application/json`, "Send the body as JSON with the header Content-Type: application/json.", { field: "Content-Type" });
    }
  }
  return undefined;
}

/** `application/json` or a `+json` type, in UTF-8 (the only charset JSON allows on the wire, RFC 8259 §8.1). */
function isJsonMediaType(value: string): boolean {
  const [type = "", ...params] = value.split(";").map((p) => p.trim().toLowerCase());
  if (type !== "application/json" && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  return params.every((p) => !p.startsWith("charset=") || /^charset="?utf-8"?$/.test(p));
}
