import { afterEach, describe, expect, it } from "vitest";
import { DAY_MS } from "../../src/clock.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 8, defects 5, 6 and 12 through the real runtime against the emulators: which policy the
 * rotation obeys, how often it rotates under a lifetime cap, and Graph's concurrent-write refusal.
 * Everything is read from the emulators' ground truth (credentials on the app, addPassword calls,
 * what each target holds).
 */
const world = useWorld();
afterEach(() => {
  world.entra.setAppManagementPolicy({});
  world.entra.setConcurrentWriteFault(undefined);
  world.entra.server.faults.clear();
});

const addPasswordCalls = (): number => world.entra.server.count("POST", /\/addPassword$/);

describe("effective app management policy in a rotation", () => {
  it("effective app management policy: an app exempted from a blocking default by its own policy rotates", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2 });
    world.entra.setAppManagementPolicy({ passwordAdditionBlocked: true, maxPasswordLifetimeDays: 30 });
    world.entra.assignAppManagementPolicy(s.seeded.appObjectId, { maxPasswordLifetimeDays: 120 });
    const res = await s.runToEnd();
    expect(res.status).toBe("succeeded");
    expect(res.journal.plan).toMatchObject({ lifetimeDays: 120, clampedByPolicyDays: 120, policy: { source: "app" } });
    const created = s.createdCredentials();
    expect(created).toHaveLength(1);
    expect(Math.round((Date.parse(created[0]!.endDateTime) - Date.parse(created[0]!.startDateTime)) / DAY_MS)).toBe(120);
    for (const t of s.targets()) expect(t.clientSecret).toBe(s.vaultCurrent()!.value);
    s.assertNoOutage("after rotation");
  });

  it("effective app management policy: an app policy that blocks secrets stops the plan before any addPassword", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1 });
    world.entra.assignAppManagementPolicy(s.seeded.appObjectId, { passwordAdditionBlocked: true });
    const calls = addPasswordCalls();
    const res = await s.pass();
    expect(res.status).toBe("failed");
    expect(res.journal.error).toMatchObject({ code: "POLICY_BLOCKS_PASSWORD_ADDITION" });
    expect(res.journal.error?.message).toMatch(/app policy .* passwordAddition/);
    expect(addPasswordCalls() - calls).toBe(0);
    expect(s.credentials()).toHaveLength(1);
  });

  it("effective app management policy: an app policy's lifetime cap is applied in advance though the default has none", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1 });
    world.entra.assignAppManagementPolicy(s.seeded.appObjectId, { maxPasswordLifetimeDays: 45 });
    const res = await s.pass();
    expect(res.journal.steps.find((st) => st.name === "create")?.status).toBe("done");
    expect(res.journal.plan).toMatchObject({ lifetimeDays: 45, clampedByPolicyDays: 45 });
  });

  it("effective app management policy: the default's restriction does not apply to an app created before its date", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1 });
    // The world's app was created "now"; a restriction for apps created after tomorrow spares it.
    const tomorrow = new Date(world.clock.now().getTime() + DAY_MS).toISOString();
    world.entra.setAppManagementPolicy({ passwordAdditionBlocked: true, restrictForAppsCreatedAfterDateTime: tomorrow });
    const res = await s.pass();
    expect(res.journal.plan?.policy).toMatchObject({ source: "tenantDefault" });
    expect(res.journal.steps.find((st) => st.name === "create")?.status).toBe("done");
  });
});

/**
 * A set that asks for 365-day secrets (renewed at a 0.2 fraction at the latest) in a tenant whose
 * app management policy caps password lifetimes at 60 days.
 */
async function cappedAt60Days(o: { targets: number; renewBeforeDays: number; gracePeriodHours: number }): Promise<Scenario> {
  const s = await Scenario.due(world, {
    targets: o.targets,
    overrides: { secret: { lifetimeDays: 365, renewBeforeDays: o.renewBeforeDays, renewAtFraction: 0.2, gracePeriodHours: o.gracePeriodHours } },
  });
  world.entra.setAppManagementPolicy({ maxPasswordLifetimeDays: 60 });
  return s;
}

/**
 * Runs one scheduled pass per simulated day (as the daily timer does) and returns the days on
 * which addPassword was called, from the emulator's request log.
 */
async function dailyPasses(s: Scenario, days: number): Promise<number[]> {
  // Up to 100 real passes: the tests calling this get 180 s, room for two workers on two cores.
  const rotatedOn: number[] = [];
  for (let day = 0; day < days; day++) {
    const before = addPasswordCalls();
    await s.pass();
    if (addPasswordCalls() > before) rotatedOn.push(day);
    s.assertNoOutage(`day ${day}`);
    world.clock.advance(DAY_MS);
  }
  return rotatedOn;
}

describe("renewal window from the clamped lifetime", () => {
  it("renewal window from the clamped lifetime: 365-day lifetime, 0.2 fraction, 60-day cap rotates once per effective window, not every other day", async () => {
    const s = await cappedAt60Days({ targets: 2, renewBeforeDays: 14, gracePeriodHours: 24 });
    const rotatedOn = await dailyPasses(s, 100);
    // Day 0 replaces the hand-made secret; each 60-day secret is renewed 14 days (max(14, 60 × 0.2 = 12)) before it ends.
    expect(rotatedOn).toEqual([0, 46, 92]);
    const state = await s.runtime.journals.readState(s.set.name);
    const runs = await Promise.all((await s.runtime.journals.listRuns(s.set.name)).map((id) => s.runtime.journals.readRun(s.set.name, id)));
    const rotations = runs.filter((r) => r?.plan?.action === "rotate");
    expect(rotations.every((r) => r!.plan!.lifetimeDays === 60 && r!.plan!.renewWindowDays === 14)).toBe(true);
    expect(rotations[0]!.plan!.renewWindowBasis).toContain("60-day effective lifetime (secret.lifetimeDays 365, capped by policy)");
    // The state's next rotation follows the same window.
    expect(Date.parse(state.currentExpiresOn!) - Date.parse(state.nextRotationAt!)).toBe(14 * DAY_MS);
    s.assertSettled("after 100 days");
  }, 180_000);

  it("renewal window from the clamped lifetime: without a grace period it does not rotate every day either", async () => {
    const s = await cappedAt60Days({ targets: 1, renewBeforeDays: 14, gracePeriodHours: 0 });
    expect(await dailyPasses(s, 50)).toEqual([0, 46]);
  }, 180_000);

  it("renewal window from the clamped lifetime: renewBeforeDays at or above the effective lifetime is clamped to half of it, and the plan says so", async () => {
    const s = await cappedAt60Days({ targets: 1, renewBeforeDays: 90, gracePeriodHours: 24 });
    const rotatedOn = await dailyPasses(s, 70);
    expect(rotatedOn).toEqual([0, 30, 60]);
    const first = (await s.runtime.journals.readRun(s.set.name, (await s.runtime.journals.listRuns(s.set.name))[0]!))!;
    expect(first.plan).toMatchObject({ lifetimeDays: 60, renewWindowDays: 30, renewBeforeClamped: { configuredDays: 90, usedDays: 30 } });
    expect(first.plan!.renewWindowBasis).toMatch(/renewBeforeDays 90 is not below the 60-day effective lifetime/);
  }, 180_000);
});

describe("Graph concurrent requests in a rotation", () => {
  it("Graph concurrent requests: the orphan sweep's removePassword right before addPassword no longer fails the run", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2 });
    // A managed credential nobody holds: the plan step removes it, and create adds the new one right after.
    world.entra.seedPassword(s.seeded.appObjectId, {
      displayName: `mcp-sso-rotator/${s.set.name}/run-that-died`,
      endDateTime: new Date(world.clock.now().getTime() + 30 * DAY_MS).toISOString(),
    });
    world.entra.setConcurrentWriteFault({ windowMs: 500 });
    const res = await s.runToEnd();
    expect(res.status).toBe("succeeded");
    const names = s.credentials().map((c) => c.displayName);
    expect(names).not.toContain(`mcp-sso-rotator/${s.set.name}/run-that-died`);
    expect(s.createdCredentials()).toHaveLength(1);
    expect(world.entra.server.requests.some((r) => /addPassword$/.test(r.path) && r.status === 400)).toBe(true);
    for (const t of s.targets()) expect(t.clientSecret).toBe(s.vaultCurrent()!.value);
    s.assertSettled("after rotation");
  });
});
