import { describe, expect, it } from "vitest";
import { lastJson, runTsx as run } from "./helpers/runScript.js";

/** Issue 15's acceptance: the two sign-in evidence scenarios of `npm run demo -- --scenario <name> --json`. */
describe("npm run demo -- --scenario", () => {
  it("old-secret-still-used reports retireHeld: true and the retire-held incident", async () => {
    const { code, stdout, stderr } = await run(["scripts/demo.ts", "--scenario", "old-secret-still-used", "--json"]);
    expect(code, stderr).toBe(0);
    expect(lastJson(stdout)).toMatchObject({
      retireHeld: true,
      previousStillLive: true,
      detected: true,
      secretLeaks: 0,
      incident: { check: "retire-held", severity: "error", hint: expect.stringMatching(/sign-in logs/) },
    });
  }, 120_000);

  it("users-failing reports the sign-in monitor's AADSTS50105 finding with the remedy", async () => {
    const { code, stdout, stderr } = await run(["scripts/demo.ts", "--scenario", "users-failing", "--json"]);
    expect(code, stderr).toBe(0);
    expect(lastJson(stdout)).toMatchObject({
      detected: true,
      secretLeaks: 0,
      signInMonitor: {
        check: "sign-ins",
        status: "fail",
        aadsts: 50105,
        summary: expect.stringMatching(/3 user\(s\) failed/),
        remedy: expect.stringMatching(/Users and groups/),
      },
      incident: { check: "sign-ins" },
    });
  }, 120_000);

  it("an unknown scenario exits 2", async () => {
    const { code, stderr } = await run(["scripts/demo.ts", "--scenario", "no-such-scenario"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--scenario takes one of/);
  }, 60_000);
});
