import type { z } from "zod";

/**
 * Turns zod's issues into lines an operator can act on: `path: what is wrong — how to fix it`.
 *
 * Schema authors write specific messages where they know a better fix (schema.ts, settings.ts);
 * everything else — wrong type, missing field, unknown field, bad enum value, out of range —
 * gets a generic message from `fixingErrorMap` below, so no zod default ("Invalid input") ever
 * reaches an operator.
 */

export const DOCS_REF = "docs/configuration.md";

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; issues: string[] };

/**
 * A given value as an error may show it: at most `max` characters, JSON-quoted, with control
 * characters, bidi controls, zero-width characters and lone surrogates made visible as \uXXXX.
 * A message must never carry more of the input than this (a 100,000-character key, a right-to-left
 * override that reorders the rest of the line in a terminal).
 */
export function quoted(value: string, max = 40): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut).replace(
    /[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff\ud800-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A plain field name is shown as is; anything else (odd characters, very long) only quoted and short. */
const PLAIN_KEY = /^[A-Za-z_$][\w$-]{0,39}$/;

/** `["sets", 0, "gateway", "maxConcurrency"]` → `sets[0].gateway.maxConcurrency`. */
export function renderPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const key = String(seg);
      out += PLAIN_KEY.test(key) ? (out === "" ? key : `.${key}`) : `[${quoted(key)}]`;
    }
  }
  return out === "" ? "(root)" : out;
}

/**
 * Parses `input` and, on failure, returns every problem as one rendered line.
 * `pathPrefix` is prepended to every path (e.g. when the schema covers part of a larger document).
 */
export function parseWithFixes<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: { pathPrefix?: readonly PropertyKey[] } = {},
): ParseOutcome<z.output<S>> {
  // Known field names of every strict object that reported unknown keys, keyed by rendered path.
  // The final issues no longer carry the schema, so the error map records them on the way past.
  const knownFieldsAt = new Map<string, string[]>();
  const result = schema.safeParse(input, {
    error: (iss) => {
      if (iss.code === "unrecognized_keys") {
        const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
        if (shape) knownFieldsAt.set(renderPath(iss.path ?? []), Object.keys(shape));
      }
      return fixingErrorMap(iss);
    },
  });
  if (result.success) return { ok: true, value: result.data };

  const prefix = options.pathPrefix ?? [];
  const lines: string[] = [];
  for (const issue of result.error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const known = knownFieldsAt.get(renderPath(issue.path)) ?? [];
      for (const key of issue.keys) lines.push(`${renderPath([...path, key])}: ${unknownFieldMessage(key, known)}`);
    } else {
      lines.push(`${renderPath(path)}: ${issue.message}`);
    }
  }
  return { ok: false, issues: [...new Set(lines)] };
}

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

/**
 * The fallback error map: produces "what is wrong — how to fix it" for every issue a schema did
 * not word itself. Exported so other schemas (e.g. HTTP request bodies) can reuse it.
 */
function fixingErrorMap(iss: RawIssue): string {
  const raw: RawIssue & Record<string, unknown> = iss;
  switch (iss.code) {
    case "invalid_type":
      return invalidTypeMessage(String(raw.expected), iss.input, raw.format as string | undefined);
    case "too_small":
    case "too_big":
      return sizeMessage(iss.code, raw, iss.input);
    case "invalid_format":
      return formatMessage(raw);
    case "invalid_value": {
      const values = (raw.values as unknown[] | undefined) ?? [];
      return enumMessage(values, iss.input);
    }
    case "invalid_union": {
      if (typeof raw.discriminator === "string") {
        const options = ((raw.options as unknown[] | undefined) ?? []).map(String);
        const given = isRecord(iss.input) ? iss.input[raw.discriminator] : undefined;
        if (given === undefined) return `is required — set "${raw.discriminator}" to one of ${options.join(", ")}`;
        return enumMessage(options, given);
      }
      return `does not match any allowed form — compare it with the examples in ${DOCS_REF}`;
    }
    case "not_multiple_of":
      return `must be a multiple of ${String(raw.divisor)} — round it to one`;
    case "unrecognized_keys":
      // Rendered per key by parseWithFixes, which knows the object's fields.
      return `has unknown fields ${((raw.keys as string[] | undefined) ?? []).join(", ")} — remove them or check their spelling`;
    default:
      return `is invalid — check it against ${DOCS_REF}`;
  }
}

/** `unknown field "url" — …` with a spelling suggestion and the object's real fields. */
function unknownFieldMessage(rawKey: string, known: readonly string[]): string {
  // Quoted below as "${key}": the key as shown, escaped and short, without its own quotes.
  const key = PLAIN_KEY.test(rawKey) ? rawKey : quoted(rawKey).slice(1, -1);
  const knownList = known.length > 0 ? `; known fields: ${known.join(", ")}` : "";
  const secretField = known.find((k) => k.toLowerCase() === `${key.toLowerCase()}secretname`);
  if (secretField) {
    return `unknown field "${key}" — secret values never go in this file: store the value in Key Vault and set "${secretField}" to the secret's name${knownList}`;
  }
  if (/^(client_?secret|secret_?value|secret_?text|password)$/i.test(key)) {
    return `unknown field "${key}" — the client secret never goes in this file: it lives in Key Vault under keyVault.secretName; remove this field${knownList}`;
  }
  const suggestion = closest(key, known);
  if (suggestion) return `unknown field "${key}" — did you mean "${suggestion}"? Fix the spelling or remove it${knownList}`;
  if (/secret|password|token|api_?key|routing_?key/i.test(key)) {
    return `unknown field "${key}" — remove it or check its spelling; if it holds a secret value, keep that value in Key Vault instead${knownList}`;
  }
  return `unknown field "${key}" — remove it or check its spelling${knownList}`;
}

function invalidTypeMessage(expected: string, input: unknown, format: string | undefined): string {
  if (input === undefined) return `is required — add it (see ${DOCS_REF} for its format)`;
  if (input === null) return `is null — give a value, or leave the field out to use its default`;
  switch (expected) {
    case "int":
    case "number":
      if (typeof input === "number" && (expected === "int" || format === "safeint")) {
        if (!Number.isFinite(input)) return `must be a finite whole number — e.g. 30`;
        return `must be a whole number, not ${input} — e.g. ${Math.round(input)}`;
      }
      if (typeof input === "string" && input.trim() !== "" && Number.isFinite(Number(input))) {
        return `is the text "${input.trim()}", not a number — remove the quotes`;
      }
      return `must be a number, not ${describe(input)} — write a number without quotes, e.g. 4`;
    case "boolean":
      if (typeof input === "string" && /^(true|false)$/i.test(input.trim())) {
        return `is the text "${input.trim()}", not true/false — remove the quotes`;
      }
      return `must be true or false, not ${describe(input)} — write true or false without quotes`;
    case "string":
      return `must be text, not ${describe(input)} — put the value in double quotes`;
    case "array":
      if (typeof input === "string") return `must be a list, not a single text — wrap it in brackets: ["…"]`;
      return `must be a list, not ${describe(input)} — write it as [ … ]`;
    case "object":
      return `must be an object, not ${describe(input)} — write it as { … } with the fields described in ${DOCS_REF}`;
    default:
      return `must be ${expected}, not ${describe(input)} — fix the value's type`;
  }
}

interface Bounds {
  minValue?: number | null;
  maxValue?: number | null;
  minLength?: number | null;
  maxLength?: number | null;
}

function sizeMessage(code: "too_small" | "too_big", raw: Record<string, unknown>, input: unknown): string {
  const origin = String(raw.origin);
  const inclusive = raw.inclusive !== false;
  const bound = Number(code === "too_small" ? raw.minimum : raw.maximum);
  const schema = (raw.schema ?? {}) as Bounds;
  if (origin === "number" || origin === "int" || origin === "bigint") {
    const lo = schema.minValue;
    const hi = schema.maxValue;
    const range =
      typeof lo === "number" && Number.isFinite(lo) && typeof hi === "number" && Number.isFinite(hi)
        ? `use a value from ${lo} to ${hi}`
        : code === "too_small"
          ? `raise it`
          : `lower it`;
    if (code === "too_small") return `${inclusive ? `must be at least ${bound}` : `must be above ${bound}`}, not ${String(input)} — ${range}`;
    return `${inclusive ? `must be at most ${bound}` : `must be below ${bound}`}, not ${String(input)} — ${range}`;
  }
  if (origin === "string") {
    if (code === "too_small") {
      return bound <= 1 ? `must not be empty — give a value or leave the field out` : `must be at least ${bound} characters — lengthen it`;
    }
    return `must be at most ${bound} characters — shorten it`;
  }
  if (origin === "array") {
    if (code === "too_small") return bound <= 1 ? `must not be empty — list at least one item` : `must have at least ${bound} items — add more`;
    return `must have at most ${bound} items — remove some`;
  }
  return code === "too_small" ? `is too small (minimum ${bound}) — raise it` : `is too large (maximum ${bound}) — lower it`;
}

function formatMessage(raw: Record<string, unknown>): string {
  switch (raw.format) {
    case "starts_with":
      return `must start with "${String(raw.prefix)}" — add it`;
    case "ends_with":
      return `must end with "${String(raw.suffix)}" — add it`;
    case "includes":
      return `must contain "${String(raw.includes)}" — add it`;
    case "regex":
      return `has the wrong format — it must match ${String(raw.pattern)}`;
    default:
      return `is not a valid ${String(raw.format)} — correct it`;
  }
}

function enumMessage(values: readonly unknown[], given: unknown): string {
  const options = values.map((v) => String(v));
  if (options.length === 1) return `must be "${options[0]}" — set it to exactly that`;
  const guess = typeof given === "string" && given.length <= 200 ? closest(given, options) : undefined;
  const shown = typeof given === "string" && given.length <= 40 ? quoted(given) : describe(given);
  return `${shown} is not allowed — use one of ${options.join(", ")}${guess ? ` (did you mean "${guess}"?)` : ""}`;
}

/** A short, secret-free description of a value: strings are not echoed, only their shape. */
function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  switch (typeof v) {
    case "string":
      return "text";
    case "number":
      return `the number ${v}`;
    case "boolean":
      return String(v);
    case "object":
      return "an object";
    default:
      return typeof v;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The closest candidate within a small edit distance, for "did you mean …?". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === w ? 0 : levenshtein(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  if (best !== undefined && bestDistance <= allowed) return best;
  // A prefix counts too: "warn" → "warning".
  return candidates.find((c) => w.length >= 3 && c.toLowerCase().startsWith(w));
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
