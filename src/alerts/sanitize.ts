import { REDACTED, Redactor } from "../redact.js";
import type { Evidence, EvidenceValue } from "./model.js";

/**
 * Incidents leave the service (chat messages, pages, webhooks), so everything a caller puts in a
 * title, hint or evidence passes through here first: known secret values (registered with the
 * redactor), fields that are secret by name, and anything shaped like an Entra client secret are
 * blanked — even when the caller made a mistake.
 */
const SECRET_KEY_SUFFIX =
  /(secret|secrets|secrettext|secretvalue|password|passwd|passphrase|token|apikey|routingkey|integrationkey|signingkey|privatekey|authorization|sig|connectionstring|webhookurl|hookurl)$/;
/** "clientSecret", "api_key", "routingKey" are secret by name; "secretName", "tokenUrl" are not. */
function isSecretKey(key: string): boolean {
  return SECRET_KEY_SUFFIX.test(key.toLowerCase().replace(/[^a-z0-9]/g, ""));
}
/** Entra client secrets since 2021: three characters, a digit, "Q~", then 31–34 characters. */
const ENTRA_SECRET = /[A-Za-z0-9_.~-]{3}\dQ~[A-Za-z0-9_.~-]{31,34}/g;
/** Query parameters that carry a credential (Teams Workflows `sig`, SAS tokens, function keys). */
const SECRET_QUERY = /([?&](?:sig|code|key|token|access_token|api[-_]?key)=)[^&#\s"']+/gi;

const MAX_DEPTH = 6;
const MAX_STRING = 4000;

export function sanitizeText(text: string, redactor?: Redactor): string {
  let out = (redactor ?? new Redactor()).redact(text);
  out = out.replace(ENTRA_SECRET, REDACTED).replace(SECRET_QUERY, `$1${REDACTED}`);
  return out.length > MAX_STRING ? `${out.slice(0, MAX_STRING - 1)}…` : out;
}

export function sanitizeEvidence(evidence: Evidence | undefined, redactor?: Redactor): Evidence {
  const out: Evidence = {};
  for (const [k, v] of Object.entries(evidence ?? {})) out[k] = isSecretKey(k) ? REDACTED : sanitizeValue(v, redactor, 0);
  return out;
}

function sanitizeValue(value: EvidenceValue, redactor: Redactor | undefined, depth: number): EvidenceValue {
  if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "string") return sanitizeText(value, redactor);
  if (depth >= MAX_DEPTH) return "[truncated]";
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => sanitizeValue(v, redactor, depth + 1));
  if (typeof value === "object") {
    const out: Record<string, EvidenceValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : sanitizeValue(v, redactor, depth + 1);
    return out;
  }
  // Functions, undefined, bigint …: not evidence.
  return String(value);
}

/** Structural equality of two JSON-able values (evidence comparison decides "updated"). */
export function sameEvidence(a: Evidence, b: Evidence): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(",")}}`;
}

/**
 * Removes what differs between two occurrences of the same failure (trace/correlation/request
 * GUIDs, timestamps, long hex IDs), so an error message can sit in evidence without turning every
 * run's failure into an "updated" notification.
 */
export function stableText(text: string): string {
  return text
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<id>")
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, "<time>")
    .replace(/\b[0-9a-f]{16,}\b/gi, "<id>");
}
