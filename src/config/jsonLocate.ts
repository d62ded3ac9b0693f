/**
 * Finds where and why a JSON text is invalid. JSON.parse's messages differ between Node versions,
 * sometimes carry no position and sometimes quote the text itself; this small scanner gives a
 * stable line/column and an operator-worded reason, and never echoes the content.
 */
export interface JsonProblem {
  line: number;
  column: number;
  reason: string;
}

class Stop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Returns the first syntax problem, or undefined when the text is valid JSON. */
export function locateJsonProblem(text: string): JsonProblem | undefined {
  try {
    new Scanner(text).document();
    return undefined;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    return { ...lineColumn(text, err.offset), reason: err.reason };
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  document(): void {
    this.ws();
    this.value();
    this.ws();
    if (this.i < this.s.length) throw new Stop(this.i, "extra text after the end of the JSON document — remove it, or wrap everything in one { … }");
  }

  private ws(): void {
    while (this.i < this.s.length && " \t\r\n".includes(this.s[this.i]!)) this.i++;
  }

  private end(what: string): never {
    throw new Stop(this.s.length, `the text ends inside ${what} — add the missing closing bracket, brace or quote`);
  }

  private value(): void {
    const c = this.s[this.i];
    if (c === undefined) this.end("a value");
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const word of ["true", "false", "null"]) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    throw new Stop(this.i, this.unexpected("a value"));
  }

  private unexpected(expected: string): string {
    const c = this.s[this.i]!;
    if (c === "'") return `single quote where ${expected} was expected — JSON needs double quotes; replace ' with "`;
    if (c === "/" || c === "#") return `a comment where ${expected} was expected — JSON allows no comments; remove it`;
    if (/[A-Za-z_]/.test(c)) return `a bare word where ${expected} was expected — put text in double quotes; literals are true, false and null`;
    return `unexpected character where ${expected} was expected — remove it or fix the typo`;
  }

  private object(): void {
    this.i++; // {
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const c = this.s[this.i];
      if (c === undefined) this.end("an object");
      if (c === "}") throw new Stop(this.i, "a trailing comma before } — remove the last comma");
      if (c !== '"') throw new Stop(this.i, this.unexpected("a property name in double quotes"));
      this.string();
      this.ws();
      if (this.s[this.i] === undefined) this.end("an object");
      if (this.s[this.i] !== ":") throw new Stop(this.i, "missing : after the property name — write \"name\": value");
      this.i++;
      this.ws();
      this.value();
      this.ws();
      const next = this.s[this.i];
      if (next === undefined) this.end("an object");
      if (next === ",") {
        this.i++;
        continue;
      }
      if (next === "}") {
        this.i++;
        return;
      }
      throw new Stop(this.i, "missing , or } after a value — add the comma between the two properties");
    }
  }

  private array(): void {
    this.i++; // [
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] === undefined) this.end("a list");
      if (this.s[this.i] === "]") throw new Stop(this.i, "a trailing comma before ] — remove the last comma");
      this.value();
      this.ws();
      const next = this.s[this.i];
      if (next === undefined) this.end("a list");
      if (next === ",") {
        this.i++;
        continue;
      }
      if (next === "]") {
        this.i++;
        return;
      }
      throw new Stop(this.i, "missing , or ] after a list item — add the comma between the two items");
    }
  }

  private string(): void {
    this.i++; // opening quote
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.end("a text in quotes");
      if (c === '"') {
        this.i++;
        return;
      }
      if (c < " ") throw new Stop(this.i, "a line break or control character inside quotes — close the quote, or write \\n");
      if (c === "\\") {
        const e = this.s[this.i + 1];
        if (e === undefined) this.end("a text in quotes");
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) {
            throw new Stop(this.i, "\\u must be followed by 4 hex digits — fix the escape, e.g. \\u00e9");
          }
          this.i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) throw new Stop(this.i, `invalid escape \\${e} — write \\\\ for a backslash`);
        this.i += 2;
        continue;
      }
      this.i++;
    }
  }

  private number(): void {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i));
    if (!m) throw new Stop(this.i, "invalid number — write digits like 30 or 0.2 (no leading zeros, + sign or leading dot)");
    const after = this.s[this.i + m[0].length];
    if (after !== undefined && /[0-9.eE]/.test(after)) {
      throw new Stop(this.i, "invalid number — write digits like 30 or 0.2 (no leading zeros, + sign or leading dot)");
    }
    this.i += m[0].length;
  }
}
