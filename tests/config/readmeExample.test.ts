import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadCredentialSets } from "../../src/config/load.js";

describe("the configuration overview's example (moved from the README to docs/configuration-overview.md)", () => {
  it("is the shipped example file, and it loads", () => {
    const readme = readFileSync("docs/configuration-overview.md", "utf8");
    const block = /<!-- example:credential-sets -->\s*```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(block, "docs/configuration-overview.md lost its complete credential-set example").toBeDefined();
    const file = readFileSync("docs/examples/credential-sets.example.json", "utf8");
    expect(JSON.parse(block!)).toEqual(JSON.parse(file));
    expect(loadCredentialSets({ json: block! }).map((s) => s.name)).toEqual(JSON.parse(file).sets.map((s: { name: string }) => s.name));
  });
});
