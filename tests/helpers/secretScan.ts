import { expect } from "vitest";
/**
 * The secret scan every test that issues secrets ends with: register the secret values the
 * emulators issued (and any other secret the test handled), collect every text that leaves the
 * service — log lines, journals, alert payloads, HTTP answers, errors, Key Vault tags — and fail on
 * any occurrence, naming where it leaked but never printing the value itself.
 */
export interface Leak {
  where: string;
  secretHint: string;
}

export class SecretScanner {
  private readonly secrets = new Set<string>();
  private readonly texts: { where: string; text: string }[] = [];

  addSecrets(values: Iterable<string | undefined | null>): this {
    for (const v of values) if (v && v.length >= 8) this.secrets.add(v);
    return this;
  }

  collect(where: string, output: unknown): this {
    this.texts.push({ where, text: stringify(output) });
    return this;
  }

  collectAll(where: string, outputs: Iterable<unknown>): this {
    let i = 0;
    for (const o of outputs) this.collect(`${where}[${i++}]`, o);
    return this;
  }

  leaks(): Leak[] {
    const out: Leak[] = [];
    for (const { where, text } of this.texts) {
      for (const s of this.secrets) {
        if (text.includes(s) || text.includes(encodeURIComponent(s)) || text.includes(Buffer.from(s).toString("base64"))) {
          out.push({ where, secretHint: `${s.slice(0, 3)}…(${s.length} chars)` });
        }
      }
    }
    return out;
  }

  /**
   * The strict scan: any run of 8 or more characters of a secret, in the text itself or in what
   * the text decodes to (JSON escapes, percent-encoding, base64 and base64url at every alignment).
   * It decodes outputs rather than encoding secrets, so it does not share the redactor's method.
   */
  fragmentLeaks(min = 8): (Leak & { fragment: number; view: string })[] {
    const grams = new Map<string, string>();
    for (const s of this.secrets) for (let i = 0; i + min <= s.length; i++) grams.set(s.slice(i, i + min), s);
    const out: (Leak & { fragment: number; view: string })[] = [];
    for (const { where, text } of this.texts) {
      for (const [view, decoded] of decodedViews(text)) {
        for (let i = 0; i + min <= decoded.length; i++) {
          const s = grams.get(decoded.slice(i, i + min));
          if (s === undefined) continue;
          let len = min;
          while (i + len < decoded.length && s.includes(decoded.slice(i, i + len + 1))) len++;
          out.push({ where, view, fragment: len, secretHint: `${s.slice(0, 3)}…(${s.length} chars)` });
          i += len - 1;
        }
      }
    }
    return out;
  }

  /** Throws listing every fragment leak (see fragmentLeaks); returns the number of texts scanned. */
  assertNoFragments(min = 8): number {
    if (this.secrets.size === 0) throw new Error("secret scan: no secrets registered — the scan would prove nothing");
    const leaks = this.fragmentLeaks(min);
    if (leaks.length > 0) {
      const shown = leaks.slice(0, 30).map((l) => `  ${l.where} (${l.view}) holds ${l.fragment} chars of ${l.secretHint}`);
      throw new Error(`secret scan: ${leaks.length} fragment leak(s):\n${shown.join("\n")}`);
    }
    return this.texts.length;
  }

  /** Throws listing every leak; returns the number of texts scanned so a test can assert it scanned something. */
  assertClean(): number {
    if (this.secrets.size === 0) throw new Error("secret scan: no secrets registered — the scan would prove nothing");
    const leaks = this.leaks();
    if (leaks.length > 0) {
      throw new Error(`secret scan: ${leaks.length} leak(s):\n${leaks.map((l) => `  ${l.where} contains ${l.secretHint}`).join("\n")}`);
    }
    return this.texts.length;
  }
}

function stringify(output: unknown): string {
  if (typeof output === "string") return output;
  if (output instanceof Error) return `${output.name}: ${output.message}\n${output.stack ?? ""}\n${stringify((output as { cause?: unknown }).cause ?? "")}`;
  try {
    return JSON.stringify(output) ?? String(output);
  } catch {
    return String(output);
  }
}

/** The text and what it decodes to, each labelled, for the fragment scan. */
function decodedViews(text: string): [string, string][] {
  const views: [string, string][] = [["raw", text]];
  const unjson = (t: string): string => t.replace(/\\u([0-9a-fA-F]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/\\(["\\/])/g, "$1");
  const once = unjson(text);
  const twice = unjson(once);
  views.push(["json-unescaped", twice]);
  const pct = (t: string): string => t.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  views.push(["url-decoded", pct(twice)], ["form-decoded", pct(twice.replace(/\+/g, " "))]);
  const runs = twice.match(/[A-Za-z0-9+/_-]{11,}={0,2}/g) ?? [];
  const decoded: string[] = [];
  for (const run of runs) {
    const std = run.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    for (let k = 0; k < 4; k++) decoded.push(Buffer.from(std.slice(k), "base64").toString("latin1"));
  }
  if (decoded.length > 0) views.push(["base64-decoded", decoded.join("\u0000")]);
  return views;
}

/** A started emulator fixture: what its emulator issued and logged, and how to stop it. */
interface ScannableFixture {
  emulator: { issuedSecrets(): Iterable<string>; server: { requests: Iterable<unknown> } };
  close(): Promise<void>;
}

/**
 * The end of a test file that issued secrets: every secret the emulator issued is looked for in
 * `collected` (errors, answers the tests kept) and in the emulator's own request log, then the
 * fixture closes. A scan that read nothing fails, since it would prove nothing.
 */
export async function closeScanned(fx: ScannableFixture, scan: SecretScanner, collected: Record<string, Iterable<unknown>> = {}): Promise<void> {
  scan.addSecrets(fx.emulator.issuedSecrets());
  for (const [where, outputs] of Object.entries(collected)) scan.collectAll(where, outputs);
  scan.collectAll("emulator log", fx.emulator.server.requests);
  await fx.close();
  expect(scan.assertClean()).toBeGreaterThan(0);
}
