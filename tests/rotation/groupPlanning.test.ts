import { gatewayTokenSecretField, credentialSetSchema } from "../../src/config/schema.js";
import { describe, expect, it } from "vitest";
import { createGatewayAdapter } from "../../src/gateway/factory.js";
import { scopeToGroup } from "../../src/gateway/groups.js";
import type { GatewayAdapter } from "../../src/gateway/types.js";
import { HttpClient } from "../../src/http/client.js";
import { groupWarnings } from "../../src/rotation/steps.js";
import { longestPickupDelayMs, runGroups } from "../../src/rotation/groups.js";

/**
 * Issue 24 item 1, the parts that need no emulator: which groups a set has, the kong kind's
 * capabilities and token, and the planner's warning when the grace period is shorter than the
 * longest pickup delay of a `time`-proof group. No `time` kind exists yet (API Management Key Vault
 * values and App Service references are items 3 and 4), so that warning is checked with an adapter
 * that declares only capabilities — the engine reads nothing else (tests/dependencyDirection.test.ts).
 */
const http = new HttpClient({ retry: { maxRetries: 0 } });
const set = credentialSetSchema.parse({
  name: "mixed",
  tenantId: "3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c",
  clientId: "7c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e",
  keyVault: { url: "https://kv.vault.azure.net", secretName: "mixed-client-secret" },
  secret: { gracePeriodHours: 2 },
  groups: [
    { kind: "kong-openid-connect", adminUrl: "https://127.0.0.1:8444", adminTokenSecretName: "kong-admin-token", maxConcurrency: 3 },
    { kind: "manual", targets: ["legacy"] },
  ],
});

function timeProofConsumer(hours: number): GatewayAdapter {
  const refuse = (): Promise<never> => Promise.reject(new Error("a time-proof consumer is never read or written"));
  return {
    kind: "manual",
    capabilities: { delivery: "keyVault", pickupProof: "time", maxConcurrency: 1, testConnection: false, maxPickupDelayMs: hours * 3_600_000 },
    listTargets: () => Promise.resolve([]),
    readTarget: refuse,
    updateClientSecret: refuse,
  };
}

describe("target groups: planning", () => {
  it("kong-openid-connect: pushed by PATCH, proven by a salted hash of the re-read, its admin token read from Key Vault", () => {
    const kong = set.groups![0]!;
    expect(gatewayTokenSecretField(kong)?.name).toBe("kong-admin-token");
    expect(createGatewayAdapter(kong, { apiToken: "x", http, clientId: set.clientId }).capabilities).toEqual({
      delivery: "push",
      pickupProof: "fingerprint",
      maxConcurrency: 3,
      testConnection: false,
    });
  });

  it("the planner warns when the grace period is shorter than the longest time-proof group's pickup delay, and not otherwise", () => {
    const adapters = set.groups!.map((g) => createGatewayAdapter(g, { apiToken: "x", http, clientId: set.clientId }));
    expect(groupWarnings({ set, gateway: adapters[0]!, groups: adapters })).toEqual([]);
    const withSlow = [...adapters, timeProofConsumer(4), timeProofConsumer(24)];
    expect(longestPickupDelayMs({ gateway: withSlow[0]!, groups: withSlow })).toBe(24 * 3_600_000);
    const [warning] = groupWarnings({ set, gateway: withSlow[0]!, groups: withSlow });
    expect(warning).toMatch(/grace period \(2 h\) is shorter than the longest pickup delay .* \(24 h\).*gracePeriodHours to at least 24/);
    const longGrace = { ...set, secret: { ...set.secret, gracePeriodHours: 24 } };
    expect(groupWarnings({ set: longGrace, gateway: withSlow[0]!, groups: withSlow })).toEqual([]);
  });

  it("every group after the first sees its target IDs namespaced, and an ID of another group never reaches its adapter", async () => {
    const groups = runGroups({
      gateway: createGatewayAdapter(set.groups![1]!, { http }),
      groups: [createGatewayAdapter(set.groups![1]!, { http }), createGatewayAdapter(set.groups![1]!, { http })],
    });
    expect((await groups[0]!.adapter.listTargets({ clientId: set.clientId })).map((t) => t.id)).toEqual(["legacy"]);
    expect((await groups[1]!.adapter.listTargets({ clientId: set.clientId })).map((t) => t.id)).toEqual(["g2:legacy"]);
    expect((await groups[1]!.adapter.readTarget("g2:legacy")).name).toBe("legacy");
    await expect(scopeToGroup(createGatewayAdapter(set.groups![1]!, { http }), 1).readTarget("legacy")).rejects.toMatchObject({
      code: "TARGET_GROUP_MISMATCH",
    });
  });
});
