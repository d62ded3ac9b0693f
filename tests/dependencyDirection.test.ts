import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Issue 23 items 3 and 4, checked on the source itself (eslint's import-x/no-restricted-paths
 * guards the imports too): src/ and functions/ import nothing from tests/, emulators/ or scripts/;
 * and the engine reads a gateway adapter's capabilities, never its kind — a kind is compared only
 * in src/gateway/factory.ts and the config schema.
 */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

describe("dependency direction and adapter capabilities", () => {
  it("src/ and functions/ import nothing from tests/, emulators/ or scripts/", () => {
    const offenders = [...sources("src"), ...sources("functions")].flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*["']([^"']+)["']/g)]
        .map((m) => m[1]!)
        .filter((spec) => spec.startsWith(".") && /^(tests|emulators|scripts)\//.test(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec))))
        .map((spec) => `${file}: ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it("no gateway kind is compared outside src/gateway/factory.ts and src/config", () => {
    const kindCheck = /(?:gateway\w*|config|adapter)\.kind\s*[!=]==|case\s+["'](?:cequence|manual)["']|[!=]==\s*["'](?:cequence|manual)["']/;
    const offenders = sources("src")
      .filter((file) => file !== path.join("src", "gateway", "factory.ts") && !file.startsWith(path.join("src", "config") + path.sep))
      .flatMap((file) =>
        readFileSync(file, "utf8")
          .split("\n")
          .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
          .filter(({ line }) => kindCheck.test(line))
          .map(({ at, line }) => `${at}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });
});
