/**
 * Secret redaction. Two layers: values we know are secret (registered as they pass through
 * our hands) are replaced wherever they appear — whole, as any fragment of 8 characters or more,
 * and in the encodings an upstream service may echo them in (base64, base64url, URL/form
 * encoding, JSON escaping) — and fields that are secret by name (client_secret, secretText,
 * clientSecret, Authorization …) are blanked even when we never saw their value.
 *
 * Fragments matter because texts get cut: an error body truncated one character before the end
 * of an echoed secret still carries 39 of its 40 characters. Callers must redact first and
 * truncate after (see `redactThenTruncate`), but matching fragments also covers texts cut
 * upstream, where we never saw the whole.
 */
const FIELD_PATTERNS: RegExp[] = [
  // Quotes may arrive escaped (\") when a JSON body is echoed inside another JSON string.
  /((?:client_secret|clientSecret|secretText|client_assertion|access_token|refresh_token|id_token|apiToken|routing_key|routingKey)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?)([^"'&\s,}\\]+)/gi,
  /(Authorization["']?\s*[:=]\s*["']?(?:Bearer|Basic|GenieKey)\s+)([^"'\s,}]+)/gi,
  /("value"\s*:\s*")((?:[^"\\]|\\.)*)(")/g,
  // user:password@ in any URL, whatever its source (a setting, an upstream's echo, an error).
  /(\b[a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>\\]+)(@)/gi,
];

export const REDACTED = "[REDACTED]";

/** Keys whose string values FIELD_PATTERNS blanks in text; redactJson blanks them field by field too. */
const SECRET_FIELD_NAMES = new Set([
  "client_secret",
  "clientSecret",
  "secretText",
  "client_assertion",
  "access_token",
  "refresh_token",
  "id_token",
  "apiToken",
  "routing_key",
  "routingKey",
  "value",
]);

/** The shortest run of a secret's characters that counts as a leak, and the shortest secret we track. */
const MIN_FRAGMENT = 8;

/**
 * Every form in which `value` may come back from a service that echoes it: raw, URL- and
 * form-encoded, JSON-escaped (once and twice), and base64/base64url at the three byte alignments
 * it can take inside a longer encoded blob. The last base64 group depends on what follows the
 * value, so it is dropped from the shifted forms.
 */
export function encodedForms(value: string): string[] {
  const forms = new Set<string>([value]);
  forms.add(encodeURIComponent(value));
  forms.add(new URLSearchParams({ v: value }).toString().slice(2));
  const json = JSON.stringify(value).slice(1, -1);
  forms.add(json);
  forms.add(JSON.stringify(json).slice(1, -1));
  const bytes = Buffer.from(value, "utf8");
  for (let shift = 0; shift < 3 && bytes.length - shift >= 6; shift++) {
    const part = bytes.subarray(shift);
    // Only whole 3-byte groups encode the same way wherever the value sits.
    const whole = part.subarray(0, part.length - (part.length % 3));
    const b64 = whole.toString("base64");
    forms.add(b64);
    forms.add(toBase64Url(b64));
    if (shift === 0) {
      const full = bytes.toString("base64");
      forms.add(full);
      forms.add(toBase64Url(full));
    }
  }
  return [...forms].filter((f) => f.length >= MIN_FRAGMENT);
}

/**
 * For an http(s) URL: the parts that carry its secret — path segments and query values of 16
 * characters or more (workflow IDs, signatures, tokens). Undefined for anything that is not a URL.
 */
function urlSecretParts(value: string): string[] | undefined {
  if (!/^https?:\/\//i.test(value)) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  const parts = new Set<string>();
  for (const seg of u.pathname.split("/")) if (seg.length >= 16) parts.add(decodeSafe(seg));
  for (const [, v] of u.searchParams) if (v.length >= 16) parts.add(v);
  if (u.password.length >= MIN_FRAGMENT) parts.add(decodeSafe(u.password));
  return [...parts];
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function toBase64Url(b64: string): string {
  return b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Encodings that spell every byte or character of a value with several characters: hex (lower and
 * upper case), fully percent-encoded bytes (lower and upper case) and fully `\u`-escaped UTF-16
 * units (lower and upper case). A fragment of these is MIN_FRAGMENT source units wide, so a window
 * is `width` times longer — a shorter window would match ordinary hex or escaped text.
 */
function wideForms(value: string): { width: number; form: string }[] {
  const bytes = Buffer.from(value, "utf8");
  const hex = bytes.toString("hex");
  const pct = hex.replace(/(..)/g, "%$1");
  let units = "";
  for (let i = 0; i < value.length; i++) units += `\\u${value.charCodeAt(i).toString(16).padStart(4, "0")}`;
  const forms = [
    { width: 2, form: hex },
    { width: 3, form: pct },
    { width: 6, form: units },
    // The same once more JSON-escaped: an escaped echo inside a JSON string we serialise again.
    { width: 7, form: units.replace(/\\u/g, "\\\\u") },
  ];
  return forms.flatMap((f) => [f, { width: f.width, form: f.form.toUpperCase().replace(/\\U/g, "\\u") }]);
}

/** Windows of one length and the bitmap of their first two UTF-16 units. */
class GramTable {
  readonly grams = new Set<string>();
  /** First two UTF-16 units of every gram, as a bitmap: most windows of a text are rejected without a substring. */
  readonly heads = new Uint32Array((65536 * 2) / 32);
  constructor(readonly length: number) {}

  add(gram: string): void {
    this.grams.add(gram);
    const h = headOf(gram, 0);
    this.heads[h >>> 5]! |= 1 << (h & 31);
  }

  /** Start offsets in `text` where a gram of this table begins. */
  *matches(text: string): Generator<number> {
    const last = text.length - this.length;
    for (let i = 0; i <= last; i++) {
      const h = headOf(text, i);
      if ((this.heads[h >>> 5]! & (1 << (h & 31))) === 0) continue;
      if (this.grams.has(text.slice(i, i + this.length))) yield i;
    }
  }
}

export class Redactor {
  private readonly secrets = new Set<string>();
  /** Whole values removed as they are (URL secrets, whose public parts are not fragments). */
  private readonly exact: string[] = [];
  /** Every window of every form of every secret, by window length (MIN_FRAGMENT × the form's width). */
  private readonly tables = new Map<number, GramTable>();

  /** Registers a value that must never appear in output. Short values are refused: they would redact noise. */
  add(value: string | undefined | null): void {
    if (!value || value.length < MIN_FRAGMENT || this.secrets.has(value)) return;
    this.secrets.add(value);
    const parts = urlSecretParts(value);
    if (parts !== undefined) {
      // A webhook URL: its scheme, host and route words are public and appear in ordinary text;
      // the whole URL is removed wherever it appears, fragments only of its secret-looking parts.
      for (const form of encodedForms(value)) this.exact.push(form);
      this.exact.sort((a, b) => b.length - a.length);
      for (const part of parts) this.addGrams(part);
      return;
    }
    this.addGrams(value);
  }

  private table(length: number): GramTable {
    let t = this.tables.get(length);
    if (!t) this.tables.set(length, (t = new GramTable(length)));
    return t;
  }

  private addGrams(value: string): void {
    const narrow = this.table(MIN_FRAGMENT);
    for (const form of encodedForms(value)) {
      for (let i = 0; i + MIN_FRAGMENT <= form.length; i++) narrow.add(form.slice(i, i + MIN_FRAGMENT));
    }
    for (const { width, form } of wideForms(value)) {
      const wide = this.table(MIN_FRAGMENT * width);
      // Windows start on a unit boundary: an echo's windows do too, at every unit of it.
      for (let i = 0; i + wide.length <= form.length; i += width) wide.add(form.slice(i, i + wide.length));
    }
  }

  has(value: string): boolean {
    return this.secrets.has(value);
  }

  /** How many secrets are registered (tests assert the scan had something to look for). */
  get size(): number {
    return this.secrets.size;
  }

  redact(text: string): string {
    return redactSecretFields(this.redactKnown(text));
  }

  /**
   * A JSON-able document with every secret removed, still the same shape. Redacting the serialised
   * text catches secrets split across fields; when that text no longer parses (a secret holding
   * quotes or backslashes ate part of the structure), each string is redacted on its own instead.
   */
  redactJson<T>(doc: T): T {
    const text = JSON.stringify(doc);
    if (text === undefined) return doc;
    const clean = this.redact(text);
    if (clean === text) return doc;
    try {
      return JSON.parse(clean) as T;
    } catch {
      return this.redactLeaves(doc) as T;
    }
  }

  private redactLeaves(v: unknown, key?: string): unknown {
    if (typeof v === "string") return key !== undefined && SECRET_FIELD_NAMES.has(key) ? REDACTED : this.redact(v);
    if (Array.isArray(v)) return v.map((x) => this.redactLeaves(x));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[this.redact(k)] = this.redactLeaves(x, k);
      return out;
    }
    return v;
  }

  /** Replaces every run of text covered by windows of known secrets' forms (overlapping runs merge). */
  private redactKnown(input: string): string {
    let text = input;
    for (const e of this.exact) if (text.includes(e)) text = text.split(e).join(REDACTED);
    if (text.length < MIN_FRAGMENT) return text;
    const spans: [number, number][] = [];
    for (const t of this.tables.values()) for (const i of t.matches(text)) spans.push([i, i + t.length]);
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0]);
    let out = "";
    let copied = 0;
    let [runStart, runEnd] = spans[0]!;
    for (const [start, end] of spans.slice(1)) {
      if (start <= runEnd) {
        runEnd = Math.max(runEnd, end);
        continue;
      }
      out += text.slice(copied, runStart) + REDACTED;
      copied = runEnd;
      runStart = start;
      runEnd = end;
    }
    return out + text.slice(copied, runStart) + REDACTED + text.slice(runEnd);
  }
}

/** 17-bit index from the first two UTF-16 units of `s` at `i` (collisions only cost a lookup). */
function headOf(s: string, i: number): number {
  return ((s.charCodeAt(i) << 7) ^ s.charCodeAt(i + 1)) & 0x1ffff;
}

function redactSecretFields(text: string): string {
  let out = text;
  for (const re of FIELD_PATTERNS) {
    // A pattern with two groups gets the match offset (a number) where a third group would be.
    out = out.replace(re, (_m, pre: string, _val: string, post: unknown) => `${pre}${REDACTED}${typeof post === "string" ? post : ""}`);
  }
  return out;
}

/**
 * Redacts, THEN cuts to `max` characters. The other order lets a secret straddle the cut and
 * survive as a fragment too short to match in full.
 */
export function redactThenTruncate(text: string, redactor: Redactor, max: number): string {
  const clean = redactor.redact(text);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
