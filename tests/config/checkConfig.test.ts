import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validCequenceSet } from "./fixtures.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const TSX = path.join(REPO, "node_modules/.bin/tsx");
const SCRIPT = path.join(REPO, "scripts/check-config.ts");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCheckConfig(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [SCRIPT, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `dir` with its size and mtime, to prove a run wrote nothing. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .map(String)
    .sort()
    .map((f) => {
      const st = statSync(path.join(dir, f));
      return `${f} ${st.size} ${st.mtimeMs}`;
    });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "rotator-check-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each run starts tsx (about two seconds), so the runs go in parallel.
describe.concurrent("scripts/check-config.ts", () => {
  it("exits non-zero on a bad file, prints the one error listing every bad field, and writes no file", async () => {
    const set = validCequenceSet();
    set.secret = { lifetimeDays: 900 };
    set.gateway.maxConcurency = 2;
    writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ sets: [set] }, null, 2));
    const before = snapshot(dir);

    const run = await runCheckConfig(["bad.json"], dir);

    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`credential-set file ${path.join(dir, "bad.json")} is invalid (2 problems):`);
    expect(run.stderr).toContain("  - sets[0].secret.lifetimeDays: must be at most 730 days");
    expect(run.stderr).toContain('  - sets[0].gateway.maxConcurency: unknown field "maxConcurency" — did you mean "maxConcurrency"?');
    expect(run.stderr).toContain("Nothing was written.");
    expect(snapshot(dir)).toEqual(before);
  });

  it("exits non-zero when the file does not exist, naming it", async () => {
    const run = await runCheckConfig(["nope.json"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`  - file: ${path.join(dir, "nope.json")} does not exist — check the path`);
  });

  it("prints a summary of the example sets and exits 0", async () => {
    const run = await runCheckConfig([path.join(REPO, "docs/examples/credential-sets.example.json")], dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("2 credential sets OK");
    expect(run.stdout).toMatch(/^cequence-sso$/m);
    expect(run.stdout).toMatch(/^legacy-gateway-sso$/m);
    expect(run.stdout).toContain("pagerduty oncall-pagerduty ≥ error");
  });

  it("checks local.settings.example.json with the sets it names", async () => {
    const run = await runCheckConfig(["--settings", path.join(REPO, "local.settings.example.json")], dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("app settings OK, 2 credential sets OK");
    expect(run.stdout).toContain('"rotationSchedule": "0 0 3 * * *"');
  });

  it("prints usage and exits 2 without arguments", async () => {
    const run = await runCheckConfig([], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("usage: check-config <credential-sets.json>");
  });
});
