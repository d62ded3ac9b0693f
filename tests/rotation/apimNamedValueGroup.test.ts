import { describe, expect, it } from "vitest";
import { Scenario, updatedTargetRows, useWorld } from "./harness.js";
import { useWorldArm } from "./worldArm.js";
import { expectRetirementWaitsForPickupDelay, ONE_HOUR_GRACE } from "./refusedRefresh.js";
import { expectRetirementHeld, incidentNaming, firstPassFailsNaming } from "./heldRetirement.js";

/**
 * Issue 24 item 3 through the engine: a set whose secret lives on the cequence gateway, in Key
 * Vault-backed API Management named values on two services (refreshSecret after promote, proof
 * `keyVault.lastStatus` Success after promote) and in a plain secret named value (long-running
 * PATCH with If-Match, proof a salted hash of listValue). Ground truth: what the ARM emulator's
 * services fetched or store, against the Key Vault emulator and Entra.
 */
const world = useWorld();
const SUB = "/subscriptions/00000000-0000-0000-0000-00000000a001/resourceGroups/rg-gw/providers/Microsoft.ApiManagement/service";
const APIM1 = `${SUB}/apim-one`;
const APIM2 = `${SUB}/apim-two`;
const arm = useWorldArm(world, [APIM1, APIM2]);

function groups(extra: Record<string, unknown>[] = []) {
  return {
    gateway: undefined,
    groups: [world.cequenceGroup(), { kind: "apim-named-value", services: [APIM1, APIM2], armEndpoint: arm.url }, ...extra],
  };
}

/** The set's secret referenced without a version on both services, plus one pinned version and one other secret. */
function seedKeyVaultBacked(s: Scenario): void {
  const id = `${world.keyVault.url}/secrets/${s.set.keyVault.secretName}`;
  arm.apim.seedNamedValue(APIM1, { name: "sso-client-secret", keyVault: { secretIdentifier: id } });
  arm.apim.seedNamedValue(APIM2, { name: "sso-client-secret", keyVault: { secretIdentifier: id } });
  const pinned = world.keyVault.versions(s.set.keyVault.secretName).at(-1)!.version;
  arm.apim.seedNamedValue(APIM2, { name: "sso-pinned", keyVault: { secretIdentifier: `${id}/${pinned}` } });
  world.keyVault.seedSecret("unrelated-secret", "unrelated-value-0123456789");
  arm.apim.seedNamedValue(APIM1, { name: "other", keyVault: { secretIdentifier: `${world.keyVault.url}/secrets/unrelated-secret` } });
}

describe("target groups: cequence + apim-named-value", () => {
  it("Key Vault-backed named values are refreshed and proven by keyVault.lastStatus after promote, a plain one is written and proven by salted hash; the old secret is retired", async () => {
    const s = await Scenario.due(world, {
      targets: 2,
      otherTargets: 0,
      overrides: groups([{ kind: "apim-named-value", services: [APIM1], plainNamedValues: ["sso-plain"], armEndpoint: arm.url }]),
    });
    const old = s.seeded.handMade.secretText;
    seedKeyVaultBacked(s);
    arm.apim.seedNamedValue(APIM1, { name: "sso-plain", value: old, secret: true });
    arm.core.operationPolls = 2;

    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    for (const svc of [APIM1, APIM2]) {
      const nv = arm.apim.namedValue(svc, "sso-client-secret")!;
      expect([nv.fetchedVersion, nv.value, nv.keyVault?.lastStatus?.code]).toEqual([current.version, current.value, "Success"]);
      expect(world.entra.isSecretAccepted(world.tenantId, s.set.clientId, nv.value!)).toBe(true);
    }
    expect(arm.apim.namedValue(APIM1, "sso-plain")!.value).toBe(current.value);
    expect(arm.apim.namedValue(APIM2, "sso-pinned")!.value).toBe(old); // reported, never written
    expect(arm.apim.namedValue(APIM1, "other")!.value).toBe("unrelated-value-0123456789");
    for (const t of s.targets()) expect(t.clientSecret).toBe(current.value);

    const records = done.journal.targets.filter((t) => (t.group ?? 0) > 0);
    expect(updatedTargetRows(records, (t) => [t.name, t.group, t.proof])).toEqual([
      ["apim-one/sso-client-secret", 1, "status"],
      ["apim-one/sso-plain", 2, "fingerprint"],
      ["apim-two/sso-client-secret", 1, "status"],
    ]);
    expect(records.find((t) => t.name === "apim-two/sso-pinned")).toMatchObject({ outcome: "drift", evidence: expect.stringContaining("names a version") });
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);

    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.assertClean();
  });

  it("a named value whose service cannot read Key Vault holds retirement, with an incident naming it, until it reports the new version", async () => {
    const s = await Scenario.alerting(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: groups() });
    seedKeyVaultBacked(s);
    arm.apim.breakKeyVaultAccess(APIM2);

    const { first, promoted } = await firstPassFailsNaming(s, "apim-two/sso-client-secret", "TARGET_REFRESH_FAILED");
    // The canary (apim-one) and the gateway picked up; apim-two keeps the old value.
    expect(arm.apim.namedValue(APIM1, "sso-client-secret")!.fetchedVersion).toBe(promoted.version);
    expect(arm.apim.namedValue(APIM2, "sso-client-secret")!.value).toBe(s.seeded.handMade.secretText);
    const stuck = first.journal.targets.find((t) => t.name === "apim-two/sso-client-secret")!;
    expect(stuck).toMatchObject({ verified: false, error: { code: "TARGET_REFRESH_FAILED" } });
    const incident = await incidentNaming(s, "apim-two/sso-client-secret");

    await expectRetirementHeld(world, s, "apim-two/sso-client-secret");

    arm.apim.breakKeyVaultAccess(APIM2, false);
    const healed = await s.pass();
    expect(healed.status).toBe("succeeded");
    expect(arm.apim.namedValue(APIM2, "sso-client-secret")!.fetchedVersion).toBe(promoted.version);
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.collect("incident", incident).assertClean();
  });

  it("a refresh the service refuses (no refreshSecret permission) falls back to the 4 h pickup delay with a warning: retirement waits promote + 4 h", async () => {
    const s = await Scenario.due(world, { targets: 1, otherTargets: 0, overrides: { ...groups(), ...ONE_HOUR_GRACE } });
    seedKeyVaultBacked(s);
    arm.core.deny("Microsoft.ApiManagement/service/namedValues/refreshSecret/action");
    await expectRetirementWaitsForPickupDelay(world, s, {
      delayHours: 4,
      timeProofs: 2,
      warning: /cannot be asked to refresh .*pickup is assumed 4 h after promote/,
    });
  });

  it("a plain named value whose write is acknowledged but not applied holds retirement with an incident naming it", async () => {
    const s = await Scenario.alerting(world, {
      secretExpiresInDays: 5,
      targets: 1,
      otherTargets: 0,
      overrides: {
        gateway: undefined,
        groups: [world.cequenceGroup(), { kind: "apim-named-value", services: [APIM1], plainNamedValues: ["sso-plain"], armEndpoint: arm.url }],
      },
    });
    const old = s.seeded.handMade.secretText;
    arm.apim.seedNamedValue(APIM1, { name: "sso-plain", value: old, secret: true });
    // The service answers the PATCH as done without storing the value: only listValue can tell.
    arm.server.faults.add({ route: "^PATCH .*/namedValues/sso-plain$", status: 200, body: {} });

    const first = await s.pass();
    expect(first.status).toBe("failed");
    expect(first.journal.error?.message).toContain("apim-one/sso-plain");
    expect(arm.apim.namedValue(APIM1, "sso-plain")!.value).toBe(old);
    const incident = await incidentNaming(s, "apim-one/sso-plain");
    await expectRetirementHeld(world, s, "apim-one/sso-plain", 1);

    arm.server.faults.clear();
    const healed = await s.pass();
    expect(healed.status).toBe("succeeded");
    expect(arm.apim.namedValue(APIM1, "sso-plain")!.value).toBe(s.vaultCurrent()!.value);
    expect(s.credentials().map((c) => c.keyId)).toEqual([s.vaultCurrent()!.tags["keyId"]]);
    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.collect("incident", incident).collectAll("log", s.lines).assertClean();
  });
});
