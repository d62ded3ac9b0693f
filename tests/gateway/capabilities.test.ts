import { gatewayTokenSecretField, gatewaySchema } from "../../src/config/schema.js";
import { describe, expect, it } from "vitest";
import { createGatewayAdapter } from "../../src/gateway/factory.js";
import { HttpClient } from "../../src/http/client.js";

/**
 * Issue 23 item 3: each adapter declares what it can do, from its validated config block, and the
 * engine reads only that (tests/dependencyDirection.test.ts checks no kind is compared elsewhere).
 */
const http = new HttpClient({ retry: { maxRetries: 0 } });

describe("gateway adapter capabilities", () => {
  it("cequence: pushed over its API, proven by a fingerprint read-back, concurrency and test connection from its config", () => {
    const config = gatewaySchema.parse({
      kind: "cequence",
      baseUrl: "https://127.0.0.1:1",
      tenant: "t",
      apiTokenSecretName: "gateway-api-token",
      maxConcurrency: 7,
      testConnection: false,
    });
    expect(createGatewayAdapter(config, { apiToken: "x", http }).capabilities).toEqual({
      delivery: "push",
      pickupProof: "fingerprint",
      maxConcurrency: 7,
      testConnection: false,
    });
    expect(gatewayTokenSecretField(config)?.name).toBe("gateway-api-token");
  });

  it("manual: delivered and proven by an operator, one at a time, no test connection, no API token", () => {
    const config = gatewaySchema.parse({ kind: "manual", targets: ["a", "b"] });
    expect(createGatewayAdapter(config, { http }).capabilities).toEqual({
      delivery: "operator",
      pickupProof: "operator",
      maxConcurrency: 1,
      testConnection: false,
    });
    expect(gatewayTokenSecretField(config)?.name).toBeUndefined();
  });

  it("apim-named-value: Key Vault-backed ones are refreshed and proven by status within 4 h; plain ones are pushed and proven by fingerprint; both reached through ARM", () => {
    const services = ["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim1"];
    const deps = {
      http,
      credential: { getToken: () => Promise.resolve(null) },
      keyVaultSecret: { vaultUrl: "https://corp-vault.vault.azure.net", secretName: "sso" },
    };
    const kv = createGatewayAdapter(gatewaySchema.parse({ kind: "apim-named-value", services, maxConcurrency: 3 }), deps);
    expect(kv.capabilities).toEqual({ delivery: "keyVault", pickupProof: "status", maxConcurrency: 3, testConnection: false, maxPickupDelayMs: 4 * 3_600_000 });
    expect(kv.requestRefresh).toBeTypeOf("function");
    const plain = createGatewayAdapter(gatewaySchema.parse({ kind: "apim-named-value", services, plainNamedValues: ["sso"] }), deps);
    expect(plain.capabilities).toEqual({ delivery: "push", pickupProof: "fingerprint", maxConcurrency: 4, testConnection: false });
    const cm = createGatewayAdapter(gatewaySchema.parse({ kind: "apim-credential-manager", services }), deps);
    expect(cm.capabilities).toEqual({ delivery: "push", pickupProof: "status", maxConcurrency: 4, testConnection: false });
    expect(gatewayTokenSecretField(gatewaySchema.parse({ kind: "apim-credential-manager", services }))).toBeUndefined();
  });
});
