import { firstPassFailsNaming } from "./heldRetirement.js";
import { describe, expect, it } from "vitest";
import { httpsFetch } from "../../emulators/common/httpsFetch.js";
import { RUN_FAILURE_CHECK } from "../../src/alerts/model.js";
import { createAzureCredential } from "../../src/entra/credential.js";
import type { SecretScanner } from "../helpers/secretScan.js";
import { Scenario, updatedTargetRows, useWorld } from "./harness.js";
import { useWorldArm } from "./worldArm.js";
import { expectRetirementWaitsForPickupDelay, ONE_HOUR_GRACE } from "./refusedRefresh.js";

/**
 * Issue 24 item 4 through the engine: a set whose secret lives on the cequence gateway and in App
 * Service Key Vault references (../shared/specs/appservice-keyvault-references.md): a Function app
 * (SecretUri= form, fills in activeVersion: proof `version`), its staging slot (VaultName= form,
 * no activeVersion: proof `status` after the refresh), and a web app that also pins a version
 * (drift, never touched). Ground truth: the value each app really receives, from the ARM
 * emulator's sites, which resolve from the Key Vault emulator, checked against Entra.
 */
const world = useWorld();
const HOUR = 3_600_000;
const SITES = "/subscriptions/00000000-0000-0000-0000-00000000b001/resourceGroups/rg-apps/providers/Microsoft.Web/sites";
const FUNC = `${SITES}/orders-func`;
const SLOT = `${FUNC}/slots/staging`;
const WEB = `${SITES}/billing-web`;
const KEY = "SSO_CLIENT_SECRET";
const arm = useWorldArm(world);

function groups() {
  return {
    gateway: undefined,
    groups: [world.cequenceGroup(), { kind: "appservice-keyvault-reference", sites: [FUNC, SLOT, WEB], vaultName: "corp-vault", armEndpoint: arm.url }],
  };
}

/** The three apps, started (they resolve at once); the web app also pins the version current now. */
function seedSites(s: Scenario): void {
  const name = s.set.keyVault.secretName;
  const uri = `${world.keyVault.url}/secrets/${name}`;
  arm.appService.nameVault("corp-vault", world.keyVault.url);
  world.keyVault.seedSecret("unrelated-secret", "unrelated-value-0123456789");
  const pinned = world.keyVault.versions(name).at(-1)!.version;
  arm.appService.seedSite(FUNC, {
    settings: {
      [KEY]: `@Microsoft.KeyVault(SecretUri=${uri})`,
      OTHER: `@Microsoft.KeyVault(SecretUri=${world.keyVault.url}/secrets/unrelated-secret)`,
      PLAIN: "x",
    },
  });
  arm.appService.seedSite(SLOT, { settings: { [KEY]: `@Microsoft.KeyVault(VaultName=corp-vault;SecretName=${name})` }, reportsActiveVersion: false });
  arm.appService.seedSite(WEB, {
    settings: { [KEY]: `@Microsoft.KeyVault(VaultName=corp-vault;SecretName=${name})`, SSO_PINNED: `@Microsoft.KeyVault(SecretUri=${uri}/${pinned})` },
  });
}

const openRunIncident = async (s: Scenario) => (await s.runtime.alerting.manager.listOpen(s.set.name)).find((i) => i.check === RUN_FAILURE_CHECK);

/** Every ARM answer the adapter reads (lists, gets, the refresh), over HTTPS with a Resource Manager token, into the scan. */
async function collectHttp(scan: SecretScanner): Promise<SecretScanner> {
  const credential = createAzureCredential({
    tenantId: world.tenantId,
    clientId: world.operator.clientId,
    clientSecret: world.operator.secret,
    authorityHost: world.authorityHost,
    ca: world.caCertPem,
  });
  const token = (await credential.getToken("https://management.azure.com/.default"))!.token;
  const send = httpsFetch(arm.caCertPem);
  for (const site of [FUNC, SLOT, WEB]) {
    for (const [method, suffix] of [
      ["GET", "/config/configreferences/appsettings?api-version=2024-11-01"],
      ["GET", `/config/configreferences/appsettings/${KEY}?api-version=2024-11-01`],
      ["GET", "/config/appsettings?api-version=2024-11-01"],
      ["POST", "/config/configreferences/appsettings/refresh?api-version=2022-03-01"],
    ] as const) {
      const res = await send(`${arm.url}${site}${suffix}`, { method, headers: { authorization: `Bearer ${token}` } });
      scan.collect(`http ${method} ${suffix}`, await res.text());
    }
  }
  return scan;
}

/** What each app really receives for the set's setting (ground truth). */
const seen = (site: string) => arm.appService.appSees(site, KEY);

describe("target groups: cequence + appservice-keyvault-reference", () => {
  it("every versionless reference is refreshed and proven (version where activeVersion is filled in, status where not); a pinned one is drift; the old secret is retired", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: groups() });
    const old = s.seeded.handMade.secretText;
    seedSites(s);
    expect([seen(FUNC), seen(SLOT), seen(WEB)]).toEqual([old, old, old]);

    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    for (const site of [FUNC, SLOT, WEB]) {
      expect(seen(site)).toBe(current.value);
      expect(world.entra.isSecretAccepted(world.tenantId, s.set.clientId, seen(site)!)).toBe(true);
    }
    expect(arm.appService.appSees(WEB, "SSO_PINNED")).toBe(old); // reported, never touched
    expect(arm.appService.appSees(FUNC, "OTHER")).toBe("unrelated-value-0123456789");
    for (const t of s.targets()) expect(t.clientSecret).toBe(current.value);

    const records = done.journal.targets.filter((t) => t.group === 1);
    expect(updatedTargetRows(records, (t) => [t.name, t.proof, t.verified])).toEqual([
      ["billing-web/SSO_CLIENT_SECRET", "version", true],
      ["orders-func/SSO_CLIENT_SECRET", "version", true],
      ["orders-func/staging/SSO_CLIENT_SECRET", "status", true],
    ]);
    expect(records.find((t) => t.name === "billing-web/SSO_PINNED")).toMatchObject({ outcome: "drift", evidence: expect.stringContaining("names a version") });
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);

    const scan = await collectHttp(await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets())));
    scan.assertClean();
  });

  it("a site whose identity lost access to the vault (AccessToKeyVaultDenied) holds retirement with an incident naming it, until it resolves the new version", async () => {
    const s = await Scenario.alerting(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: groups() });
    const old = s.seeded.handMade.secretText;
    seedSites(s);
    arm.appService.denyKeyVault(WEB);

    const { first, promoted } = await firstPassFailsNaming(s, "billing-web/SSO_CLIENT_SECRET", "TARGET_REFRESH_FAILED");
    // The canary and the slot picked up; the web app receives the literal reference (§ Refresh / rotation).
    expect([seen(FUNC), seen(SLOT)]).toEqual([promoted.value, promoted.value]);
    expect(seen(WEB)).toMatch(/^@Microsoft\.KeyVault\(/);
    const stuck = first.journal.targets.find((t) => t.name === "billing-web/SSO_CLIENT_SECRET")!;
    expect(stuck).toMatchObject({ verified: false, error: { code: "TARGET_REFRESH_FAILED", message: expect.stringContaining("AccessToKeyVaultDenied") } });
    const incident = await openRunIncident(s);
    expect(JSON.stringify(incident)).toContain("billing-web/SSO_CLIENT_SECRET");

    world.clock.advance(25 * HOUR); // past the grace period and the 24 h pickup: still held
    for (let i = 0; i < 2; i++) {
      const again = await s.pass();
      expect(again.status).toBe("failed");
      expect(again.journal.error?.message).toContain("billing-web/SSO_CLIENT_SECRET");
      expect(s.credentials().map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);
    }
    expect(world.entra.isSecretAccepted(world.tenantId, s.set.clientId, old)).toBe(true);

    arm.appService.denyKeyVault(WEB, false);
    const healed = await s.pass();
    expect(healed.status).toBe("succeeded");
    expect(seen(WEB)).toBe(promoted.value);
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
    const scan = await collectHttp(await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets())));
    scan.collect("incident", incident).assertClean();
  });

  it("a stuck site that answers Resolved with a stale activeVersion holds retirement with an incident naming it; the other sites are not asked until the canary proves", async () => {
    const s = await Scenario.alerting(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: groups() });
    const old = s.seeded.handMade.secretText;
    const oldVersion = world.keyVault.versions(s.set.keyVault.secretName).at(-1)!.version;
    seedSites(s);
    arm.appService.freeze(FUNC); // the canary: acknowledges the refresh, keeps the old version

    const first = await s.pass();
    expect(first.status).toBe("failed");
    expect(first.journal.error?.message).toContain("orders-func/SSO_CLIENT_SECRET");
    const stuck = first.journal.targets.find((t) => t.name === "orders-func/SSO_CLIENT_SECRET")!;
    expect(stuck.error?.message).toContain(`status Resolved, activeVersion ${oldVersion}`);
    expect([seen(FUNC), seen(SLOT), seen(WEB)]).toEqual([old, old, old]);
    const incident = await openRunIncident(s);
    expect(JSON.stringify(incident)).toContain("orders-func/SSO_CLIENT_SECRET");

    world.clock.advance(25 * HOUR);
    const again = await s.pass();
    expect(again.status).toBe("failed");
    expect(s.credentials().map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);

    arm.appService.freeze(FUNC, false);
    const healed = await s.pass();
    expect(healed.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    expect([seen(FUNC), seen(SLOT), seen(WEB)]).toEqual([current.value, current.value, current.value]);
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);
    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.collect("incident", incident).assertClean();
  });

  it("a refresh the service refuses (403 on the docs-only POST) falls back to the 24 h pickup delay with a warning: retirement waits promote + 24 h", async () => {
    const s = await Scenario.due(world, { targets: 1, otherTargets: 0, overrides: { ...groups(), ...ONE_HOUR_GRACE } });
    const old = s.seeded.handMade.secretText;
    seedSites(s);
    arm.core.deny("Microsoft.Web/sites/config/configreferences/appsettings/refresh/action");
    // Nothing asks the sites to refresh: each serves its cache until its own 24 h pickup.
    let servedAfterPropagate: string | undefined;
    s.hooks.afterStep = (step) => {
      if (step === "propagate") servedAfterPropagate = seen(FUNC);
    };
    await expectRetirementWaitsForPickupDelay(world, s, {
      delayHours: 24,
      timeProofs: 3,
      warning: /orders-func\/SSO_CLIENT_SECRET .*cannot be asked to refresh .*pickup is assumed 24 h after promote/,
    });
    expect(servedAfterPropagate).toBe(old);
    const current = s.vaultCurrent()!;
    // Ground truth: the sites' own 24 h cache did pick it up.
    expect([seen(FUNC), seen(SLOT), seen(WEB)]).toEqual([current.value, current.value, current.value]);
    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.assertClean();
  });
  it("a refresh endpoint that is gone (404 on the docs-only POST, the site still there) is a refusal too: 24 h pickup with a warning, not a failed run", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: groups() });
    seedSites(s);
    arm.server.faults.add({
      route: "^POST .*/config/configreferences/appsettings/refresh$",
      status: 404,
      body: { error: { code: "NotFound", message: "No route matches the request." } },
    });
    const first = await s.pass();
    expect(["waiting", "succeeded"]).toContain(first.status);
    expect(first.journal.error).toBeUndefined();
    expect(first.journal.targets.filter((t) => t.group === 1 && t.outcome === undefined).map((t) => t.proof)).toEqual(["time", "time", "time"]);
    expect(s.lines.join("\n")).toMatch(/cannot be asked to refresh \(TARGET_REFRESH_REFUSED\): pickup is assumed 24 h after promote/);
    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.assertClean();
  });
});
