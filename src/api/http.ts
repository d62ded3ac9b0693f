import type { HttpResponseInit } from "@azure/functions";
import type { RotatorError } from "../errors.js";

/** Every error answer has one shape: { error: { code, message, hint, field? } }. */
export function errorResponse(status: number, code: string, message: string, hint: string, extra: Record<string, unknown> = {}): HttpResponseInit {
  return { status, jsonBody: { error: { code, message, hint, ...extra } }, headers: { "Cache-Control": "no-store" } };
}

export function fromRotatorError(err: RotatorError, status = err.status ?? 500): HttpResponseInit {
  return errorResponse(status, err.code, err.message, err.hint);
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { "Cache-Control": "no-store", ...headers } };
}

/** Our request bodies are a few hundred bytes; anything this large is refused unread-through. */
export const MAX_BODY_CHARS = 16 * 1024;

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
