import { InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { World, freshContainer } from "../harness/world.js";
import { makeHealthTimerHandler } from "../../src/handlers/health.js";
import { groupFailures } from "../../src/probe/checks/signIns.js";
import type { CheckResult } from "../../src/probe/model.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { HttpClient } from "../../src/http/client.js";

let world: World;
let http: HttpClient;
beforeAll(async () => {
  world = await World.start({ receivers: true });
  http = new HttpClient({ ca: world.caCertPem, retry: { maxRetries: 0 } });
});
afterAll(async () => {
  await world?.stop();
});

const lines: string[] = [];
const ctx = () =>
  new InvocationContext({ functionName: "healthTimer", invocationId: "healthTimer", logHandler: (l, ...a) => lines.push(`${l} ${a.join(" ")}`) });

async function setup(name: string) {
  const seeded = world.seedSet({ name, targets: 2, otherTargets: 0, secretExpiresInDays: 90, alerts: { webhook: "warning" } });
  const container = await freshContainer(inject("storageConnectionString"));
  const runtime = world.runtime([seeded.set], container);
  const timer = makeHealthTimerHandler(() => Promise.resolve(runtime));
  const probe = async (): Promise<CheckResult> => (await timer({} as never, ctx()))[0]!.checks.find((c) => c.id === "sign-ins")!;
  return { seeded, runtime, probe };
}

describe("sign-in monitor (Entra's sign-in log in the health timer)", () => {
  it("users failing with AADSTS50105 after assignment-required is turned on raise the right incident, with the remedy and no user names", async () => {
    const t = await setup("signins-50105");
    const clientId = t.seeded.set.clientId;
    expect(await world.userSignsIn(http, clientId, "alice@contoso.example")).toBe(302);
    expect((await t.probe()).status).toBe("pass");

    // An admin turns on "Assignment required?" and assigns only Alice.
    world.entra.seedServicePrincipal(clientId, {
      appRoleAssignmentRequired: true,
      assignments: [{ principalType: "User", principalDisplayName: "alice@contoso.example" }],
    });
    expect(await world.userSignsIn(http, clientId, "alice@contoso.example")).toBe(302);
    for (const user of ["bob@contoso.example", "carol@contoso.example", "bob@contoso.example", "dave@contoso.example"])
      expect(await world.userSignsIn(http, clientId, user)).toBe(200);

    const check = await t.probe();
    expect(check).toMatchObject({ status: "fail", severity: "error", aadsts: 50105 });
    expect(check.summary).toMatch(/^3 user\(s\) failed to sign in 4 time\(s\) with AADSTS50105: User not assigned \(first .*, last .*\)$/);
    expect(check.hint).toMatch(/these users are not assigned.*Enterprise applications > Users and groups/);
    expect(check.hint).toContain("Add user to the enterprise application or disable assignment requirement");
    expect(check.evidence["aadsts50105"]).toMatch(/^4 failure\(s\), 3 user\(s\), first .*, last /);

    const incident = (await t.runtime.alerting.manager.listOpen(t.seeded.set.name)).find((i) => i.check === "sign-ins");
    expect(incident).toMatchObject({ severity: "error" });
    expect(incident!.hint).toContain("Enterprise applications > Users and groups");
    const delivered = world
      .receivers!.webhook.accepted()
      .map((a) => JSON.stringify(a.body))
      .filter((b) => b.includes("sign-ins"));
    expect(delivered.some((b) => /50105/.test(b))).toBe(true);
    // Counts, not names: neither the incident nor the alert names a user.
    for (const text of [JSON.stringify(incident), ...delivered, JSON.stringify(check)]) expect(text).not.toMatch(/bob|carol|dave|alice/i);
    expect(
      new SecretScanner().addSecrets(world.secrets()).collectAll("alerts", delivered).collectAll("log", lines).collect("check", check).assertClean(),
    ).toBeGreaterThan(0);
  });

  it("an app-only consumer failing with a wrong secret is a warning, not a user incident", async () => {
    const t = await setup("signins-app");
    await http.request({
      method: "POST",
      url: `${world.authorityHost}/${world.tenantId}/oauth2/v2.0/token`,
      form: {
        grant_type: "client_credentials",
        client_id: t.seeded.set.clientId,
        client_secret: "a-stale-copy-of-the-secret",
        scope: "https://graph.microsoft.com/.default",
      },
      throwOnHttpError: false,
    });
    const check = await t.probe();
    expect(check).toMatchObject({ status: "warn", severity: "warning", aadsts: 7000215 });
    expect(check.summary).toMatch(/app-only sign-ins failed 1 time\(s\) with AADSTS7000215 \(Invalid client secret\)/);
  });

  it.each(["forbidden", "unlicensed"] as const)("without the permission or licence (%s) the monitor is skipped and says what it needs", async (access) => {
    const t = await setup(`signins-${access}`);
    world.entra.signIns.access = access;
    try {
      const check = await t.probe();
      expect(check.status).toBe("skip");
      expect(check.hint).toMatch(access === "forbidden" ? /AuditLog\.Read\.All/ : /P1 or P2/);
    } finally {
      world.entra.signIns.access = "ok";
    }
  });

  it("maps each of the setup guide's troubleshooting codes to its row", () => {
    const at = "2026-11-30T10:00:00Z";
    const records = [50011, 700016, 7000215, 50105, 65001, 7000222, 12345].map((code, i) => ({
      id: String(i),
      createdDateTime: at,
      eventTypes: ["interactiveUser" as const],
      userId: `u${i}`,
      errorCode: code,
    }));
    const groups = groupFailures(records);
    expect(groups.map((g) => [g.code, g.row?.code])).toEqual([
      [12345, undefined],
      [50011, 50011],
      [50105, 50105],
      [65001, 65001],
      [700016, 700016],
      [7000215, 7000215],
      [7000222, 7000215],
    ]);
  });
});
