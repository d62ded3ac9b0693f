import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KongEmulator, KonnectEmulator, type KongPlugin, type KongPluginsEmulator, type SeedPluginInput } from "../../emulators/kong/index.js";
import { RUN_FAILURE_CHECK } from "../../src/alerts/model.js";
import { Scenario, updatedTargetRows, useWorld } from "./harness.js";

/**
 * Issue 24 items 1 and 5 together: a set whose secret lives on the cequence gateway AND in Kong
 * `openid-connect` plugins, reached three ways: the self-hosted Admin API, the Admin API across
 * Enterprise workspaces, and a Konnect control plane (full PUT). Both groups are written by one
 * pass; a Kong plugin that does not keep the new secret (a second writer puts the old one back —
 * no ETag to stop it) holds retirement, with an incident naming it, until it holds the new secret.
 * Ground truth: the emulators.
 */
const world = useWorld();
const HOUR = 3_600_000;
const ADMIN_TOKEN = `kong-admin-${randomUUID()}`;
const KONNECT_TOKEN = `kpat_${randomUUID().replaceAll("-", "")}`;

/** One way to reach Kong: its emulator, the group config, and where the i-th seeded plugin goes (with the target name it gets). */
interface Flavour {
  name: string;
  kong: KongPluginsEmulator;
  group(): Record<string, unknown>;
  seed(input: SeedPluginInput, i: number): { plugin: KongPlugin; name: string };
}

const adminApi = new KongEmulator({ adminToken: ADMIN_TOKEN, clock: world.clock, workspaces: ["team-a", "team-b"] });
const konnect = new KonnectEmulator({ accessToken: KONNECT_TOKEN, clock: world.clock });
const adminGroup = () => ({
  kind: "kong-openid-connect",
  adminUrl: adminApi.url,
  adminTokenSecretName: "kong-admin-token",
  pageSize: 2,
  maxRequestsPerSecond: 500,
});
const named = (plugin: KongPlugin, prefix = "") => ({ plugin, name: `${prefix}${plugin.instance_name}` });
const FLAVOURS: Flavour[] = [
  { name: "self-hosted Admin API", kong: adminApi, group: adminGroup, seed: (input) => named(adminApi.seedPlugin(input)) },
  {
    name: "Admin API across two workspaces",
    kong: adminApi,
    group: () => ({ ...adminGroup(), workspaces: ["team-a", "team-b"] }),
    seed: (input, i) => {
      const workspace = i % 2 === 0 ? "team-a" : "team-b";
      return named(adminApi.seedPlugin({ ...input, workspace }), `${workspace}/`);
    },
  },
  {
    name: "Konnect control plane",
    kong: konnect,
    group: () => ({
      kind: "kong-openid-connect",
      api: "konnect",
      konnectUrl: `${konnect.url}/v2`,
      controlPlaneId: konnect.controlPlaneIds[0],
      accessTokenSecretName: "konnect-token",
      pageSize: 2,
      maxRequestsPerSecond: 500,
    }),
    seed: (input) => named(konnect.seedPlugin(input)),
  },
];

beforeAll(async () => {
  await Promise.all([adminApi.start(), konnect.start()]);
  world.keyVault.seedSecret("kong-admin-token", ADMIN_TOKEN);
  world.keyVault.seedSecret("konnect-token", KONNECT_TOKEN);
});
afterAll(() => Promise.all([adminApi.close(), konnect.close()]));

describe.each(FLAVOURS)("target groups: cequence + kong-openid-connect ($name)", ({ kong, group, seed }) => {
  const withKong = () => ({ gateway: undefined, groups: [world.cequenceGroup(), group()] });

  it("a pass writes both groups and proves both by salted hash; a vault-reference plugin is reported as refreshed by Kong itself; the old secret is retired after grace", async () => {
    kong.reset();
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: withKong() });
    const old = s.seeded.handMade.secretText;
    const seeded = [0, 1, 2].map((i) =>
      seed({ issuer: `${world.authorityHost}/${world.tenantId}/v2.0`, clientIds: [s.set.clientId], clientSecrets: [old], instanceName: `oidc-${i}` }, i),
    );
    const plugins = seeded.map((x) => x.plugin);
    const otherApp = seed(
      { issuer: "https://issuer.example", clientIds: [randomUUID()], clientSecrets: [`other-${randomUUID()}`], instanceName: "oidc-other-app" },
      3,
    ).plugin;
    const vault = seed(
      { issuer: "https://issuer.example", clientIds: [s.set.clientId], clientSecrets: ["{vault://azure/sso-client-secret}"], instanceName: "oidc-vault-ref" },
      4,
    );
    const viaVault = vault.plugin;

    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const current = s.vaultCurrent()!;
    for (const p of plugins) expect(kong.plugins().find((x) => x.id === p.id)!.config.client_secret).toEqual([current.value]);
    expect(kong.plugins().find((x) => x.id === otherApp.id)!.config.client_secret).toEqual(otherApp.config.client_secret);
    expect(kong.plugins().find((x) => x.id === viaVault.id)!.config.client_secret).toEqual(["{vault://azure/sso-client-secret}"]);
    for (const t of s.targets()) expect(t.clientSecret).toBe(current.value);

    const kongRecords = done.journal.targets.filter((t) => t.group === 1);
    expect(updatedTargetRows(kongRecords, (t) => [t.name, t.proof])).toEqual(seeded.map((x) => [x.name, "fingerprint"]).sort());
    expect(kongRecords.find((t) => t.name === vault.name)).toMatchObject({
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
    const s = await Scenario.alerting(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: withKong() });
    const old = s.seeded.handMade.secretText;
    // Seeded first (and in the first workspace): the canary of its group, whose failure stops the group's pass.
    const { plugin: stubborn, name: stubbornName } = seed(
      { issuer: "https://issuer.example", clientIds: [s.set.clientId], clientSecrets: [old], instanceName: "oidc-stubborn" },
      0,
    );
    seed({ issuer: "https://issuer.example", clientIds: [s.set.clientId], clientSecrets: [old], instanceName: "oidc-fine" }, 1);
    kong.revertSecretWrites(stubborn.id);

    const first = await s.pass();
    const promoted = s.vaultCurrent()!;
    expect(promoted.tags["keyId"]).not.toBe(s.seeded.handMade.keyId);
    expect(first.status).toBe("failed");
    expect(first.journal.error?.message).toContain(stubbornName);
    // The cequence group was not held back by Kong: it holds the new secret.
    for (const t of s.targets()) expect(t.clientSecret).toBe(promoted.value);
    const incident = (await s.runtime.alerting.manager.listOpen(s.set.name)).find((i) => i.check === RUN_FAILURE_CHECK);
    expect(JSON.stringify(incident)).toContain(stubbornName);
    const scan = await s.scanJournals(s.scanner().addSecrets(kong.issuedSecrets()));
    scan.collect("incident", incident).assertClean();

    // Past the grace period, every further pass keeps the previous credential while the plugin lacks the new secret.
    world.clock.advance(25 * HOUR);
    for (let i = 0; i < 2; i++) {
      const again = await s.pass();
      expect(again.status).toBe("failed");
      expect(again.journal.error?.message).toContain(stubbornName);
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
