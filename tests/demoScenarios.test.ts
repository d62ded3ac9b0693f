import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

/** Issue 15's acceptance: the two sign-in evidence scenarios of `npm run demo -- --scenario <name> --json`. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", ...args], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;

describe("npm run demo -- --scenario", () => {
  it("old-secret-still-used reports retireHeld: true and the retire-held incident", async () => {
    const { code, stdout, stderr } = await run(["scripts/demo.ts", "--scenario", "old-secret-still-used", "--json"]);
    expect(code, stderr).toBe(0);
    expect(lastJson(stdout)).toMatchObject({ retireHeld: true, previousStillLive: true, detected: true, secretLeaks: 0, incident: { check: "retire-held", severity: "error", hint: expect.stringMatching(/sign-in logs/) } });
  }, 120_000);

  it("users-failing reports the sign-in monitor's AADSTS50105 finding with the remedy", async () => {
    const { code, stdout, stderr } = await run(["scripts/demo.ts", "--scenario", "users-failing", "--json"]);
    expect(code, stderr).toBe(0);
    expect(lastJson(stdout)).toMatchObject({
      detected: true,
      secretLeaks: 0,
      signInMonitor: { check: "sign-ins", status: "fail", aadsts: 50105, summary: expect.stringMatching(/3 user\(s\) failed/), remedy: expect.stringMatching(/Users and groups/) },
      incident: { check: "sign-ins" },
    });
  }, 120_000);

  it("an unknown scenario exits 2", async () => {
    const { code, stderr } = await run(["scripts/demo.ts", "--scenario", "no-such-scenario"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--scenario takes one of/);
  }, 60_000);
});
