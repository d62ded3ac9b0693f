import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { credentialSetSchema } from "../../src/config/schema.js";
import { graphScope } from "../../src/entra/scope.js";
import { runProbe } from "../../src/probe/runProbe.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Defect 8 (issue 8): the Graph scope was hard-coded to the global cloud in the Graph client, in
 * verify and in adoption. In a national cloud the authority issues tokens only for that cloud's
 * Graph (https://learn.microsoft.com/graph/deployments); asking for graph.microsoft.com fails with
 * AADSTS500011. The scope now comes from the set's graphBaseUrl, everywhere, through one helper.
 */
describe("national clouds", () => {
  it("national clouds: a set on login.microsoftonline.us / graph.microsoft.us asks for https://graph.microsoft.us/.default", () => {
    const set = credentialSetSchema.parse({
      name: "gov-sso",
      tenantId: randomUUID(),
      clientId: randomUUID(),
      authorityHost: "https://login.microsoftonline.us",
      graphBaseUrl: "https://graph.microsoft.us",
      keyVault: { url: "https://gov-vault.vault.usgovcloudapi.net", secretName: "gov-sso-client-secret" },
      gateway: { kind: "manual", targets: [] },
    });
    expect(graphScope(set.graphBaseUrl)).toBe("https://graph.microsoft.us/.default");
    expect(graphScope("https://dod-graph.microsoft.us/")).toBe("https://dod-graph.microsoft.us/.default");
    expect(graphScope("https://microsoftgraph.chinacloudapi.cn")).toBe("https://microsoftgraph.chinacloudapi.cn/.default");
    expect(graphScope("https://graph.microsoft.com")).toBe("https://graph.microsoft.com/.default");
    expect(() => graphScope("graph.microsoft.us")).toThrow(/graphBaseUrl .* is not a URL/);
  });

  describe("against a US Government directory (emulated)", () => {
    // This directory's Graph is https://graph.microsoft.us: a global-Graph scope gets AADSTS500011.
    const world = useWorld({ graphResource: "https://graph.microsoft.us" });

    it("national clouds: adopts, creates, verifies at Entra, propagates and retires with tokens for the set's own Graph", async () => {
      const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3 });
      // The gateway's test connection asks for a `/.default` scope (global Graph unless the server names one):
      // servers in this cloud name theirs.
      for (const t of s.targets()) world.gateway.editServer(t.id, { scopes: [...t.scopes, "https://graph.microsoft.us/.default"] });
      const res = await s.runToEnd();
      expect(res.status).toBe("succeeded");
      expect(res.journal.plan?.adoption?.status).toBe("adopted");
      expect(res.journal.steps.find((st) => st.name === "verify-entra")?.status).toBe("done");
      expect(s.credentials().map((c) => c.keyId)).toEqual([res.journal.newCredential!.keyId]);
      for (const t of s.targets()) expect(t.clientSecret).toBe(s.vaultCurrent()!.value);
      // No token request anywhere asked for another cloud's Graph.
      expect(world.entra.server.requests.filter((r) => /oauth2\/v2\.0\/token$/.test(r.path) && r.status !== 200)).toEqual([]);
      s.assertNoOutage("after rotation");

      const clients = await s.runtime.clientsFor(s.set);
      const report = await runProbe({
        set: s.set,
        deps: { ...clients, clock: world.clock, journals: s.runtime.journals },
        checks: ["token", "expiry", "policy"],
      });
      expect(report.checks.map((c) => [c.id, c.status])).toEqual([
        ["token", "pass"],
        ["expiry", "pass"],
        ["policy", "pass"],
      ]);
      (await s.scanJournals(s.scanner().collect("probe", report))).assertClean();
    });
  });
});
