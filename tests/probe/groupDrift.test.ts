import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { probeSet } from "../../src/handlers/health.js";
import { runProbe } from "../../src/probe/runProbe.js";
import { timeProofConsumer } from "../helpers/timeConsumer.js";
import { memoryLogger } from "../../src/logging.js";
import type { CheckResult, ProbeReport } from "../../src/probe/model.js";
import { Scenario, useWorld } from "../rotation/harness.js";
import { ESTATE_APIM, ESTATE_SITE, useEveryKindEstate } from "../rotation/everyKind.js";

/**
 * Issue 24 item 8: the `gateway-drift` probe checks every target group of every kind through the
 * adapters' capabilities and the one proof rule, wired as production wires it (probeSet with the
 * runtime's clients). A real rotation leaves a clean estate that passes; then one consumer of each
 * kind is made to hold (or report) something other than Key Vault's current secret — by the
 * emulators, their ground truth — and the check names each one with its group and kind.
 */
const world = useWorld();
const HOUR = 3_600_000;
const estate = useEveryKindEstate(world);

const driftOf = (r: ProbeReport): CheckResult => r.checks.find((c) => c.id === "gateway-drift")!;

describe("gateway-drift checks every group of every kind", () => {
  it("a rotated estate passes with every group proven; one drifted consumer per kind is named with its group and kind", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: estate.overrides() });
    const old = s.seeded.handMade.secretText;
    estate.seed(s);
    const done = await s.runToEnd();
    expect(done.status).toBe("succeeded");
    const { logger, lines } = memoryLogger();

    const clean = driftOf(await probeSet(s.runtime, s.set, logger));
    expect(clean.status, JSON.stringify(clean)).toBe("pass");
    expect(clean.evidence["kinds"]).toEqual([
      "cequence: 2 targets, 2 proven (fingerprint)",
      "kong-openid-connect: 1 target, 1 proven (fingerprint)",
      "apim-named-value: 1 target, 1 proven (status)",
      "apim-named-value: 1 target, 1 proven (fingerprint)",
      "apim-credential-manager: 1 target, 1 proven (status)",
      "appservice-keyvault-reference: 1 target, 1 proven (status)",
    ]);
    expect(clean.evidence["holdingCurrentSecret"]).toBe(7);

    // One consumer of each kind drifts, each the way it does in the field.
    const [server] = s.targets();
    world.gateway.setServerSecret(server!.id, old); // pasted back by hand
    estate.kong.seedPlugin({ issuer: "https://issuer.example", clientIds: [s.set.clientId], clientSecrets: [old], instanceName: "oidc-late" }); // added with the old secret
    estate.arm.apim.seedNamedValue(ESTATE_APIM, { name: "sso-plain", value: old, secret: true }); // plain value set back
    estate.arm.apim.seedConnection(ESTATE_APIM, "aad-cc", { name: "cc-late", clientId: s.set.clientId, clientSecret: old }); // a connection added with the retired secret
    // The app's identity was removed: it restarts and can no longer resolve its reference.
    estate.arm.appService.seedSite(ESTATE_SITE, {
      settings: { SSO_CLIENT_SECRET: `@Microsoft.KeyVault(SecretUri=${world.keyVault.url}/secrets/${s.set.keyVault.secretName})` },
      identity: "None",
    });

    const drifted = driftOf(await probeSet(s.runtime, s.set, logger));
    expect(drifted.status).toBe("fail");
    const text = JSON.stringify(drifted);
    const expected: [label: string, name: string][] = [
      ["group 1 (cequence)", server!.name],
      ["group 2 (kong-openid-connect)", "oidc-late"],
      ["group 4 (apim-named-value)", "apim-estate/sso-plain"],
      ["group 5 (apim-credential-manager)", "cc-late"],
      ["group 6 (appservice-keyvault-reference)", "estate-func/SSO_CLIENT_SECRET"],
    ];
    for (const [label, name] of expected) expect(text).toMatch(new RegExp(`${label.replace(/[()]/g, "\\$&")}: 1 target\\(s\\) \\([^)]*${name}`));
    expect(drifted.evidence["kinds"]).toContain("apim-named-value: 1 target, 1 proven (status)");
    expect(drifted.evidence["holdingCurrentSecret"]).toBe(4); // 9 targets now, 5 of them drifted
    // The connection's Entra error is the consumer's own words, carried into the finding.
    expect(text).toContain("AADSTS7000215");

    const scan = await s.scanJournals(s.scanner().addSecrets([...estate.arm.issuedSecrets(), ...estate.kong.issuedSecrets()]));
    scan.collect("probe", [clean, drifted]).collectAll("probe log", lines);
    scan.assertClean();
  });

  it("while a Key Vault consumer's pickup delay runs, an unproven one is news, not drift; past it, it is drift", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1, otherTargets: 0, overrides: estate.overrides() });
    estate.seed(s);
    expect((await s.runToEnd()).status).toBe("succeeded");
    // Someone sets a new Key Vault version by hand: no consumer has it, and App Service may take 24 h.
    world.clock.advance(HOUR);
    estate.arm.appService.freeze(ESTATE_SITE);
    world.keyVault.seedSecret(s.set.keyVault.secretName, `hand-set-${randomUUID()}`);
    const inWindow = driftOf(await probeSet(s.runtime, s.set, memoryLogger().logger));
    expect(JSON.stringify(inWindow)).toMatch(
      /group 6 \(appservice-keyvault-reference\): 1 target\(s\) \(estate-func\/SSO_CLIENT_SECRET\) have not reported the current secret yet; they pick it up by/,
    );
    world.clock.advance(25 * HOUR);
    const after = driftOf(await probeSet(s.runtime, s.set, memoryLogger().logger));
    expect(after.status).toBe("fail");
    expect(JSON.stringify(after)).toMatch(
      /group 6 \(appservice-keyvault-reference\): 1 target\(s\) \(estate-func\/SSO_CLIENT_SECRET\) do not hold the secret Key Vault holds now/,
    );
  });

  it("an operator group reports the servers not confirmed yet, and a time-proof group its window", async () => {
    const s = await Scenario.due(world, {
      targets: 2,
      otherTargets: 0,
      overrides: { gateway: undefined, groups: [world.cequenceGroup(), { kind: "manual", targets: ["hr-mcp-on-prem", "kong-eu-legacy"] }] },
    });
    const first = await s.pass();
    expect(first.status).toBe("awaiting_confirmation");
    const clients = await s.runtime.clientsFor(s.set);
    const { logger } = memoryLogger();
    const report = await runProbe({
      set: s.set,
      deps: {
        graph: clients.graph,
        token: clients.token,
        vault: clients.vault,
        gateway: clients.gateway,
        groups: [...clients.groups, timeProofConsumer(4 * HOUR, ["kv-consumer"])],
        http: s.runtime.http,
        journals: s.runtime.journals,
        clock: world.clock,
        logger,
      },
    });
    const drift = driftOf(report);
    const windowEnds = new Date(s.vaultCurrent()!.createdOn.getTime() + 4 * HOUR).toISOString();
    expect(drift.evidence["kinds"]).toEqual([
      "cequence: 2 targets, 2 proven (fingerprint)",
      "manual: 2 targets, 0 proven (operator)",
      "manual: 1 target, 0 proven (time)",
    ]);
    const text = JSON.stringify(drift);
    expect(text).toContain("group 2 (manual): 2 server(s) (hr-mcp-on-prem, kong-eu-legacy) not confirmed on the current secret yet");
    expect(text).toContain(`group 3 (manual): 1 target(s) pick up the current secret by ${windowEnds} (time proof: nothing to read)`);
    expect(drift.status).toBe("warn");
  });
});
