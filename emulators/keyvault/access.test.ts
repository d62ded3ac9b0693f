import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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
