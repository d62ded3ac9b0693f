import { describe, expect, it } from "vitest";
import { credentialSetSchema, renewAtDays, type CredentialSet } from "../../src/config/schema.js";
import { describeCredentialSet } from "../../src/config/summary.js";
import { renewalDueAt, renewalWindow } from "../../src/rotation/policy.js";
import { validCequenceSet } from "../config/fixtures.js";

function setWith(secret: Record<string, number>): CredentialSet {
  return credentialSetSchema.parse({ ...validCequenceSet(), secret });
}

describe("one renewal formula for the config check, its summary, plans, status and probes", () => {
  it("the window is max(renewBeforeDays, lifetime × renewAtFraction) wherever it is shown", () => {
    const set = setWith({ lifetimeDays: 180, renewBeforeDays: 30, renewAtFraction: 0.25, gracePeriodHours: 24 });
    expect(renewAtDays(30, 0.25, 180)).toBe(45);
    expect(renewalWindow(set).days).toBe(45);
    expect(describeCredentialSet(set)).toContain("45");
    // A policy cap of 60 days: the same formula on the effective lifetime.
    expect(renewalWindow(set, 60).days).toBe(30);
  });

  it("the config refuses exactly the policies whose window reaches the lifetime", () => {
    expect(
      credentialSetSchema.safeParse({ ...validCequenceSet(), secret: { lifetimeDays: 100, renewBeforeDays: 10, renewAtFraction: 0.99, gracePeriodHours: 24 } })
        .success,
    ).toBe(renewAtDays(10, 0.99, 100) < 100);
  });

  it("a secret falls due window days before it expires", () => {
    expect(renewalDueAt("2026-03-31T00:00:00.000Z", 30)).toBe("2026-03-01T00:00:00.000Z");
  });
});
