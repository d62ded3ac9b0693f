import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * DESIGN.md: emulators are written from the services' documentation and never import `src/` — a
 * bug shared by product and emulator would be invisible. (Their fidelity tests may use our clients
 * to cross-check the two sides; the emulators themselves may not.)
 */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

describe("emulators/", () => {
  it("imports nothing from src/ or from the test harness", () => {
    const offenders = sources("emulators").flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*["']([^"']+)["']/g)]
        .map((m) => m[1]!)
        .filter((spec) => /(^|\/)(src|tests)\//.test(path.posix.normalize(path.posix.join(path.dirname(file), spec))) || spec.includes("/src/"))
        .map((spec) => `${file}: ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});
