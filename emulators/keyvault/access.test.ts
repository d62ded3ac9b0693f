import { ClientSecretCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SecretScanner } from "../../tests/helpers/secretScan.js";
import { failure, startKeyVaultFixture, type KeyVaultFixture } from "./fixture.js";

/** Azure RBAC roles, throttling and the control plane the tests and the demo use. */
describe("Key Vault emulator: roles, throttling and control routes", () => {
  let f: KeyVaultFixture;

  beforeAll(async () => {
    f = await startKeyVaultFixture();
  });
  afterEach(() => {
    f.vault.auth.clearRoles();
    f.vault.server.faults.clear();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("lets a Key Vault Secrets User read but answers a write with 403 Forbidden / ForbiddenByRbac naming the action", async () => {
    f.vault.seedSecret("rbac-read", "rbac-read-value-1");
    f.vault.assignRole("Key Vault Secrets User");
    const client = f.client();
    expect((await client.getSecret("rbac-read")).value).toBe("rbac-read-value-1");
    const e = await failure(client.setSecret("rbac-read", "rbac-read-value-2"));
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe("Forbidden");
    expect(e.message).toMatch(/^Caller is not authorized to perform action on resource\./);
    expect(e.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'");
    expect(e.message).toContain(`appid=${f.entra.operator.app.appId}`);
    expect((e.details as { error: { innerError: { code: string } } }).error.innerError.code).toBe("ForbiddenByRbac");
  });

  it("gives a Key Vault Reader metadata but not values", async () => {
    f.vault.seedSecret("rbac-metadata", "rbac-metadata-value-1");
    f.vault.assignRole("Key Vault Reader");
    const client = f.client();
    const listed = [];
    for await (const p of client.listPropertiesOfSecretVersions("rbac-metadata")) listed.push(p);
    expect(listed).toHaveLength(1);
    expect((await failure(client.getSecret("rbac-metadata"))).statusCode).toBe(403);
  });

  it("applies a role assigned to one app only to that app", async () => {
    f.vault.assignRole("none", f.entra.operator.app.appId);
    f.vault.assignRole("Key Vault Secrets Officer");
    expect((await failure(f.client().getSecret("rbac-read"))).statusCode).toBe(403);
  });

  it("throttles with 429 and Retry-After, which the SDK's retry policy waits out", async () => {
    f.vault.seedSecret("throttled", "throttled-value-1");
    const client = f.client({ retryOptions: { maxRetries: 2 } });
    await client.getSecret("throttled"); // complete the challenge first
    const before = f.vault.server.count("GET", /^\/secrets\/throttled\/$/);
    f.vault.throttle({ times: 1, retryAfterSeconds: 0 });
    expect((await client.getSecret("throttled")).value).toBe("throttled-value-1");
    expect(f.vault.server.count("GET", /^\/secrets\/throttled\/$/) - before).toBe(2);
  });

  it("surfaces a persistent 429 as RestError 429 with the Retry-After header", async () => {
    const client = f.client();
    await client.getSecret("throttled");
    f.vault.throttle({ retryAfterSeconds: 7 });
    const e = await failure(client.getSecret("throttled"));
    expect(e.statusCode).toBe(429);
    expect(e.response?.headers.get("retry-after")).toBe("7");
  });

  it("seeds through /_control/secrets and reports ground truth, with held values limited to enabled versions", async () => {
    const seeded = await f.raw("POST", "/_control/secrets", { body: { name: "control-seeded", value: "control-seeded-value-1", tags: { a: "1" } } });
    expect(seeded.status).toBe(201);
    f.vault.seedSecret("control-seeded", "control-seeded-value-2", { enabled: false });
    const truth = await f.raw("GET", "/_control/secrets/control-seeded");
    const body = truth.body as { versions: { value: string; enabled: boolean }[]; heldValues: string[] };
    expect(body.versions.map((v) => [v.value, v.enabled])).toEqual([
      ["control-seeded-value-1", true],
      ["control-seeded-value-2", false],
    ]);
    expect(body.heldValues).toEqual(["control-seeded-value-1"]);
  });

  it("assigns roles and throttles through /_control as well", async () => {
    expect((await f.raw("POST", "/_control/roles", { body: { role: "Key Vault Reader" } })).status).toBe(204);
    expect((await f.raw("POST", "/_control/roles", { body: { role: "Owner" } })).status).toBe(400);
    expect((await failure(f.client().getSecret("control-seeded"))).statusCode).toBe(403);
    f.vault.auth.clearRoles();
    expect((await f.raw("POST", "/_control/throttle", { body: { times: 1, retryAfterSeconds: 3 } })).status).toBe(201);
    const e = await failure(f.client().getSecret("control-seeded"));
    expect(e.statusCode).toBe(429);
  });
});

/**
 * Fidelity: Azure RBAC per identity on the data plane, through the real SecretClient with real
 * ClientSecretCredentials of two different apps.
 *
 * Microsoft Learn, "Provide access to Key Vault keys, certificates, and secrets with Azure RBAC"
 * (https://learn.microsoft.com/azure/key-vault/general/rbac-guide): "Key Vault Secrets Officer —
 * Perform any action on the secrets of a key vault"; "Key Vault Secrets User — Read secret contents"
 * (data actions Microsoft.KeyVault/vaults/secrets/getSecret/action and .../readMetadata/action only).
 * A role assignment names a principal by its object ID (the token's `oid`).
 * "Azure Key Vault REST API error codes" (https://learn.microsoft.com/azure/key-vault/general/rest-error-codes),
 * HTTP 403: the caller lacks the permission; with RBAC the body is
 * {error:{code:"Forbidden", message:"Caller is not authorized to perform action on resource. …", innererror:{code:"ForbiddenByRbac"}}}.
 */
describe("Key Vault emulator: RBAC per identity (Secrets User vs Secrets Officer)", () => {
  let f: KeyVaultFixture;
  let reader: { appId: string; objectId: string; client: SecretClient; credential: ClientSecretCredential };
  const scan = new SecretScanner();
  const seen: unknown[] = [];

  beforeAll(async () => {
    f = await startKeyVaultFixture();
    const app = f.entra.emulator.seedApplication({ tenantId: f.entra.tenantId, displayName: "a consumer that only reads", requiredScopes: [] });
    const secret = f.entra.emulator.seedPassword(app.id, {
      displayName: "s",
      endDateTime: new Date(f.clock.now().getTime() + 86_400_000).toISOString(),
    }).secretText;
    const credential = new ClientSecretCredential(f.entra.tenantId, app.appId, secret, {
      authorityHost: f.entra.url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: f.entra.emulator.caCertPem },
      retryOptions: { maxRetries: 0 },
    });
    const client = new SecretClient(f.vaultUrl, credential, {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: f.caCertPem },
      retryOptions: { maxRetries: 0 },
    });
    // The object ID a role assignment names is the service principal's, which is the token's oid.
    reader = { appId: app.appId, objectId: f.entra.emulator.seedServicePrincipal(app.appId).id, client, credential };
    f.vault.assignRole("Key Vault Secrets User", reader.objectId);
    f.vault.assignRole("Key Vault Secrets Officer", f.entra.operator.app.appId);
    f.vault.assignRole("none");
    f.vault.seedSecret("shared", "shared-value-0001", { tags: { a: "1" } });
  });
  afterAll(async () => {
    scan.addSecrets(f.entra.emulator.issuedSecrets()).addSecrets(["shared-value-0001", "shared-value-0002", "reader-value-0001"]);
    scan.collectAll("sdk errors", seen).collectAll("vault log", f.vault.server.requests);
    await f?.close();
    expect(scan.assertClean()).toBeGreaterThan(0);
  });

  const forbidden = async (p: Promise<unknown>, action: string): Promise<void> => {
    const e = await failure(p);
    seen.push(e);
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe("Forbidden");
    expect(e.message).toMatch(/^Caller is not authorized to perform action on resource\./);
    expect(e.message).toContain(`Action: 'Microsoft.KeyVault/vaults/secrets/${action}'`);
    expect(e.message).toContain(`Caller: appid=${reader.appId};oid=${reader.objectId};`);
    expect((e.details as { error: { innerError: { code: string } } }).error.innerError.code).toBe("ForbiddenByRbac");
  };

  it("a Secrets User (assigned by object ID) reads values and metadata", async () => {
    expect((await reader.client.getSecret("shared")).value).toBe("shared-value-0001");
    const names = [];
    for await (const p of reader.client.listPropertiesOfSecrets()) names.push(p.name);
    expect(names).toContain("shared");
  });

  it("a Secrets User may not set, update or delete: 403 Forbidden / ForbiddenByRbac naming the data action, and nothing changes", async () => {
    await forbidden(reader.client.setSecret("shared", "reader-value-0001"), "setSecret/action");
    const version = f.vault.versions("shared")[0]!.version;
    await forbidden(reader.client.updateSecretProperties("shared", version, { enabled: false }), "update/action");
    await forbidden(reader.client.beginDeleteSecret("shared"), "delete");
    expect(f.vault.versions("shared").map((v) => [v.value, v.enabled, v.deleted])).toEqual([["shared-value-0001", true, false]]);
  });

  it("the Secrets Officer (the rotator, assigned by client ID) does every secret data action on the same vault", async () => {
    const officer = f.client();
    await officer.setSecret("shared", "shared-value-0002");
    const latest = await officer.getSecret("shared");
    await officer.updateSecretProperties("shared", latest.properties.version!, { tags: { state: "current" } });
    const poller = await officer.beginDeleteSecret("shared");
    await poller.pollUntilDone();
    await (await officer.beginRecoverDeletedSecret("shared")).pollUntilDone();
    expect(f.vault.heldValues("shared")).toEqual(["shared-value-0001", "shared-value-0002"]);
  });

  it("an identity with no assignment of its own falls to the vault-wide default (here: none)", async () => {
    const stranger = f.entra.emulator.seedApplication({ tenantId: f.entra.tenantId, displayName: "unassigned", requiredScopes: [] });
    const secret = f.entra.emulator.seedPassword(stranger.id, {
      displayName: "s",
      endDateTime: new Date(f.clock.now().getTime() + 86_400_000).toISOString(),
    }).secretText;
    const client = new SecretClient(
      f.vaultUrl,
      new ClientSecretCredential(f.entra.tenantId, stranger.appId, secret, {
        authorityHost: f.entra.url,
        disableInstanceDiscovery: true,
        tlsOptions: { ca: f.entra.emulator.caCertPem },
        retryOptions: { maxRetries: 0 },
      }),
      { disableChallengeResourceVerification: true, tlsOptions: { ca: f.caCertPem }, retryOptions: { maxRetries: 0 } },
    );
    const e = await failure(client.getSecret("shared"));
    seen.push(e);
    expect([e.statusCode, e.code]).toEqual([403, "Forbidden"]);
  });

  it("the raw 403 body is Key Vault's: code Forbidden, innererror ForbiddenByRbac", async () => {
    const token = (await reader.credential.getToken("https://vault.azure.net/.default")).token;
    const res = await f.raw("PUT", "/secrets/shared?api-version=2025-07-01", { token, body: { value: "reader-value-0001" } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: "Forbidden", innererror: { code: "ForbiddenByRbac" } } });
  });

  it("assigns by object ID through /_control/roles as well", async () => {
    expect((await f.raw("POST", "/_control/roles", { body: { role: "Key Vault Secrets Officer", objectId: reader.objectId } })).status).toBe(204);
    await expect(reader.client.setSecret("reader-owned", "reader-value-0001")).resolves.toBeDefined();
    f.vault.assignRole("Key Vault Secrets User", reader.objectId);
  });
});
