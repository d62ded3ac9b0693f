import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KongEmulator } from "../../emulators/kong/index.js";
import { gatewaySchema } from "../../src/config/schema.js";
import type { HttpClient } from "../../src/http/client.js";
import { createKongAdapter, type KongGatewayConfig } from "../../src/gateway/kong/index.js";
import { fingerprintMatches } from "../../src/gateway/fingerprint.js";
import { propagateCanaryFirst } from "../../src/gateway/propagate.js";
import type { GatewayAdapter, GatewayTarget } from "../../src/gateway/types.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { rotatorFailure } from "../helpers/rotatorFailure.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { fastHttp, fastSleep, seedKongEstate, writeFreshSecret } from "./helpers.js";

/** The kong-openid-connect adapter through our real HttpClient (https, the emulators' CA) against the Kong Admin API emulator. */
const ISSUER = "https://login.microsoftonline.com/3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c/v2.0";
const ADMIN_TOKEN = `kong-admin-${randomUUID()}`;

describe("kong-openid-connect adapter", () => {
  let kong: KongEmulator;
  let http: HttpClient;
  const clientId = randomUUID();
  const { logger, lines } = memoryLogger(new Redactor());
  const scanner = new SecretScanner();
  const errors: unknown[] = [];

  const config = (overrides: Record<string, unknown> = {}): KongGatewayConfig => {
    const parsed = gatewaySchema.parse({
      kind: "kong-openid-connect",
      adminUrl: kong.url,
      adminTokenSecretName: "kong-admin-token",
      pageSize: 7,
      maxRequestsPerSecond: 1000,
      ...overrides,
    });
    if (parsed.kind !== "kong-openid-connect") throw new Error("expected a kong config");
    return parsed;
  };
  const adapterWith = (overrides: Record<string, unknown> = {}, token: string | undefined = ADMIN_TOKEN): GatewayAdapter =>
    createKongAdapter({ config: config(overrides), ...(token ? { token } : {}), http, clientId, logger });
  const failure = rotatorFailure(errors, logger);

  beforeAll(async () => {
    kong = new KongEmulator({ adminToken: ADMIN_TOKEN, workspaces: ["team-a", "team-b", "team-c"] });
    await kong.start();
    http = fastHttp({ ca: kong.caCertPem }, { capMs: 20, maxRetries: 2 });
  });
  beforeEach(() => kong.reset());
  afterAll(async () => {
    scanner.addSecrets(kong.issuedSecrets());
    scanner.collectAll("log", lines).collectAll("error", errors);
    expect(scanner.assertClean()).toBeGreaterThan(3);
    await kong.close();
  });

  // 31 plugins, every third one ours (ours in the two-client plugin written in upper case).
  const seedEstate = () =>
    seedKongEstate((input) => kong.seedPlugin(input), { issuer: ISSUER, clientId, count: 30, every: 3, multiClientId: clientId.toUpperCase() });

  it("discovers every openid-connect plugin whose config.client_id contains the client ID, across pages of /plugins (offset/next)", async () => {
    const { ours } = seedEstate();
    const targets = await adapterWith().listTargets({ clientId });
    expect(targets.map((t) => t.id).sort()).toEqual([...ours].sort());
    // 31 plugins at 7 per page: 5 pages, each a GET /plugins.
    expect(kong.server.count("GET", /^\/plugins$/)).toBe(5);
    expect(targets.every((t) => t.tokenUrl === ISSUER && t.secretFingerprint && t.fingerprintSalt)).toBe(true);
  });

  it("writes config.client_secret index-aligned with client_id, leaves the other client's secret, and the re-read proves it by salted hash", async () => {
    const { multi } = seedEstate();
    const firstClientSecret = kong.plugins().find((p) => p.id === multi)!.config.client_secret![0]!;
    const adapter = adapterWith();
    const secret = await writeFreshSecret(adapter, clientId, multi, scanner);
    const stored = kong.plugins().find((p) => p.id === multi)!;
    expect(stored.config.client_secret).toEqual([firstClientSecret, secret]);
    expect(stored.config.client_id).toHaveLength(2);
    // Every write is followed by a read (no ETag to trust).
    expect(kong.server.count("GET", new RegExp(`^/plugins/${multi}$`))).toBe(2);
    expect(kong.server.count("PATCH", new RegExp(`^/plugins/${multi}$`))).toBe(1);
  });

  it("a write another writer undoes is caught by the re-read: the returned target does not match the new secret", async () => {
    const { ours } = seedEstate();
    const adapter = adapterWith();
    await adapter.listTargets({ clientId });
    kong.revertSecretWrites(ours[0]!);
    const secret = `new-${randomUUID()}`;
    scanner.addSecrets([secret]);
    const after = await adapter.updateClientSecret(ours[0]!, secret);
    expect(fingerprintMatches(after, secret)).toBe(false);
  });

  it("a plugin holding a {vault://…} reference is not a target and is never written; it is reported as refreshed by Kong itself", async () => {
    const ref = kong.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: ["{vault://azure/sso-client-secret}"], instanceName: "oidc-vault" });
    const plain = kong.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: [`plain-${randomUUID()}`], instanceName: "oidc-plain" });
    const reported: { id: string; why: string }[] = [];
    const adapter = adapterWith();
    const targets = await adapter.listTargets({ clientId, onRefreshedByConsumer: (t, why) => reported.push({ id: t.id, why }) });
    expect(targets.map((t) => t.id)).toEqual([plain.id]);
    expect(reported).toEqual([{ id: ref.id, why: expect.stringContaining("Kong refreshes it from the vault itself") }]);
    const e = await failure(adapter.updateClientSecret(ref.id, "must-not-be-written"));
    expect(e.code).toBe("KONG_VAULT_REFERENCE");
    expect(kong.plugins().find((p) => p.id === ref.id)!.config.client_secret).toEqual(["{vault://azure/sso-client-secret}"]);
  });

  it("RBAC: a wrong admin token is GATEWAY_UNAUTHORIZED naming the Key Vault secret; a schema violation is GATEWAY_REJECTED; a 404 is the target gone", async () => {
    const { ours } = seedEstate();
    const e401 = await failure(adapterWith({}, `wrong-${randomUUID()}`).listTargets({ clientId }));
    expect(e401.code).toBe("GATEWAY_UNAUTHORIZED");
    expect(e401.hint).toContain("kong-admin-token");
    kong.server.faults.add({
      route: "^PATCH /plugins/",
      status: 400,
      body: {
        code: 2,
        name: "schema violation",
        message: "schema violation (config.client_secret: expected an array)",
        fields: { config: { client_secret: "expected an array" } },
      },
      times: 1,
    });
    const adapter = adapterWith();
    await adapter.listTargets({ clientId });
    const e400 = await failure(adapter.updateClientSecret(ours[0]!, `x-${randomUUID()}`));
    expect(e400.code).toBe("GATEWAY_REJECTED");
    kong.deletePlugin(ours[1]!);
    expect((await failure(adapter.readTarget(ours[1]!))).code).toBe("GATEWAY_TARGET_NOT_FOUND");
  });

  it("propagation canary first: a canary whose write Kong does not keep stops the rest, which keep their secret", async () => {
    const { ours } = seedEstate();
    const adapter = adapterWith();
    const targets: GatewayTarget[] = await adapter.listTargets({ clientId });
    const before = new Map(kong.plugins().map((p) => [p.id, p.config.client_secret]));
    kong.revertSecretWrites(targets[0]!.id);
    const secret = `new-${randomUUID()}`;
    scanner.addSecrets([secret]);
    const result = await propagateCanaryFirst({
      adapter,
      targets,
      secret,
      maxConcurrency: 4,
      retry: { maxAttempts: 2 },
      sleep: fastSleep,
      logger,
      verify: { clientId, useTestConnection: false },
    });
    expect(result.status).toBe("verify-failed");
    for (const id of ours.slice(1)) expect(kong.plugins().find((p) => p.id === id)!.config.client_secret).toEqual(before.get(id));
  });
  it("workspaces: each configured workspace is listed at /{workspace}/plugins; targets carry distinct IDs ({workspace}:{plugin id}) and names, and are read and written under their own workspace", async () => {
    const a = kong.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: [`a-${randomUUID()}`], instanceName: "oidc", workspace: "team-a" });
    const b = kong.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: [`b-${randomUUID()}`], instanceName: "oidc", workspace: "team-b" });
    kong.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: [`default-${randomUUID()}`], instanceName: "oidc" });
    kong.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: [`c-${randomUUID()}`], instanceName: "oidc", workspace: "team-c" });
    const adapter = adapterWith({ workspaces: ["team-a", "team-b"] });
    const targets = await adapter.listTargets({ clientId });
    expect(targets.map((t) => [t.id, t.name])).toEqual([
      [`team-a:${a.id}`, "team-a/oidc"],
      [`team-b:${b.id}`, "team-b/oidc"],
    ]);
    expect(kong.server.count("GET", /^\/team-a\/plugins$/)).toBeGreaterThan(0);
    const secret = `new-${randomUUID()}`;
    scanner.addSecrets([secret]);
    const after = await adapter.updateClientSecret(`team-b:${b.id}`, secret);
    expect(after.id).toBe(`team-b:${b.id}`);
    expect(fingerprintMatches(after, secret)).toBe(true);
    expect(kong.server.count("PATCH", new RegExp(`^/team-b/plugins/${b.id}$`))).toBe(1);
    expect(kong.plugins().find((p) => p.id === a.id)!.config.client_secret).toEqual(a.config.client_secret);
    // An ID without a configured workspace is no target of this group.
    expect((await failure(adapter.readTarget(b.id))).code).toBe("GATEWAY_TARGET_NOT_FOUND");
  });

  it("workspaces: one the RBAC user has no role in fails the listing with GATEWAY_FORBIDDEN naming it (its plugins are not silently skipped); an unknown one is GATEWAY_NOT_FOUND naming groups[].workspaces", async () => {
    kong.seedPlugin({ issuer: ISSUER, clientIds: [clientId], clientSecrets: [`a-${randomUUID()}`], workspace: "team-a" });
    kong.denyWorkspace("team-b");
    const e403 = await failure(adapterWith({ workspaces: ["team-a", "team-b"] }).listTargets({ clientId }));
    expect(e403.code).toBe("GATEWAY_FORBIDDEN");
    expect(e403.message).toContain("no access to workspace team-b");
    expect(e403.hint).toContain("kong-admin-token");
    const e404 = await failure(adapterWith({ workspaces: ["team-a", "no-such"] }).listTargets({ clientId }));
    expect(e404.code).toBe("GATEWAY_NOT_FOUND");
    expect(e404.hint).toContain("workspace no-such exists (groups[].workspaces)");
  });
});
