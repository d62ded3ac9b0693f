import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveChromium } from "../helpers/browser.js";

/**
 * Issue 21: every browser test finds Chromium one way, and a fresh machine with no system browser
 * still gets one from the lock file.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), "rotator-chromium-"));
const fake = path.join(dir, "chromium");
writeFileSync(fake, "#!/bin/sh\n");
chmodSync(fake, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("which Chromium the browser tests use", () => {
  it("CHROMIUM_PATH comes first, before a Chromium on PATH", async () => {
    const resolved = await resolveChromium({ CHROMIUM_PATH: "/bin/sh", PATH: dir });
    expect(resolved).toMatchObject({ source: "CHROMIUM_PATH", executablePath: "/bin/sh" });
  });

  it("a CHROMIUM_PATH that does not exist is an error naming it, not a silent fallback", async () => {
    await expect(resolveChromium({ CHROMIUM_PATH: path.join(dir, "nope"), PATH: dir })).rejects.toThrow(/CHROMIUM_PATH names .*nope, which does not exist/);
  });

  it("then a chromium or chromium-browser on PATH", async () => {
    const resolved = await resolveChromium({ PATH: ["/nonexistent", dir].join(path.delimiter) });
    expect(resolved).toMatchObject({ source: "PATH", executablePath: fake });
  });

  it("with neither, the build @sparticuz/chromium ships inside the npm package, unpacked to a real executable", async () => {
    const resolved = await resolveChromium({ PATH: "/nonexistent" });
    expect(resolved.source).toBe("@sparticuz/chromium");
    expect(existsSync(resolved.executablePath)).toBe(true);
    expect(resolved.args).toContain("--disable-background-networking");
  });
});
