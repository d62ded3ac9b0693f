import { describe, expect, it } from "vitest";
import { loadCredentialSets } from "../../src/config/load.js";
import { ConfigError, RotatorError } from "../../src/errors.js";
import { pathOf, validCequenceSet, validManualSet } from "../config/fixtures.js";
import { CONFIG_CASES, type RawJson } from "./configCases.js";
import { unsafeChar } from "./clear.js";

/**
 * Issue 10 item 6: at least 50 malformed credential-set files through the real loader. Each must
 * end in one ConfigError (a typed RotatorError, never a crash or another error type) with an issue
 * at the broken field's JSON path, worded `path: what is wrong — how to fix it`, echoing no more
 * than 40 characters of what was given and no raw control, bidi or zero-width characters.
 */
function validFile(): RawJson {
  return { sets: [validCequenceSet(), validManualSet()] };
}

describe("bad input: malformed credential-set files", () => {
  it(`${CONFIG_CASES.length} malformed files, each refused with a ConfigError naming the JSON path and the fix`, () => {
    // The table breaks a valid file; the valid file itself must load.
    expect(loadCredentialSets({ json: JSON.stringify(validFile()) })).toHaveLength(2);
    const unclear: string[] = [];
    for (const c of CONFIG_CASES) {
      let text: string;
      if (c.text) text = c.text();
      else {
        const file = validFile();
        c.mutate!(file);
        text = JSON.stringify(file);
      }
      let err: unknown;
      try {
        loadCredentialSets({ json: text });
      } catch (e) {
        err = e;
      }
      if (!(err instanceof ConfigError) || !(err instanceof RotatorError)) {
        unclear.push(`${c.name}: ${err === undefined ? "accepted" : `threw ${(err instanceof Error ? err.message : JSON.stringify(err)).slice(0, 120)}`}`);
        continue;
      }
      const line = err.issues.find((i) => (typeof c.path === "string" ? pathOf(i) === c.path : c.path.test(pathOf(i))));
      if (!line) {
        unclear.push(`${c.name}: no issue at ${String(c.path)}: ${err.issues.join(" | ").slice(0, 300)}`);
        continue;
      }
      if (!/^\S+: .+ — .+/s.test(line)) unclear.push(`${c.name}: no fix in ${line.slice(0, 200)}`);
      if (line.length > 600) unclear.push(`${c.name}: issue is ${line.length} characters`);
      if (unsafeChar(line)) unclear.push(`${c.name}: raw control/bidi/zero-width character in ${JSON.stringify(line.slice(0, 200))}`);
      // Nothing given is repeated beyond 40 characters (the file's own long values included).
      for (const long of text.match(/[^"\\{}[\],:]{41,}/g) ?? []) {
        for (let i = 0; i + 41 <= long.length; i += 997) if (line.includes(long.slice(i, i + 41))) unclear.push(`${c.name}: reflects the input`);
      }
      if (!err.message.includes(line.slice(0, 30))) unclear.push(`${c.name}: the error message does not carry the issue`);
    }
    expect(unclear).toEqual([]);
    expect(CONFIG_CASES.length).toBeGreaterThanOrEqual(50);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("bad input regressions: configuration", () => {
  const issuesFor = (mutate: (f: RawJson) => void): string[] => {
    const file = validFile();
    mutate(file);
    try {
      loadCredentialSets({ json: JSON.stringify(file) });
    } catch (e) {
      if (e instanceof ConfigError) return [...e.issues];
    }
    throw new Error("expected a ConfigError");
  };

  it("unknown key reflected raw: a 100,000-character field name came back whole in the path and the message", () => {
    const key = "k".repeat(100_000);
    const [line] = issuesFor((f) => ((f.sets as RawJson[])[0]![key] = 1));
    expect(line!.length).toBeLessThan(600);
    expect(line).toMatch(/^sets\[0\]\["k{40}…"\]: unknown field "k{40}…" — remove it/);
  });

  it("unknown key reflected raw: a line break or right-to-left override in a field name or a gateway or channel kind reached the operator unescaped (and a 10,000-character kind came back whole)", () => {
    const [key] = issuesFor((f) => ((f.sets as RawJson[])[0]!["evil\u202Ekey"] = 1));
    expect(key).toContain("evil\\u202ekey");
    expect(key).not.toContain("\u202E");
    const [kind] = issuesFor((f) => (((f.sets as RawJson[])[0]!.alerts as RawJson[])[0]!.kind = "teams\nERROR forged\u202E"));
    expect(kind).not.toMatch(/[\n\u202E]/);
    expect(kind).toContain('"teams\\nERROR forged\\u202e" is not a channel kind');
    const [gateway] = issuesFor((f) => ((f.sets as RawJson[])[0]!.gateway.kind = "k".repeat(10_000)));
    expect(gateway!.length).toBeLessThan(300);
  });
});
