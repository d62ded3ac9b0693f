import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { effectiveAppManagementPolicy, type PolicyDoc } from "../../src/entra/appPolicy.js";
import type { GraphApplicationsApi } from "../../src/entra/types.js";
import { RotatorError } from "../../src/errors.js";
import { operatorGraph } from "./operatorGraph.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * Defect 5 (issue 8): the rotator read only the tenant default policy. The effective policy is the
 * app's own appManagementPolicy when one is assigned, else the default, each restriction only for
 * apps created after its restrictForAppsCreatedAfterDateTime. Every combination is checked against
 * the emulator's enforcement at addPassword (ground truth), not only against our own evaluation.
 */
const DAY = 86_400_000;
let fx: EntraFixture;
let api: GraphApplicationsApi;
const outputs: unknown[] = [];

beforeAll(async () => {
  fx = await startEntraFixture();
  api = operatorGraph(fx);
});
afterEach(() => {
  fx.emulator.setAppManagementPolicy({});
  fx.emulator.server.faults.clear();
});
afterAll(async () => {
  await fx.close();
  expect(new SecretScanner().addSecrets(fx.emulator.issuedSecrets()).collectAll("api errors", outputs).assertClean()).toBeGreaterThan(0);
});

/** A fresh app created `ageDays` ago, so each case starts from its own policy assignment. */
function app(ageDays: number): { appId: string; objectId: string } {
  const a = fx.emulator.seedApplication({
    tenantId: fx.tenantId,
    displayName: `app created ${ageDays} days ago`,
    createdDateTime: new Date(fx.clock.now().getTime() - ageDays * DAY).toISOString(),
    // The rotator's identity (Application.ReadWrite.OwnedBy) manages only the apps it owns.
    owners: [fx.operator.app.appId],
  });
  return { appId: a.appId, objectId: a.id };
}

/** Ground truth: what the emulator's addPassword does with a secret of `days`: "created", or the code it refuses with. */
async function entraAllows(ref: { objectId: string }, days: number): Promise<string> {
  try {
    const c = await api.addPassword(ref.objectId, { displayName: "probe", endDateTime: new Date(fx.clock.now().getTime() + days * DAY).toISOString() });
    await api.removePassword(ref.objectId, c.keyId);
    return "created";
  } catch (e) {
    outputs.push(e);
    if (e instanceof RotatorError) return e.code;
    throw e;
  }
}

const daysAgo = (n: number): string => new Date(fx.clock.now().getTime() - n * DAY).toISOString();

describe("effective app management policy", () => {
  it("effective app management policy: no policy anywhere restricts nothing", async () => {
    const ref = app(30);
    const p = await api.getAppManagementPolicy(ref);
    expect(p).toMatchObject({ source: "none", passwordAdditionBlocked: false });
    expect(p.maxPasswordLifetimeDays).toBeUndefined();
    expect(await entraAllows(ref, 700)).toBe("created");
  });

  it("effective app management policy: the default's restrictions spare an app created before restrictForAppsCreatedAfterDateTime", async () => {
    const old = app(400);
    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true, maxPasswordLifetimeDays: 30, restrictForAppsCreatedAfterDateTime: daysAgo(100) });
    const p = await api.getAppManagementPolicy(old);
    expect(p).toMatchObject({ source: "tenantDefault", passwordAdditionBlocked: false });
    expect(p.maxPasswordLifetimeDays).toBeUndefined();
    expect(p.detail).toMatch(/not applied: passwordAddition .*created after/);
    expect(await entraAllows(old, 365)).toBe("created");
  });

  it("effective app management policy: the default applies to an app created after restrictForAppsCreatedAfterDateTime", async () => {
    const young = app(10);
    fx.emulator.setAppManagementPolicy({ maxPasswordLifetimeDays: 30, restrictForAppsCreatedAfterDateTime: daysAgo(100) });
    expect(await api.getAppManagementPolicy(young)).toMatchObject({ source: "tenantDefault", passwordAdditionBlocked: false, maxPasswordLifetimeDays: 30 });
    expect(await entraAllows(young, 60)).toBe("GRAPH_POLICY_LIFETIME");
    expect(await entraAllows(young, 30)).toBe("created");

    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true, restrictForAppsCreatedAfterDateTime: daysAgo(100) });
    expect(await api.getAppManagementPolicy(young)).toMatchObject({ source: "tenantDefault", passwordAdditionBlocked: true });
    expect(await entraAllows(young, 10)).toBe("GRAPH_POLICY_BLOCKS_PASSWORD");
  });

  it("effective app management policy: an app policy overrides a stricter default (default blocks, the app may add 180-day secrets)", async () => {
    const ref = app(10);
    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true, maxPasswordLifetimeDays: 30 });
    const assigned = fx.emulator.assignAppManagementPolicy(ref.objectId, { maxPasswordLifetimeDays: 180 })!;
    const p = await api.getAppManagementPolicy(ref);
    expect(p).toMatchObject({ source: "app", policyId: assigned.id, passwordAdditionBlocked: false, maxPasswordLifetimeDays: 180 });
    expect(p.detail).toContain("overrides the tenant default");
    expect(await entraAllows(ref, 120)).toBe("created");
    expect(await entraAllows(ref, 200)).toBe("GRAPH_POLICY_LIFETIME");
  });

  it("effective app management policy: an app policy overrides a looser default (default caps at 365 days, the app blocks secrets)", async () => {
    const ref = app(10);
    fx.emulator.setAppManagementPolicy({ maxPasswordLifetimeDays: 365 });
    fx.emulator.assignAppManagementPolicy(ref.objectId, { passwordAdditionBlocked: true });
    const p = await api.getAppManagementPolicy(ref);
    expect(p).toMatchObject({ source: "app", passwordAdditionBlocked: true });
    expect(p.maxPasswordLifetimeDays).toBeUndefined();
    expect(await entraAllows(ref, 30)).toBe("GRAPH_POLICY_BLOCKS_PASSWORD");
  });

  it("effective app management policy: a disabled app policy leaves the default in force", async () => {
    const ref = app(10);
    fx.emulator.setAppManagementPolicy({ maxPasswordLifetimeDays: 45 });
    fx.emulator.assignAppManagementPolicy(ref.objectId, { passwordAdditionBlocked: true, isEnabled: false });
    expect(await api.getAppManagementPolicy(ref)).toMatchObject({ source: "tenantDefault", passwordAdditionBlocked: false, maxPasswordLifetimeDays: 45 });
    expect(await entraAllows(ref, 60)).toBe("GRAPH_POLICY_LIFETIME");
  });

  it("reports a 403 on the app's policies as GRAPH_FORBIDDEN naming Policy.Read.ApplicationConfiguration", async () => {
    const ref = app(10);
    fx.emulator.server.faults.add({
      route: "appManagementPolicies$",
      status: 403,
      body: { error: { code: "Authorization_RequestDenied", message: "Insufficient privileges to complete the operation." } },
    });
    const err = (await api.getAppManagementPolicy(ref).then(
      () => undefined,
      (e: unknown) => e,
    )) as RotatorError;
    outputs.push(err);
    expect(err).toBeInstanceOf(RotatorError);
    expect([err.code, err.hint]).toEqual(["GRAPH_FORBIDDEN", expect.stringContaining("Policy.Read.ApplicationConfiguration")]);
  });
});

describe("effectiveAppManagementPolicy (the evaluation alone)", () => {
  const restriction = (type: "passwordAddition" | "passwordLifetime", after: string | null, maxLifetime: string | null = null, state = "enabled") => ({
    restrictionType: type,
    state,
    maxLifetime,
    restrictForAppsCreatedAfterDateTime: after,
  });
  const doc = (id: string, isEnabled: boolean, r: PolicyDoc["passwordCredentials"]): PolicyDoc => ({ id, isEnabled, passwordCredentials: r });

  it("takes the smallest of several lifetime restrictions, ignores disabled ones and other restriction types", () => {
    const p = effectiveAppManagementPolicy({
      appCreatedDateTime: "2024-06-01T00:00:00Z",
      tenantDefault: doc("d", true, [
        restriction("passwordLifetime", "2020-01-01T00:00:00Z", "P1Y"),
        restriction("passwordLifetime", null, "P90D"),
        restriction("passwordAddition", null, null, "disabled"),
        { restrictionType: "symmetricKeyAddition", state: "enabled" },
      ]),
      appPolicies: [],
    });
    expect(p).toMatchObject({ source: "tenantDefault", passwordAdditionBlocked: false, maxPasswordLifetimeDays: 90 });
  });

  it("treats an app without a creation date as created on 2019-01-01, as Graph does for service principals", () => {
    const input = (after: string) => ({ appCreatedDateTime: null, tenantDefault: doc("d", true, [restriction("passwordAddition", after)]), appPolicies: [] });
    expect(effectiveAppManagementPolicy(input("2018-06-01T00:00:00Z")).passwordAdditionBlocked).toBe(true);
    expect(effectiveAppManagementPolicy(input("2019-06-01T00:00:00Z")).passwordAdditionBlocked).toBe(false);
  });

  it("a disabled tenant default restricts nothing", () => {
    const p = effectiveAppManagementPolicy({
      appCreatedDateTime: "2024-01-01T00:00:00Z",
      tenantDefault: doc("d", false, [restriction("passwordAddition", null)]),
      appPolicies: [],
    });
    expect(p).toMatchObject({ source: "none", passwordAdditionBlocked: false });
  });
});
