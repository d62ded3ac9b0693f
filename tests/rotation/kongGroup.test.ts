import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KongEmulator } from "../../emulators/kong/index.js";
import { RUN_FAILURE_CHECK } from "../../src/alerts/model.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Issue 24 items 1 and 5 together: a set whose secret lives on the cequence gateway AND in Kong
 * `openid-connect` plugins. Both groups are written by one pass; a Kong plugin that does not keep
 * the new secret (a second writer puts the old one back — no ETag to stop it) holds retirement,
 * with an incident naming it, until it holds the new secret. Ground truth: the emulators.
 */
const world = useWorld();
const HOUR = 3_600_000;
const ADMIN_TOKEN = `kong-admin-${randomUUID()}`;
let kong: KongEmulator;

beforeAll(async () => {
  kong = new KongEmulator({ adminToken: ADMIN_TOKEN, clock: world.clock });
  await kong.start();
  world.keyVault.seedSecret("kong-admin-token", ADMIN_TOKEN);
});
afterAll(() => kong.close());

function withKong() {
  return {
    gateway: undefined,
    groups: [
      world.cequenceGroup(),
      { kind: "kong-openid-connect", adminUrl: kong.url, adminTokenSecretName: "kong-admin-token", pageSize: 2, maxRequestsPerSecond: 500 },
    ],
  };
}

describe("target groups: cequence + kong-openid-connect", () => {
  it("a pass writes both groups and proves both by salted hash; a vault-reference plugin is reported as refreshed by Kong itself; the old secret is retired after grace", async () => {
    kong.reset();
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: withKong() });
    const old = s.seeded.handMade.secretText;
    const plugins = [0, 1, 2].map((i) =>
      kong.seedPlugin({
        issuer: `${world.authorityHost}/${world.tenantId}/v2.0`,
        clientIds: [s.set.clientId],
        clientSecrets: [old],
        instanceName: `oidc-${i}`,
      }),
    );
    const otherApp = kong.seedPlugin({
      issuer: "https://issuer.example",
      clientIds: [randomUUID()],
      clientSecrets: [`other-${randomUUID()}`],
      instanceName: "oidc-other-app",
    });
    const viaVault = kong.seedPlugin({
      issuer: "https://issuer.example",
      clientIds: [s.set.clientId],
      clientSecrets: ["{vault://azure/sso-client-secret}"],
      instanceName: "oidc-vault-ref",
    });

    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    for (const p of plugins) expect(kong.plugins().find((x) => x.id === p.id)!.config.client_secret).toEqual([current.value]);
    expect(kong.plugins().find((x) => x.id === otherApp.id)!.config.client_secret).toEqual(otherApp.config.client_secret);
    expect(kong.plugins().find((x) => x.id === viaVault.id)!.config.client_secret).toEqual(["{vault://azure/sso-client-secret}"]);
    for (const t of s.targets()) expect(t.clientSecret).toBe(current.value);

    const kongRecords = done.journal.targets.filter((t) => t.group === 1);
    expect(
      kongRecords
        .filter((t) => t.outcome === undefined)
        .map((t) => [t.name, t.proof])
        .sort(),
    ).toEqual([
      ["oidc-0", "fingerprint"],
      ["oidc-1", "fingerprint"],
      ["oidc-2", "fingerprint"],
    ]);
    expect(kongRecords.find((t) => t.name === "oidc-vault-ref")).toMatchObject({
      outcome: "refreshed",
      evidence: expect.stringContaining("Kong refreshes it from the vault itself"),
    });
    expect(s.credentials().map((c) => c.keyId)).toEqual([current.tags["keyId"]]);

    const scan = await s.scanJournals(s.scanner().addSecrets(kong.issuedSecrets()));
    scan.assertClean();
  });

  it("a Kong plugin that does not keep the new secret holds retirement, with an incident naming it, until it holds the new secret", async () => {
    kong.reset();
    // Rotation events go to the real alerting, so the incident is the one on-call would get.
    const holder: { runtime?: BuiltRuntime } = {};
    const s = await Scenario.create(
      world,
      { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: withKong() },
      { onRotationEvent: (e, l) => holder.runtime!.alerting.onRotationEvent(e, l) },
    );
    holder.runtime = s.runtime;
    const old = s.seeded.handMade.secretText;
    const stubborn = kong.seedPlugin({ issuer: "https://issuer.example", clientIds: [s.set.clientId], clientSecrets: [old], instanceName: "oidc-stubborn" });
    kong.seedPlugin({ issuer: "https://issuer.example", clientIds: [s.set.clientId], clientSecrets: [old], instanceName: "oidc-fine" });
    kong.revertSecretWrites(stubborn.id);

    const first = await s.pass();
    const promoted = s.vaultCurrent()!;
    expect(promoted.tags["keyId"]).not.toBe(s.seeded.handMade.keyId);
    expect(first.status).toBe("failed");
    expect(first.journal.error?.message).toContain("oidc-stubborn");
    // The cequence group was not held back by Kong: it holds the new secret.
    for (const t of s.targets()) expect(t.clientSecret).toBe(promoted.value);
    const incident = (await s.runtime.alerting.manager.listOpen(s.set.name)).find((i) => i.check === RUN_FAILURE_CHECK);
    expect(JSON.stringify(incident)).toContain("oidc-stubborn");
    const scan = await s.scanJournals(s.scanner().addSecrets(kong.issuedSecrets()));
    scan.collect("incident", incident).assertClean();

    // Past the grace period, every further pass keeps the previous credential while the plugin lacks the new secret.
    world.clock.advance(25 * HOUR);
    for (let i = 0; i < 2; i++) {
      const again = await s.pass();
      expect(again.status).toBe("failed");
      expect(again.journal.error?.message).toContain("oidc-stubborn");
      expect(s.credentials().map((c) => c.keyId)).toContain(s.seeded.handMade.keyId);
    }
    expect(kong.plugins().find((p) => p.id === stubborn.id)!.config.client_secret).toEqual([old]);

    // The second writer stops: the next pass repairs the plugin and retires the previous credential.
    kong.revertSecretWrites(stubborn.id, false);
    const healed = await s.pass();
    expect(healed.status).toBe("succeeded");
    expect(kong.plugins().find((p) => p.id === stubborn.id)!.config.client_secret).toEqual([promoted.value]);
    expect(s.credentials().map((c) => c.keyId)).toEqual([promoted.tags["keyId"]]);
  });
});
