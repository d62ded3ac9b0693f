import { describe, expect, it } from "vitest";
import { lastJson, runTsx as run } from "./helpers/runScript.js";

/** The README's promise: `npm run demo` rotates for real, and `npm run emulators` starts and stops cleanly. */
describe("npm run demo", () => {
  it("rotates the hand-made secret across 25 targets, retires it, probes healthy, leaks nothing, and exits 0", async () => {
    const { code, stdout, stderr } = await run(["scripts/demo.ts", "--json"]);
    expect(code, stderr).toBe(0);
    const report = lastJson(stdout);
    expect(report).toMatchObject({
      rotated: true,
      retired: true,
      secretLeaks: 0,
      targets: { total: 25, updated: 25, verified: 25, untouched: 3 },
      health: { ok: true },
    });
    expect(stdout).toMatch(/adoption of the hand-made secret: adopted/);
    expect(stdout).toMatch(/ROTATION COMPLETE/);
  }, 120_000);

  it("--break 7000215 shows the broken secret detected, with its remedy, and the critical incident on the channels that take it", async () => {
    const { code, stdout, stderr } = await run(["scripts/demo.ts", "--break", "7000215", "--json"]);
    expect(code, stderr).toBe(0);
    const report = lastJson(stdout) as {
      health: { ok: boolean; failing: { check: string; severity: string; aadsts?: number }[] };
      alerts: Record<string, number>;
      break: { detected: boolean };
    };
    expect(report.break.detected).toBe(true);
    expect(report.health.ok).toBe(false);
    expect(report.health.failing).toContainEqual(expect.objectContaining({ check: "token", severity: "critical", aadsts: 7000215 }));
    // PagerDuty takes only critical: it was paged by the broken secret and by nothing else.
    expect(report.alerts["pagerduty"]).toBeGreaterThanOrEqual(1);
    for (const channel of ["teams", "slack", "opsgenie", "webhook"]) expect(report.alerts[channel], channel).toBeGreaterThanOrEqual(1);
    expect(stdout).toMatch(/remedy:/);
  }, 120_000);

  it("refuses an unknown --break code with a usage error", async () => {
    const { code, stderr } = await run(["scripts/demo.ts", "--break", "12345"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--break takes one of/);
  }, 60_000);
});

describe("npm run demo -- --scenario <name>", () => {
  it("failure-after-promote: narrates each pass and reports convergence from ground truth, exit 0", async () => {
    const { code, stdout, stderr } = await run(["scripts/demo.ts", "--scenario", "failure-after-promote", "--json"]);
    expect(code, stderr).toBe(0);
    expect(lastJson(stdout)).toMatchObject({
      scenario: "failure-after-promote",
      converged: true,
      staleTargets: [],
      previousRetired: true,
      stuckRuns: [],
      secretLeaks: 0,
    });
    expect(stdout).toMatch(/GATEWAY_UNAUTHORIZED/);
    expect(stdout).toMatch(/repaired and verified; retired previous credential/);
    expect(stdout).toMatch(/CONVERGED/);
  }, 120_000);

  it("refuses an unknown scenario with exit 2 naming the known ones", async () => {
    const { code, stderr } = await run(["scripts/demo.ts", "--scenario", "meteor-strike"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/vanished-target, emergency-during-pass, failure-after-promote, drift/);
  }, 60_000);
});

describe("npm run emulators", () => {
  it("prints every URL and the CA path, and Ctrl-C stops everything", async () => {
    const { code, stdout } = await run(["scripts/emulators.ts", "--free-ports"], { stopWhen: /Press Ctrl-C/ });
    expect(stdout).toMatch(/Entra \+ Graph\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/Key Vault\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/Gateway\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/Azurite\s+blob http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/Alert receivers Teams http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/CA certificate\s+\S+ca\.pem/);
    expect(stdout).toMatch(/stopping emulators and Azurite/);
    expect(code).toBe(0);
  }, 90_000);
});
