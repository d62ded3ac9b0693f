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

export async function readJsonBody(text: () => Promise<string>): Promise<{ ok: true; value: unknown } | { ok: false; response: HttpResponseInit }> {
  const raw = await text();
  if (raw.trim() === "") return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch (e) {
    return {
      ok: false,
      response: errorResponse(400, "INVALID_JSON", `The request body is not valid JSON: ${(e as Error).message}`, 'Send a JSON object such as {"set":"cequence-sso","mode":"force"} with Content-Type: application/json.', {
        field: "(body)",
      }),
    };
  }
}
