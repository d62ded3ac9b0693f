import { ClientSecretCredential } from "@azure/identity";
import type { Client } from "@microsoft/microsoft-graph-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeScanned, SecretScanner } from "../../tests/helpers/secretScan.js";
import { graphErrorCatcher, graphSdkClient } from "../common/graphSdk.js";
import { startEntraFixture, type EntraFixture } from "./fixture.js";
import { EntraEmulator } from "./emulator.js";

/**
 * Fidelity of app management policies, the concurrent-write refusal and national-cloud token
 * audiences, through the real Graph and identity SDKs.
 *
 * - https://learn.microsoft.com/graph/api/resources/appmanagementpolicy — "If this resource is not
 *   configured for an application or service principal, the restrictions default to the settings in
 *   the tenantAppManagementPolicy object"; listed per app at `GET /applications/{id}/appManagementPolicies`,
 *   restrictions under `restrictions.passwordCredentials`.
 * - https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy — the default, under
 *   `applicationRestrictions.passwordCredentials`.
 * - https://learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration —
 *   restrictForAppsCreatedAfterDateTime: "the date from which the policy restriction applies to newly
 *   created applications"; maxLifetime is an ISO 8601 duration.
 * - Concurrent writes: Infisical's Azure client secret rotation (backend/src/ee/services/secret-rotation-v2/
 *   azure-client-secret, its test) retries 400 `Request_BadRequest` "Error due to concurrent requests being
 *   made to the tenant. Please wait briefly and retry." on removePassword.
 * - Clouds: https://learn.microsoft.com/graph/deployments — each cloud's Graph has its own resource
 *   (`https://graph.microsoft.us` for US Government L4); asking another cloud's Graph gives AADSTS500011.
 */
let fx: EntraFixture;
let graph: Client;
const seen: unknown[] = [];
const DAY = 86_400_000;

beforeAll(async () => {
  fx = await startEntraFixture();
  graph = graphSdkClient({ baseUrl: fx.url, credential: fx.operatorCredential(), scopes: ["https://graph.microsoft.com/.default"], ca: fx.emulator.caCertPem });
});
afterEach(() => {
  fx.emulator.setAppManagementPolicy({});
  fx.emulator.assignAppManagementPolicy(fx.target.app.id, null);
  fx.emulator.setConcurrentWriteFault(undefined);
});
afterAll(() => closeScanned(fx, new SecretScanner(), { "graph error": seen }));

const graphError = graphErrorCatcher(seen);

const add = (objectId: string, days: number, displayName = "t") =>
  graph.api(`/applications/${objectId}/addPassword`).post({
    passwordCredential: { displayName, endDateTime: new Date(fx.clock.now().getTime() + days * DAY).toISOString() },
  }) as Promise<{ keyId: string }>;

describe("app-specific appManagementPolicy", () => {
  it("lists nothing for an app without one, and the assigned policy with its restrictions under `restrictions`", async () => {
    const none = (await graph.api(`/applications/${fx.target.app.id}/appManagementPolicies`).get()) as { value: unknown[] };
    expect(none.value).toEqual([]);
    const p = fx.emulator.assignAppManagementPolicy(fx.target.app.id, { maxPasswordLifetimeDays: 30 })!;
    const listed = (await graph.api(`/applications/${fx.target.app.id}/appManagementPolicies`).get()) as { value: Record<string, unknown>[] };
    expect(listed.value).toEqual([
      expect.objectContaining({
        id: p.id,
        isEnabled: true,
        restrictions: {
          passwordCredentials: [
            { restrictionType: "passwordLifetime", state: "enabled", maxLifetime: "P30D", restrictForAppsCreatedAfterDateTime: "2019-01-01T00:00:00Z" },
          ],
          keyCredentials: [],
        },
      }),
    ]);
  });

  it("overrides a stricter default: the app policy's looser cap is what addPassword enforces", async () => {
    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true, maxPasswordLifetimeDays: 30 });
    fx.emulator.assignAppManagementPolicy(fx.target.app.id, { maxPasswordLifetimeDays: 180 });
    const ok = await add(fx.target.app.id, 120);
    await graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: ok.keyId });
    const e = await graphError(add(fx.target.app.id, 200));
    expect([e.statusCode, e.code]).toEqual([400, "CredentialInvalidLifetimeAsPerAppPolicy"]);
  });

  it("overrides a looser default: the app policy's block applies though the default allows secrets", async () => {
    fx.emulator.setAppManagementPolicy({ maxPasswordLifetimeDays: 365 });
    fx.emulator.assignAppManagementPolicy(fx.target.app.id, { passwordAdditionBlocked: true });
    const e = await graphError(add(fx.target.app.id, 10));
    expect([e.statusCode, e.code]).toEqual([400, "CredentialTypeNotAllowedAsPerAppPolicy"]);
  });

  it("a disabled app policy counts as not configured: the default applies", async () => {
    fx.emulator.setAppManagementPolicy({ maxPasswordLifetimeDays: 30 });
    fx.emulator.assignAppManagementPolicy(fx.target.app.id, { passwordAdditionBlocked: true, isEnabled: false });
    const e = await graphError(add(fx.target.app.id, 60));
    expect(e.code).toBe("CredentialInvalidLifetimeAsPerAppPolicy");
  });
});

describe("restrictForAppsCreatedAfterDateTime", () => {
  it("restricts apps created after the date and spares older ones", async () => {
    const now = fx.clock.now().getTime();
    // Owned by the operator, whose Application.ReadWrite.OwnedBy covers only the apps it owns.
    const owners = [fx.operator.app.appId];
    const old = fx.emulator.seedApplication({
      tenantId: fx.tenantId,
      displayName: "legacy app",
      createdDateTime: new Date(now - 400 * DAY).toISOString(),
      owners,
    });
    const young = fx.emulator.seedApplication({
      tenantId: fx.tenantId,
      displayName: "new app",
      createdDateTime: new Date(now - 10 * DAY).toISOString(),
      owners,
    });
    const app = (await graph.api(`/applications/${old.id}`).select(["createdDateTime"]).get()) as { createdDateTime: string };
    expect(app.createdDateTime).toBe(new Date(now - 400 * DAY).toISOString());

    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true, restrictForAppsCreatedAfterDateTime: new Date(now - 100 * DAY).toISOString() });
    await add(old.id, 30);
    expect((await graphError(add(young.id, 30))).code).toBe("CredentialTypeNotAllowedAsPerAppPolicy");
  });
});

describe("concurrent writes to one app", () => {
  it("answers a write right after another with 400 Request_BadRequest and applies nothing; after a pause it succeeds", async () => {
    fx.emulator.setConcurrentWriteFault({ windowMs: 300 });
    const first = await add(fx.target.app.id, 30, "first");
    const before = fx.emulator.passwordCredentials(fx.target.app.id).length;
    const e = await graphError(add(fx.target.app.id, 30, "second"));
    expect([e.statusCode, e.code]).toEqual([400, "Request_BadRequest"]);
    expect(e.message).toBe("Error due to concurrent requests being made to the tenant. Please wait briefly and retry.");
    expect(fx.emulator.passwordCredentials(fx.target.app.id)).toHaveLength(before);
    const r = await graphError(graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: first.keyId }));
    expect(r.code).toBe("Request_BadRequest");
    await new Promise((res) => setTimeout(res, 320));
    await graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: first.keyId });
    expect(fx.emulator.passwordCredentials(fx.target.app.id).some((c) => c.keyId === first.keyId)).toBe(false);
  });
});

describe("national clouds", () => {
  it("a US Government directory issues tokens for https://graph.microsoft.us and refuses the global Graph with AADSTS500011", async () => {
    const gov = new EntraEmulator({ graphResource: "https://graph.microsoft.us" });
    const url = await gov.start();
    try {
      const tenantId = crypto.randomUUID();
      gov.seedTenant({ tenantId });
      const app = gov.seedApplication({ tenantId, displayName: "operator", requiredScopes: [] });
      gov.setGraphAppRoles(app.appId, ["Application.Read.All"]);
      const secret = gov.seedPassword(app.id, { displayName: "s", endDateTime: new Date(Date.now() + DAY).toISOString() }).secretText;
      const credential = new ClientSecretCredential(tenantId, app.appId, secret, {
        authorityHost: url,
        disableInstanceDiscovery: true,
        tlsOptions: { ca: gov.caCertPem },
        retryOptions: { maxRetries: 0 },
      });
      const token = await credential.getToken("https://graph.microsoft.us/.default");
      expect(gov.validateAccessToken(token.token)?.audience).toBe("https://graph.microsoft.us");
      const err = await credential.getToken("https://graph.microsoft.com/.default").then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toContain("AADSTS500011");
      const usGraph = graphSdkClient({ baseUrl: url, credential, scopes: ["https://graph.microsoft.us/.default"], ca: gov.caCertPem });
      const apps = (await usGraph.api("/applications").get()) as { value: unknown[] };
      expect(apps.value.length).toBeGreaterThan(0);
    } finally {
      await gov.close();
    }
  });
});
