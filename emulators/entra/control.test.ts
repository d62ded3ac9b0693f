import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../../src/http/client.js";
import { SecretScanner } from "../../tests/helpers/secretScan.js";
import { EntraEmulator } from "./emulator.js";

/** The `/_control/*` JSON seeding API (used by `npm run emulators` and the demo) mirrors the in-process one. */
let emu: EntraEmulator;
let http: HttpClient;
const tenantId = randomUUID();

beforeAll(async () => {
  emu = new EntraEmulator();
  await emu.start();
  http = new HttpClient({ ca: emu.caCertPem, retry: { maxRetries: 0 } });
});
afterAll(() => emu.close());

const control = <T = Record<string, unknown>>(method: "GET" | "POST" | "PUT", path: string, json?: unknown) =>
  http.request<T>({ method, url: `${emu.url}/_control/${path}`, ...(json !== undefined ? { json } : {}), throwOnHttpError: false });

describe("/_control seeding routes", () => {
  it("seeds a tenant, an app, a secret, a service principal and consent that the token endpoint and Graph then serve", async () => {
    expect((await control("POST", "tenants", { tenantId, customDomain: "fabrikam.example.com" })).status).toBe(201);
    const app = await control<{ id: string; appId: string }>("POST", "applications", {
      tenantId,
      displayName: "seeded over HTTP",
      redirectUris: ["https://g.example.com/cb"],
    });
    expect(app.status).toBe(201);
    const pw = await control<{ keyId: string; secretText: string }>("POST", `applications/${app.data.id}/passwords`, {
      displayName: "portal",
      endDateTime: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(pw.status).toBe(201);
    const sp = await control<{ id: string }>("POST", "servicePrincipals", { appId: app.data.appId, appRoleAssignmentRequired: true });
    expect(sp.status).toBe(201);
    expect((await control("POST", "consent", { appId: app.data.appId, scopes: ["User.Read"] })).data).toMatchObject({ grant: { scope: "User.Read" } });

    const accepted = await control<{ accepted: boolean }>("POST", "secretAccepted", {
      tenantId: "fabrikam.example.com",
      clientId: app.data.appId,
      secret: pw.data.secretText,
    });
    expect(accepted.data.accepted).toBe(true);
    const listed = await control<{ passwordCredentials: Record<string, unknown>[] }>("GET", `applications/${app.data.id}/passwords`);
    expect(listed.data.passwordCredentials).toEqual([expect.objectContaining({ keyId: pw.data.keyId, hint: pw.data.secretText.slice(0, 3) })]);
    expect(JSON.stringify(listed.data)).not.toContain(pw.data.secretText);
    expect((await control<{ secrets: string[] }>("GET", "issuedSecrets")).data.secrets).toContain(pw.data.secretText);

    const token = await http.request<{ access_token: string }>({
      method: "POST",
      url: `${emu.url}/${tenantId}/oauth2/v2.0/token`,
      form: { grant_type: "client_credentials", client_id: app.data.appId, client_secret: pw.data.secretText, scope: "https://graph.microsoft.com/.default" },
      secrets: [pw.data.secretText],
    });
    const validated = await control<{ token: Record<string, string> | null }>("POST", "validateAccessToken", { token: token.data.access_token });
    expect(validated.data.token).toMatchObject({ appId: app.data.appId, tenantId, audience: "https://graph.microsoft.com", objectId: sp.data.id });

    new SecretScanner().addSecrets(emu.issuedSecrets()).collectAll("emulator log", emu.server.requests).assertClean();
  });

  it("sets the app management policy and the replication delay", async () => {
    expect((await control("PUT", "appManagementPolicy", { passwordAdditionBlocked: true, maxPasswordLifetimeDays: 30 })).data).toMatchObject({
      isEnabled: true,
      passwordCredentials: [
        { restrictionType: "passwordAddition", state: "enabled", maxLifetime: null, restrictForAppsCreatedAfterDateTime: "2019-01-01T00:00:00Z" },
        { restrictionType: "passwordLifetime", state: "enabled", maxLifetime: "P30D", restrictForAppsCreatedAfterDateTime: "2019-01-01T00:00:00Z" },
      ],
    });
    expect((await control("PUT", "replicationDelay", { ms: 5000 })).data).toEqual({ ms: 5000 });
    expect((await control("PUT", "replicationDelay", { ms: -1 })).status).toBe(400);
    await control("PUT", "appManagementPolicy", {});
  });

  it("answers bad seeds with 400 and unknown objects with 404", async () => {
    expect((await control("POST", "tenants", { tenantId: "not-a-guid" })).status).toBe(400);
    expect((await control("POST", "applications", { tenantId: randomUUID(), displayName: "x" })).status).toBe(404);
    expect((await control("GET", `applications/${randomUUID()}/passwords`)).status).toBe(404);
    expect((await control("POST", "servicePrincipals", { appId: randomUUID() })).status).toBe(404);
  });
});
