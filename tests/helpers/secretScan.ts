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
