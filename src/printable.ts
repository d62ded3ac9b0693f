/**
 * Text from outside (a credential display name from Graph, a server name from the gateway, an
 * upstream message) reaches people: terminals, chat cards, pages, log lines. Control characters in
 * it can clear a screen, retitle a window, hide a hyperlink (OSC 8), rewrite a line (CR,
 * backspace), forge a log line (a newline) or disguise a URL (bidi overrides). This is the one
 * place that makes such text printable: each such character becomes a visible escape (`\u001b`),
 * so nothing is silently lost and nothing acts.
 */

/**
 * The control characters (Unicode category Cc: C0, DEL and C1), the line/paragraph separators and
 * the bidi marks, overrides and isolates.
 */
const CONTROL = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const CONTROL_BUT_NEWLINE = /(?!\n)[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const visible = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** Every control character as a visible `\uXXXX`; `keepNewlines` leaves \n alone (multi-line text). */
export function printable(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? CONTROL_BUT_NEWLINE : CONTROL, visible);
}

/**
 * JSON with every control character written as `\uXXXX` (the line breaks of indentation are not in strings):
 * JSON.stringify escapes C0 but leaves DEL, C1 (U+009B is a one-byte CSI on many terminals) and the
 * bidi controls raw. Inside JSON those can only occur in strings, so the result parses the same.
 */
export function printableJson(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? "null").replace(CONTROL_BUT_NEWLINE, visible);
}
