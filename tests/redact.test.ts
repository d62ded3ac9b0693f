import { describe, expect, it } from "vitest";
import { REDACTED, Redactor, encodedForms, redactThenTruncate } from "../src/redact.js";
import { SecretScanner } from "./helpers/secretScan.js";

/** The redactor: known secrets whole, as fragments of 8+ characters and in the encodings upstreams echo. */
const SECRET = 'Ab3Q~x/y+z=w&q"p\\r-0123456789abcdefghij';

function scanOf(where: string, text: string): SecretScanner {
  return new SecretScanner().addSecrets([SECRET]).collect(where, text);
}

describe("Redactor", () => {
  it("truncation before scrubbing: every prefix and suffix of 8+ characters of a secret is redacted", () => {
    const r = new Redactor();
    r.add(SECRET);
    for (let k = 8; k <= SECRET.length; k++) {
      const prefix = r.redact(`error near the cut: ${SECRET.slice(0, k)}`);
      const suffix = r.redact(`${SECRET.slice(SECRET.length - k)} <- tail`);
      expect(prefix).toContain(REDACTED);
      expect(scanOf(`prefix ${k}`, prefix).fragmentLeaks()).toEqual([]);
      expect(scanOf(`suffix ${k}`, suffix).fragmentLeaks()).toEqual([]);
    }
  });

  it("encoded secrets: base64, base64url, URL-, form- and JSON-encoded forms are redacted, also inside longer blobs", () => {
    const r = new Redactor();
    r.add(SECRET);
    const blobs = [
      Buffer.from(SECRET).toString("base64"),
      Buffer.from(SECRET).toString("base64url"),
      Buffer.from(`a${SECRET}zz`).toString("base64"),
      Buffer.from(`ab${SECRET}`).toString("base64url"),
      Buffer.from(`{"clientSecret_echo":"${SECRET}"}`).toString("base64"),
      encodeURIComponent(SECRET),
      new URLSearchParams({ s: SECRET }).toString(),
      JSON.stringify(SECRET),
      JSON.stringify(JSON.stringify({ v: SECRET })),
    ];
    for (const [i, blob] of blobs.entries()) {
      const out = r.redact(`upstream said: ${blob}`);
      expect(scanOf(`blob ${i}`, out).fragmentLeaks(), `blob ${i}`).toEqual([]);
    }
  });

  it("leaves unrelated text alone and only tracks values of 8 characters or more", () => {
    const r = new Redactor();
    r.add("short");
    r.add(SECRET);
    expect(r.size).toBe(1);
    expect(r.redact("a plain message about short things")).toBe("a plain message about short things");
  });

  it("lists the forms it matches, none shorter than a fragment", () => {
    expect(encodedForms(SECRET).every((f) => f.length >= 8)).toBe(true);
    expect(encodedForms(SECRET)).toContain(encodeURIComponent(SECRET));
  });

  it("credentials in app-setting URLs: user:password@ in any URL is redacted", () => {
    expect(new Redactor().redact("see https://ops:hunter2-pass@rotator.example.com/api")).toBe(`see https://${REDACTED}@rotator.example.com/api`);
  });

  it("match offset appended after a redacted field: a secret field is replaced by the marker alone, nothing after it", () => {
    // String.replace hands a two-group pattern's callback the match offset where a third group
    // would be; it used to be printed after the marker ("client_secret=[REDACTED]14").
    const r = new Redactor();
    expect(r.redact("form: client_secret=never-seen-before&scope=x")).toBe(`form: client_secret=${REDACTED}&scope=x`);
    expect(r.redact('{"access_token":"eyJabc.def.ghi","token_type":"Bearer"}')).toBe(`{"access_token":"${REDACTED}","token_type":"Bearer"}`);
    expect(r.redact("Authorization: Bearer abc.def.ghi")).toBe(`Authorization: Bearer ${REDACTED}`);
  });

  it("redactThenTruncate cuts after redacting, so the cut never leaves a fragment", () => {
    const r = new Redactor();
    r.add(SECRET);
    const text = `${"x".repeat(461)}${SECRET}`;
    const out = redactThenTruncate(text, r, 500);
    expect(scanOf("cut", out).fragmentLeaks()).toEqual([]);
  });
});

describe("Redactor on serialised JSON", () => {
  it("redactJson keeps the document's shape and removes every fragment, whatever the secret holds", () => {
    const odd = 'Ab3Q~q"p\\r\\"-0123456789"abc\\\\def';
    const r = new Redactor();
    r.add(odd);
    for (let k = 0; k <= odd.length; k++) {
      const doc = { a: odd.slice(0, k), b: [odd.slice(k), { c: `x${odd}y` }], d: JSON.stringify({ e: odd.slice(k) }), n: 5 };
      const out = r.redactJson(doc);
      expect(Object.keys(out)).toEqual(["a", "b", "d", "n"]);
      expect(new SecretScanner().addSecrets([odd]).collect(`offset ${k}`, out).fragmentLeaks()).toEqual([]);
    }
  });

  it("never splits a backslash escape (\\u0001, \\\\), so redacted JSON text still parses", () => {
    const ctl = "Ab3Q~x\u0001y\\0123456789abcdef\u0002ghij";
    const r = new Redactor();
    r.add(ctl);
    for (let k = 0; k <= ctl.length; k++) {
      for (const piece of [ctl.slice(0, k), ctl.slice(k)]) {
        const doc = JSON.stringify({ a: piece, b: [piece, { c: `x${piece}y` }] });
        expect(() => JSON.parse(r.redact(doc)), `offset ${k}`).not.toThrow();
      }
    }
  });
});

describe("Redactor and URL secrets", () => {
  it("removes a webhook URL and fragments of its signature and IDs, but not its public host and route words", () => {
    const url =
      "https://prod-01.westeurope.logic.azure.com/workflows/4f6c2a9e8b7d4c1a9e0f3b2c6d8a7e5f/triggers/manual/paths/invoke?api-version=2016-06-01&sig=Qx3kP9vT2mLw8Zr4YbN6cJ1hF5sD7gA0";
    const r = new Redactor();
    r.add(url);
    expect(r.redact(`posting to ${url}`)).toBe(`posting to ${REDACTED}`);
    const out = r.redact("Teams Workflows (prod-01.westeurope.logic.azure.com) failed; sig starts Qx3kP9vT2mLw and workflow 4f6c2a9e8b7d");
    expect(out).toContain("Teams Workflows (prod-01.westeurope.logic.azure.com)");
    expect(out).not.toContain("Qx3kP9vT");
    expect(out).not.toContain("4f6c2a9e8b7d");
  });
});

describe("issue 26, defect 6: redaction misses hex, \\u-escaped and lower-case percent-encoded forms", () => {
  const secret = "Zq8Q~hexEchoSecretValue0123456789abcdefg";
  const hex = Buffer.from(secret).toString("hex");
  const units = [...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
  const pct = hex.replace(/(..)/g, "%$1");
  /** Each encoding, and how many characters spell one character of the secret. */
  const FORMS: [string, string, number][] = [
    ["hex, lower case", hex, 2],
    ["hex, upper case", hex.toUpperCase(), 2],
    ["\\u-escaped, lower case", units.replace(/[A-F]/g, (c) => c.toLowerCase()), 6],
    ["\\u-escaped, upper case", units.toUpperCase().replace(/\\U/g, "\\u"), 6],
    ["percent-encoded, lower case", pct, 3],
    ["percent-encoded, upper case", pct.toUpperCase(), 3],
  ];
  /** Windows of the form that spell 8 characters of the secret: none may survive. */
  const survivors = (out: string, form: string, width: number): string[] => {
    const found: string[] = [];
    for (let i = 0; i + 8 * width <= form.length; i += width) if (out.includes(form.slice(i, i + 8 * width))) found.push(form.slice(i, i + 8 * width));
    return found;
  };

  it.each(FORMS)("%s: whole, cut, and inside longer text, no 8-character fragment survives", (_name, form, width) => {
    const r = new Redactor();
    r.add(secret);
    expect(form.length).toBe(secret.length * width);
    for (const text of [form, `echo: ${form} end`, form.slice(0, 20 * width), form.slice(15 * width), `${hex.slice(0, 6)}${form}`]) {
      expect(survivors(r.redact(text), form, width)).toEqual([]);
    }
  });

  it("other hex, escaped and percent-encoded text is left alone", () => {
    const r = new Redactor();
    r.add(secret);
    const other = [
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "caf\\u00e9 cr\\u00e8me \\u0041\\u0042\\u0043",
      "%7b%22a%22%3a1%7d",
      "FEDCBA9876543210FEDCBA9876543210",
    ];
    for (const t of other) expect(r.redact(t)).toBe(t);
  });
});
