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
const MAX_BODY_BYTES = 16 * 1024;

/** What readJsonBody needs of a request (the host's HttpRequest satisfies it). */
export interface BodyRequest {
  headers: { get(name: string): string | null };
  body: ReadableStream<Uint8Array> | null;
}

const tooLarge = (size: string): HttpResponseInit =>
  errorResponse(
    413,
    "BODY_TOO_LARGE",
    `The request body is ${size} — send at most ${MAX_BODY_BYTES} bytes`,
    'Send only the documented fields, e.g. {"set":"cequence-sso","mode":"force"}.',
    { field: "(body)" },
  );

/**
 * The body as text, read only up to the limit (issue 26, defect 10): a declared Content-Length
 * above it is refused before a byte is read, and a body without one (or with a false one) is read
 * chunk by chunk and dropped as soon as it passes the limit — never decoded whole.
 */
async function readLimited(request: BodyRequest): Promise<{ ok: true; text: string } | { ok: false; response: HttpResponseInit }> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (!/^\d{1,15}$/.test(declared.trim())) {
      return {
        ok: false,
        response: errorResponse(
          400,
          "INVALID_CONTENT_LENGTH",
          `Content-Length: ${shown(declared, 20)} is not a byte count`,
          "Send a valid Content-Length, or let your HTTP client set it.",
          { field: "Content-Length" },
        ),
      };
    }
    if (Number(declared) > MAX_BODY_BYTES) return { ok: false, response: tooLarge(`${Number(declared)} bytes (Content-Length)`) };
  }
  if (!request.body) return { ok: true, text: "" };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, response: tooLarge(`more than ${MAX_BODY_BYTES} bytes`) };
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks).toString("utf8") };
}

/**
 * The first key that occurs twice in one object, or undefined (issue 26, defect 11): JSON.parse
 * keeps the last, so {"mode":"scheduled","mode":"emergency"} ran as an emergency while a reviewer
 * or a proxy reading the first saw a scheduled check.
 */
function duplicateKey(text: string): string | undefined {
  // One pass without recursion over text JSON.parse accepted: 5,000 nested lists must not
  // overflow the stack the way a recursive visitor does.
  const open: (Set<string> | undefined)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") {
      open.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      open.push(undefined);
      expectKey = false;
    } else if (c === "}" || c === "]") {
      open.pop();
      expectKey = false;
    } else if (c === ",") {
      expectKey = open.at(-1) !== undefined;
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (expectKey) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        const keys = open.at(-1)!;
        if (keys.has(name)) return name;
        keys.add(name);
        expectKey = false;
      }
      i = end;
    }
  }
  return undefined;
}

export async function readJsonBody(request: BodyRequest): Promise<{ ok: true; value: unknown } | { ok: false; response: HttpResponseInit }> {
  const read = await readLimited(request);
  if (!read.ok) return read;
  const raw = read.text;
  if (raw.trim() === "") return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw) as unknown;
  } catch {
    // JSON.parse's own message quotes the input; ours shows only a short escaped prefix.
    return {
      ok: false,
      response: errorResponse(
        400,
        "INVALID_JSON",
        `The request body is not valid JSON (it starts ${shown(raw, 24)}) — send a JSON object with double-quoted field names`,
        'Send a JSON object such as {"set":"cequence-sso","mode":"force"} with Content-Type: application/json.',
        {
          field: "(body)",
        },
      ),
    };
  }
  const dup = duplicateKey(raw);
  if (dup !== undefined) {
    const name = /^[A-Za-z0-9_.-]{1,40}$/.test(dup) ? dup : shown(dup, 40);
    return {
      ok: false,
      response: errorResponse(
        400,
        "DUPLICATE_KEY",
        `${name}: the field is given more than once — send each field once`,
        "Remove the repeated field; the body must name each field once.",
        { field: name },
      ),
    };
  }
  return { ok: true, value };
}

/**
 * A caller-supplied value as it may appear in an answer or a log: at most `max` characters, JSON-
 * escaped, with line breaks, control characters, bidi controls and lone surrogates made visible.
 * Never echo more than this.
 */
export function shown(value: string, max = 40): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut).replace(
    /[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff\ud800-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
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
    const res = errorResponse(
      405,
      "METHOD_NOT_ALLOWED",
      `(method): ${shown(method, 16)} is not accepted here — use ${rules.methods.join(" or ")}`,
      `Send the request with ${rules.methods.join(" or ")}.`,
      { field: "(method)" },
    );
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
      rules.body === "json"
        ? 'Put the request in the JSON body, e.g. {"set":"cequence-sso","mode":"force"}; send the function key in the x-functions-key header.'
        : "Call the URL without a query string; send the function key in the x-functions-key header.",
      { field: names[0] },
    );
  }
  const keys = request.query.getAll(FUNCTION_KEY_PARAM);
  if (keys.length > 1) {
    return errorResponse(
      400,
      "UNKNOWN_QUERY_PARAMETER",
      "?code: the function key is given more than once — send it once",
      "Send the function key once, preferably in the x-functions-key header.",
      { field: "?code" },
    );
  }
  if (rules.body === "json") {
    const type = request.headers.get("content-type");
    if (type !== null && !isJsonMediaType(type)) {
      return errorResponse(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        `Content-Type: ${shown(type, 40)} is not JSON — send Content-Type: application/json`,
        "Send the body as JSON with the header Content-Type: application/json.",
        { field: "Content-Type" },
      );
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
