import { beforeEach, describe, expect, test } from "vitest";
import { diagnose, rowFor } from "../../src/probe/troubleshooting.js";
import { DEFAULT_TUNING } from "../../src/probe/context.js";
import { BREAK_RECIPES } from "../harness/breakRecipes.js";
import { check, probeWorldPerTest, statuses, type ProbeWorld } from "./harness.js";

/**
 * Every row of the setup guide's "Common troubleshooting" table, induced in the emulators the way
 * users run into it, is detected by the mapped checks — with the real clients — and diagnosed
 * with our remedy; and no report or log line carries a secret.
 */
const startProbeWorld = probeWorldPerTest();
let w: ProbeWorld;
beforeEach(async () => {
  w = await startProbeWorld({ targets: 3 });
});

async function breakWith(code: string) {
  const { set } = await BREAK_RECIPES[code]!.apply({ world: w.world, set: w.set, appObjectId: w.appObjectId, clients: w.clients });
  return set;
}

describe("the guide's troubleshooting rows", () => {
  test("AADSTS50011: a redirect URI the app does not have is caught by authorize, app-registration and gateway-drift", async () => {
    const set = await breakWith("50011");
    const report = await w.probe({ set });

    expect(check(report, "authorize")).toMatchObject({ status: "fail", severity: "critical", aadsts: 50011 });
    expect(check(report, "authorize").summary).toContain(`${w.set.redirectUri}/`);
    expect(check(report, "app-registration")).toMatchObject({ status: "fail", aadsts: 50011 });
    expect(check(report, "gateway-drift")).toMatchObject({ status: "fail", aadsts: 50011 });
    expect(check(report, "token").status).toBe("pass");
    expect(report.ok).toBe(false);

    const hit = diagnose(report).find((h) => h.row.code === 50011)!;
    expect(hit.checks.map((c) => c.id).sort()).toEqual(["app-registration", "authorize", "gateway-drift"]);
    expect(hit.row.remedy).toContain("Redirect URIs");
  });

  test("AADSTS700016: a client ID that is not registered is caught by token and authorize", async () => {
    const set = await breakWith("700016");
    const report = await w.probe({ set });

    expect(check(report, "token")).toMatchObject({ status: "fail", severity: "critical", aadsts: 700016 });
    expect(check(report, "authorize")).toMatchObject({ status: "fail", severity: "critical", aadsts: 700016 });
    expect(check(report, "app-registration")).toMatchObject({ status: "fail", severity: "error" });
    expect(check(report, "gateway-drift")).toMatchObject({ status: "warn" });
    expect(check(report, "gateway-drift").summary).toContain("no MCP server");

    const hit = diagnose(report).find((h) => h.row.code === 700016)!;
    expect(hit.checks.map((c) => c.id).sort()).toEqual(["authorize", "token"]);
    expect(hit.row.remedy).toContain("Application (client) ID");
  });

  test("AADSTS7000215: the secret ID stored instead of its value is caught by token, expiry and gateway-drift", async () => {
    const set = await breakWith("7000215");
    const report = await w.probe({ set, replicationWindowMs: DEFAULT_TUNING.replicationWindowMs });

    const token = check(report, "token");
    expect(token).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000215 });
    expect(token.hint).toContain("secret ID");
    expect(check(report, "expiry")).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000215 });
    const drift = check(report, "gateway-drift");
    expect(drift).toMatchObject({ status: "fail", severity: "critical" });
    expect(drift.summary).toContain("do not hold the secret Key Vault holds now");

    const hit = diagnose(report).find((h) => h.row.code === 7000215)!;
    // sign-ins runs beside token and may or may not already see the probe's own refused request
    // in Entra's sign-in log: that depends on which check's request lands first.
    expect(
      hit.checks
        .map((c) => c.id)
        .filter((id) => id !== "sign-ins")
        .sort(),
    ).toEqual(["expiry", "token"]);
    expect(hit.row.remedy).toContain("emergency rotation");
  });

  test("AADSTS50105: assignment required with nobody assigned is a warning from app-registration", async () => {
    const set = await breakWith("50105");
    const report = await w.probe({ set });

    const app = check(report, "app-registration");
    expect(app).toMatchObject({ status: "warn", severity: "warning", aadsts: 50105 });
    expect(app.evidence["assignedUsersAndGroups"]).toBe(0);
    expect(report.ok).toBe(true);
    expect(diagnose(report).map((h) => h.row.code)).toEqual([50105]);
    expect(rowFor(50105)!.remedy).toContain("Assignment required");
  });

  test("AADSTS50105 is not predicted once a group is assigned", async () => {
    w.world.entra.seedServicePrincipal(w.set.clientId, {
      appRoleAssignmentRequired: true,
      assignments: [{ principalType: "Group", principalDisplayName: "MCP users" }],
    });
    const report = await w.probe();
    expect(check(report, "app-registration")).toMatchObject({ status: "pass" });
    expect(check(report, "app-registration").evidence["assignedUsersAndGroups"]).toBe(1);
  });

  test("AADSTS65001: revoked admin consent is a failure from app-registration", async () => {
    const set = await breakWith("65001");
    const report = await w.probe({ set });

    const app = check(report, "app-registration");
    expect(app).toMatchObject({ status: "fail", severity: "error", aadsts: 65001 });
    expect(app.summary).toContain("User.Read");
    expect(diagnose(report).map((h) => h.row.code)).toEqual([65001]);
  });

  test("partial consent names exactly the scopes without it", async () => {
    w.world.entra.seedConsent(w.set.clientId, ["openid", "profile", "email"]);
    const app = check(await w.probe(), "app-registration");
    expect(app).toMatchObject({ status: "fail", aadsts: 65001 });
    expect(app.summary).toMatch(/admin consent is not granted for User\.Read:/);
  });

  test("an expired secret (AADSTS7000222) is critical in token and expiry and hits the invalid-secret row", async () => {
    const set = await breakWith("7000222");
    const report = await w.probe({ set });

    expect(check(report, "token")).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000222 });
    expect(check(report, "expiry")).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000222 });
    expect(diagnose(report).map((h) => h.row.code)).toEqual([7000215]);
  });

  test("nothing breaks: every check passes and no row is hit", async () => {
    const report = await w.probe();
    expect(statuses(report)).toEqual({
      discovery: "pass",
      token: "pass",
      authorize: "pass",
      "app-registration": "pass",
      expiry: "pass",
      rotation: "pass",
      "gateway-drift": "pass",
      policy: "pass",
      "sign-ins": "pass",
    });
    expect(report.ok).toBe(true);
    expect(diagnose(report)).toEqual([]);
  });
});
