import { describe, expect, it } from "vitest";
import { gatewaySchema } from "../../src/config/schema.js";
import { createGatewayAdapter } from "../../src/gateway/factory.js";
import { HttpClient } from "../../src/http/client.js";
import { proofSeen, provesPickup } from "../../src/gateway/proof.js";
import { referenceNames, vaultNameOf } from "../../src/gateway/appServiceKeyVaultReference/reference.js";

/**
 * Issue 24 item 4, the pieces of the appservice-keyvault-reference kind that need no emulator: its
 * capabilities, which references name the set's secret (both syntaxes of
 * ../shared/specs/appservice-keyvault-references.md § Refresh / rotation), and the proof rule for a
 * consumer that reports `activeVersion`.
 */
const SITE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.Web/sites/orders-func";
const secret = { vaultUrl: "https://corp-vault.vault.azure.net/", secretName: "sso-secret", vaultName: "corp-vault" };

describe("appservice-keyvault-reference", () => {
  it("capabilities: delivered by Key Vault, proven by status (and version), 24 h maximum pickup delay", () => {
    const config = gatewaySchema.parse({ kind: "appservice-keyvault-reference", sites: [SITE], maxConcurrency: 3 });
    const adapter = createGatewayAdapter(config, {
      http: new HttpClient({ retry: { maxRetries: 0 } }),
      credential: { getToken: () => Promise.resolve(null) },
      keyVaultSecret: secret,
    });
    expect(adapter.capabilities).toEqual({
      delivery: "keyVault",
      pickupProof: "status",
      maxConcurrency: 3,
      testConnection: false,
      maxPickupDelayMs: 24 * 3_600_000,
    });
    expect(typeof adapter.requestRefresh).toBe("function");
  });

  it("a reference names the set's secret without a version in either syntax, case-insensitively; a version pins it; another vault or secret is not it", () => {
    const cases: [string, "current" | "versioned" | undefined][] = [
      ["@Microsoft.KeyVault(SecretUri=https://corp-vault.vault.azure.net/secrets/sso-secret)", "current"],
      ["@Microsoft.KeyVault(SecretUri=https://CORP-VAULT.vault.azure.net/secrets/SSO-Secret/)", "current"],
      ["@Microsoft.KeyVault(SecretUri=https://corp-vault.vault.azure.net/secrets/sso-secret/0123456789abcdef0123456789abcdef)", "versioned"],
      ["@Microsoft.KeyVault(VaultName=corp-vault;SecretName=sso-secret)", "current"],
      ["@microsoft.keyvault(vaultname=Corp-Vault; secretname=sso-secret)", "current"],
      ["@Microsoft.KeyVault(VaultName=corp-vault;SecretName=sso-secret;SecretVersion=0123456789abcdef0123456789abcdef)", "versioned"],
      ["@Microsoft.KeyVault(SecretUri=https://other-vault.vault.azure.net/secrets/sso-secret)", undefined],
      ["@Microsoft.KeyVault(VaultName=other-vault;SecretName=sso-secret)", undefined],
      ["@Microsoft.KeyVault(VaultName=corp-vault;SecretName=sso-secret-2)", undefined],
      ["@Microsoft.KeyVault(SecretUri=not a url)", undefined],
    ];
    for (const [reference, want] of cases) expect(referenceNames({ reference }, secret), reference).toBe(want);
    // Only the metadata of the examples (no raw reference): vaultName/secretName/secretVersion.
    expect(referenceNames({ vaultName: "corp-vault", secretName: "sso-secret", secretVersion: "" }, secret)).toBe("current");
    expect(referenceNames({ vaultName: "corp-vault", secretName: "sso-secret", secretVersion: "v1" }, secret)).toBe("versioned");
    expect(vaultNameOf("https://corp-vault.vault.azure.net/")).toBe("corp-vault");
  });

  it("status proof with activeVersion: the promoted version proves (recorded as version), a stale one never does, whatever the time", () => {
    const expected = { secret: "", promotedVersion: "v2", promotedAt: Date.parse("2026-01-01T00:00:00Z") };
    const after = "2026-01-01T01:00:00Z";
    expect(provesPickup({ pickup: { ok: true, at: after, version: "v2" } }, expected, "status")).toBe(true);
    expect(provesPickup({ pickup: { ok: true, version: "v2" } }, expected, "status")).toBe(true);
    expect(provesPickup({ pickup: { ok: true, at: after, version: "v1" } }, expected, "status")).toBe(false);
    expect(provesPickup({ pickup: { ok: false, at: after, version: "v2" } }, expected, "status")).toBe(false);
    expect(provesPickup({ pickup: { ok: true, at: after } }, expected, "status")).toBe(true);
    expect(provesPickup({ pickup: { ok: true, at: "2025-12-31T23:00:00Z" } }, expected, "status")).toBe(false);
    expect(proofSeen({ pickup: { ok: true, version: "v2" } }, "status")).toBe("version");
    expect(proofSeen({ pickup: { ok: true, at: after } }, "status")).toBe("status");
    expect(proofSeen({ pickup: { ok: true, version: "v2" } }, "fingerprint")).toBe("fingerprint");
  });
});
