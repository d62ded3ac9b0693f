/**
 * Secret redaction. Two layers: values we know are secret (registered as they pass through
 * our hands) are replaced wherever they appear, and fields that are secret by name
 * (client_secret, secretText, clientSecret, Authorization …) are blanked even when we never
 * saw their value.
 */
const FIELD_PATTERNS: RegExp[] = [
  // Quotes may arrive escaped (\") when a JSON body is echoed inside another JSON string.
  /((?:client_secret|clientSecret|secretText|client_assertion|access_token|refresh_token|id_token|apiToken|routing_key|routingKey)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?)([^"'&\s,}\\]+)/gi,
  /(Authorization["']?\s*[:=]\s*["']?(?:Bearer|Basic|GenieKey)\s+)([^"'\s,}]+)/gi,
  /("value"\s*:\s*")((?:[^"\\]|\\.)*)(")/g,
];

export const REDACTED = "[REDACTED]";

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a value that must never appear in output. Short values are refused: they would redact noise. */
  add(value: string | undefined | null): void {
    if (value && value.length >= 8) this.secrets.add(value);
  }

  has(value: string): boolean {
    return this.secrets.has(value);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      if (out.includes(s)) out = out.split(s).join(REDACTED);
      const encoded = encodeURIComponent(s);
      if (encoded !== s && out.includes(encoded)) out = out.split(encoded).join(REDACTED);
    }
    return redactSecretFields(out);
  }
}

export function redactSecretFields(text: string): string {
  let out = text;
  for (const re of FIELD_PATTERNS) {
    out = out.replace(re, (_m, pre: string, _val: string, post?: string) => `${pre}${REDACTED}${post ?? ""}`);
  }
  return out;
}
