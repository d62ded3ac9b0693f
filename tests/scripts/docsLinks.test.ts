import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The README is a front door (issue 25): at most 200 lines, the rest in docs/. Moving text must
 * not break a link, so every relative link in README.md and docs/**.md must name a file that
 * exists and, with an anchor, a heading that file has.
 */
const README_MAX_LINES = 200;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? markdownFiles(full) : name.endsWith(".md") ? [full] : [];
  });
}

/** GitHub's heading anchor: lower case, punctuation other than - and _ dropped, spaces to -. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every `[label](target)` outside code blocks, with its line; external and mail links left out. */
function relativeLinks(file: string): { line: number; target: string }[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  lines.forEach((l, i) => {
    if (l.trimStart().startsWith("```")) fenced = !fenced;
    if (fenced) return;
    for (const m of l.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1]!)) out.push({ line: i + 1, target: m[1]! });
  });
  return out;
}

describe("the README front door and the docs it points to", () => {
  it(`README.md is at most ${README_MAX_LINES} lines and keeps the prerequisites and the two commands at the top`, () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme.trimEnd().split("\n").length).toBeLessThanOrEqual(README_MAX_LINES);
    const top = readme.slice(0, readme.indexOf("```bash\n") + 200);
    expect(top).toContain("npm ci && npm run demo");
    expect(top).toContain("npm test");
  });

  it("every relative link in README.md and docs/ names a file that exists, and an anchor that file has", () => {
    const files = ["README.md", ...markdownFiles("docs")];
    const broken: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const { line, target } of relativeLinks(file)) {
        checked++;
        const [pathPart, anchor] = target.split("#") as [string, string | undefined];
        const resolved = pathPart === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
        if (!existsSync(resolved)) broken.push(`${file}:${line} → ${target} (no such file)`);
        else if (anchor && resolved.endsWith(".md") && !anchorsOf(resolved).has(anchor)) broken.push(`${file}:${line} → ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });
});
