import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";
import { useWorldArm } from "./worldArm.js";
import { expectRetirementHeld, incidentNaming, firstPassFailsNaming } from "./heldRetirement.js";

/**
 * Issue 24 item 2 through the engine: a set whose secret lives on the cequence gateway and in API
 * Management's credential manager — authorization-code providers (with and without connections)
 * and client-credentials connections. The secret is write-only: each is rebuilt from GET plus the
 * new secret and PUT with If-Match; pickup is proven by the connection status the service works out
 * with Entra (ground truth: the Entra emulator).
 */
const world = useWorld();
const HOUR = 3_600_000;
const APIM = "/subscriptions/00000000-0000-0000-0000-00000000a002/resourceGroups/rg-gw/providers/Microsoft.ApiManagement/service/apim-one";
const arm = useWorldArm(world, [APIM]);

function overrides() {
  return { gateway: undefined, groups: [world.cequenceGroup(), { kind: "apim-credential-manager", services: [APIM], armEndpoint: arm.url }] };
}

/** Client-credentials connections first (the first is the canary), then authorization-code providers. */
function seedEstate(s: Scenario, old: string): { otherSecret: string } {
  const clientId = s.set.clientId;
  arm.apim.seedProvider(APIM, { name: "aad-cc", grantType: "clientCredentials", tenantId: world.tenantId });
  arm.apim.seedConnection(APIM, "aad-cc", { name: "cc1", clientId, clientSecret: old });
  arm.apim.seedConnection(APIM, "aad-cc", { name: "cc2", clientId, clientSecret: old });
  const otherSecret = `other-${randomUUID()}`;
  arm.apim.seedConnection(APIM, "aad-cc", { name: "other-app", clientId: randomUUID(), clientSecret: otherSecret });
  arm.apim.seedProvider(APIM, { name: "aad-authcode", grantType: "authorizationCode", clientId, clientSecret: old });
  arm.apim.seedConnection(APIM, "aad-authcode", { name: "user-1" });
  arm.apim.seedProvider(APIM, { name: "aad-lonely", grantType: "authorizationCode", clientId, clientSecret: old });
  return { otherSecret };
}

describe("target groups: cequence + apim-credential-manager", () => {
  it("providers and client-credentials connections are rewritten whole with the new secret and proven by Connected; the old secret is retired", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: overrides() });
    const old = s.seeded.handMade.secretText;
    const { otherSecret } = seedEstate(s, old);

    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    const cc = arm.apim.provider(APIM, "aad-cc")!;
    expect(cc.connections.get("cc1")!.secret).toBe(current.value);
    expect(cc.connections.get("cc2")!.secret).toBe(current.value);
    expect(cc.connections.get("other-app")!.secret).toBe(otherSecret);
    expect(arm.apim.provider(APIM, "aad-authcode")!.authCodeSecret).toBe(current.value);
    expect(arm.apim.provider(APIM, "aad-lonely")!.authCodeSecret).toBe(current.value);
    // Rebuilt from GET: the rest of each body is as it was.
    expect(arm.apim.provider(APIM, "aad-authcode")!.grantTypes["authorizationCode"]).toMatchObject({
      clientId: s.set.clientId,
      scopes: "User.Read.All",
      tenantId: "common",
    });
    expect(cc.connections.get("cc1")!.parameters).toEqual({ clientId: s.set.clientId });
    for (const secret of [cc.connections.get("cc1")!.secret!, arm.apim.provider(APIM, "aad-authcode")!.authCodeSecret!]) {
      expect(world.entra.isSecretAccepted(world.tenantId, s.set.clientId, secret)).toBe(true);
    }

    const records = done.journal.targets.filter((t) => t.group === 1 && t.outcome === undefined);
    expect(records.map((t) => [t.name, t.proof]).sort()).toEqual([
      ["apim-one/aad-authcode", "status"],
      ["apim-one/aad-cc/cc1", "status"],
      ["apim-one/aad-cc/cc2", "status"],
      ["apim-one/aad-lonely", "status"],
    ]);
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);
    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.collectAll("log", s.lines).assertClean();
  });

  it("a connection whose status turns Error (AADSTS7000215) after the write holds retirement, with an incident naming it, until it is Connected", async () => {
    const s = await Scenario.alerting(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: overrides() });
    const old = s.seeded.handMade.secretText;
    seedEstate(s, old);
    arm.apim.mangleSecretWrites(APIM, "aad-cc", "cc1");

    const { first, promoted } = await firstPassFailsNaming(s, "apim-one/aad-cc/cc1");
    expect(first.journal.error?.message).toContain("AADSTS7000215");
    // The canary failed: the other connections were not touched and keep the old, still valid secret.
    expect(arm.apim.provider(APIM, "aad-cc")!.connections.get("cc2")!.secret).toBe(old);
    const incident = await incidentNaming(s, "apim-one/aad-cc/cc1");

    await expectRetirementHeld(world, s, "apim-one/aad-cc/cc1");

    arm.apim.mangleSecretWrites(APIM, "aad-cc", "cc1", false);
    const healed = await s.pass();
    expect(healed.status).toBe("succeeded");
    expect(arm.apim.provider(APIM, "aad-cc")!.connections.get("cc1")!.secret).toBe(promoted.value);
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
    const scan = await s.scanJournals(s.scanner().addSecrets(arm.issuedSecrets()));
    scan.collect("incident", incident).collectAll("log", s.lines).assertClean();
  });

  it("a connection added with the old secret after propagation is written before the old secret is retired (Connected alone proves nothing: the old secret still works)", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: overrides() });
    const old = s.seeded.handMade.secretText;
    seedEstate(s, old);
    const first = await s.pass();
    expect(["waiting", "succeeded"]).toContain(first.status);
    expect(s.credentials().map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);
    // Someone adds a connection from an old copy of the secret; APIM reports it Connected (the old secret is valid).
    arm.apim.seedConnection(APIM, "aad-cc", { name: "cc-late", clientId: s.set.clientId, clientSecret: old });

    world.clock.advance(25 * HOUR);
    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    expect(arm.apim.provider(APIM, "aad-cc")!.connections.get("cc-late")!.secret).toBe(current.value);
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);
  });

  it("another process (a new adapter, no memory of the writes) proves the connections by the ETag journaled after each write, and retires without writing them again", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: overrides() });
    seedEstate(s, s.seeded.handMade.secretText);
    const first = await s.pass();
    expect(["waiting", "succeeded"]).toContain(first.status);
    expect(first.journal.targets.filter((t) => t.group === 1 && t.outcome === undefined).every((t) => t.etag !== undefined)).toBe(true);

    world.clock.advance(25 * HOUR);
    const writesBefore = arm.server.count("PUT", /authorizationProviders/);
    const other = world.runtime([s.set], s.container, {});
    const runner = await other.createRunner(s.set, s.logger);
    let res = await runner.runPass({ mode: "scheduled", trigger: "timer" });
    for (let i = 0; i < 3 && !["succeeded", "noop", "failed"].includes(res.status); i++) res = await runner.runPass({ mode: "scheduled", trigger: "timer" });
    expect(res.status).toBe("succeeded");
    expect(arm.server.count("PUT", /authorizationProviders/) - writesBefore).toBe(0);
    expect(s.credentials().map((c) => c.keyId)).toEqual([s.vaultCurrent()!.tags["keyId"]]);
  });
});
