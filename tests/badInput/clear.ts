import type { HttpResponseInit } from "@azure/functions";

/**
 * What "refused clearly" means for an HTTP answer: a 4xx with a stable code, the field it concerns
 * (in `field` and in the message), a message that says how to fix it, and no more than a short
 * escaped prefix of what was sent — no raw control characters, bidi overrides or lone surrogates.
 * Returns why an answer is not clear, or undefined.
 */
export function unclearRefusal(res: HttpResponseInit, expected: { status: number; field: string | RegExp }, sent: string): string | undefined {
  const body = res.jsonBody as { error?: { code?: string; message?: string; hint?: string; field?: string } } | undefined;
  const e = body?.error;
  if (res.status !== expected.status) return `status ${res.status} instead of ${expected.status}${e?.message ? `: ${e.message.slice(0, 200)}` : ""}`;
  if (!e?.code || !e.message || !e.hint) return "no code/message/hint";
  if (typeof e.field !== "string" || e.field === "") return "no field named";
  if (typeof expected.field === "string" ? e.field !== expected.field : !expected.field.test(e.field))
    return `field ${e.field} instead of ${String(expected.field)}`;
  if (e.field !== "(body)" && !e.message.includes(e.field)) return `message does not name ${e.field}: ${e.message}`;
  if (!/ — |must|at most|remove|use |send /i.test(e.message)) return `no fix in: ${e.message}`;
  if (e.field !== "(body)" && sent.includes(`"${e.field}":`) && /is required/.test(e.message)) return `says required for a field that was sent: ${e.message}`;
  const text = JSON.stringify(res.jsonBody);
  if (text.length > 2000) return `answer is ${text.length} characters`;
  if (sent.length > 40) {
    for (let i = 0; i + 41 <= sent.length; i += 20) if (text.includes(sent.slice(i, i + 41))) return "reflects the input";
  }
  if (unsafeChar(strings(JSON.parse(text)).join(""))) return "control characters, bidi controls or lone surrogates in the answer";
  for (const [k, v] of Object.entries((res.headers ?? {}) as Record<string, string>)) if (unsafeChar(`${k}${v}`)) return `unsafe character in header ${k}`;
  return undefined;
}

function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === "object") return [...Object.keys(v), ...Object.values(v).flatMap(strings)];
  return [];
}

/** C0 controls, DEL/C1, bidi overrides/isolates, zero-width characters and lone surrogates. */
export function unsafeChar(text: string): boolean {
  // Cc: C0, DEL and C1; Cs: with the u flag, only a surrogate without its pair.
  return /[\p{Cc}\p{Cs}\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u.test(text);
}
