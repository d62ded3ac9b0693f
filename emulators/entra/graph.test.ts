import { randomUUID } from "node:crypto";
import { ClientSecretCredential, type TokenCredential } from "@azure/identity";
import type { Client } from "@microsoft/microsoft-graph-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../../src/http/client.js";
import { closeScanned, SecretScanner } from "../../tests/helpers/secretScan.js";
import { graphErrorCatcher, graphSdkClient } from "../common/graphSdk.js";
import { startEntraFixture, type EntraFixture } from "./fixture.js";
import { GRAPH_APP_ID, type CreatedPassword } from "./state.js";

/** Fidelity of the Graph routes, through the real Microsoft Graph JS SDK. */
let fx: EntraFixture;
let graph: Client;
const scan = new SecretScanner();
const seen: unknown[] = [];
const DAY = 86_400_000;

/** addPassword answers with the Graph shape plus the one-time secretText. */
type AddPasswordResponse = CreatedPassword;

function graphClientFor(credential: TokenCredential): Client {
  return graphSdkClient({ baseUrl: fx.url, credential, scopes: ["https://graph.microsoft.com/.default"], ca: fx.emulator.caCertPem });
}

const graphError = graphErrorCatcher(seen);

beforeAll(async () => {
  fx = await startEntraFixture();
  graph = graphClientFor(fx.operatorCredential());
});
afterEach(() => {
  fx.emulator.server.faults.clear();
  fx.emulator.setAppManagementPolicy({});
  fx.emulator.setReplicationDelay(0);
});
afterAll(() => closeScanned(fx, scan, { "graph error": seen }));

describe("applications", () => {
  it("finds an app by $filter=appId eq and never returns secret values", async () => {
    const res = (await graph.api("/applications").filter(`appId eq '${fx.target.app.appId}'`).get()) as { value: Record<string, unknown>[] };
    expect(res.value).toHaveLength(1);
    const app = res.value[0]!;
    expect(app).toMatchObject({
      id: fx.target.app.id,
      appId: fx.target.app.appId,
      displayName: "MCP servers SSO",
      signInAudience: "AzureADMyOrg",
      web: { redirectUris: [fx.target.redirectUri], implicitGrantSettings: { enableIdTokenIssuance: true, enableAccessTokenIssuance: false } },
      requiredResourceAccess: [
        { resourceAppId: GRAPH_APP_ID, resourceAccess: expect.arrayContaining([{ id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", type: "Scope" }]) },
      ],
    });
    expect(app.passwordCredentials).toEqual([
      expect.objectContaining({ keyId: fx.target.secret.keyId, hint: fx.target.secret.secretText.slice(0, 3), secretText: null }),
    ]);
  });

  it("returns only the $select-ed properties", async () => {
    const res = (await graph.api("/applications").filter(`appId eq '${fx.target.app.appId}'`).select(["id", "appId"]).get()) as { value: object[] };
    expect(res.value).toEqual([{ id: fx.target.app.id, appId: fx.target.app.appId }]);
  });

  it("gets an app by object ID and by the appId alternate key", async () => {
    const byId = (await graph.api(`/applications/${fx.target.app.id}`).select(["appId"]).get()) as Record<string, unknown>;
    expect(byId.appId).toBe(fx.target.app.appId);
    const byKey = (await graph.api(`/applications(appId='${fx.target.app.appId}')`).get()) as Record<string, unknown>;
    expect(byKey.id).toBe(fx.target.app.id);
  });

  it("answers an unknown object ID with 404 Request_ResourceNotFound and an innerError request-id", async () => {
    const e = await graphError(graph.api(`/applications/${randomUUID()}`).get());
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe("Request_ResourceNotFound");
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("rejects an unsupported $filter and an unknown $select property with 400", async () => {
    const f = await graphError(graph.api("/applications").filter("startswith(displayName,'x')").get());
    expect([f.statusCode, f.code]).toEqual([400, "Request_UnsupportedQuery"]);
    const s = await graphError(graph.api(`/applications/${fx.target.app.id}`).select(["nope"]).get());
    expect(s.statusCode).toBe(400);
  });

  it("only shows the caller's own tenant", async () => {
    const other = randomUUID();
    fx.emulator.seedTenant({ tenantId: other });
    const foreign = fx.emulator.seedApplication({ tenantId: other, displayName: "foreign" });
    const res = (await graph.api("/applications").filter(`appId eq '${foreign.appId}'`).get()) as { value: unknown[] };
    expect(res.value).toEqual([]);
    expect((await graphError(graph.api(`/applications/${foreign.id}`).get())).statusCode).toBe(404);
  });
});

describe("addPassword and removePassword", () => {
  it("creates a 40-character secret with its 3-character hint and a two-year default lifetime", async () => {
    const res = (await graph
      .api(`/applications/${fx.target.app.id}/addPassword`)
      .post({ passwordCredential: { displayName: "rotator/test/1" } })) as AddPasswordResponse;
    expect(res.secretText).toHaveLength(40);
    expect(res.secretText.slice(3, 6)).toBe("8Q~");
    expect(res.hint).toBe(res.secretText.slice(0, 3));
    expect(res.keyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.customKeyIdentifier).toBeNull();
    const lifetime = Date.parse(res.endDateTime) - Date.parse(res.startDateTime);
    expect(lifetime).toBe(730 * DAY);
    expect(fx.emulator.passwordCredentials(fx.target.app.id).map((p) => p.keyId)).toContain(res.keyId);
    expect(fx.emulator.issuedSecrets()).toContain(res.secretText);
  });

  it("works through the appId alternate key and honours the requested endDateTime", async () => {
    const end = new Date(fx.clock.now().getTime() + 30 * DAY).toISOString();
    const res = (await graph
      .api(`/applications(appId='${fx.target.app.appId}')/addPassword`)
      .post({ passwordCredential: { displayName: "alt", endDateTime: end } })) as AddPasswordResponse;
    expect(res.endDateTime).toBe(end);
  });

  it("refuses a new secret at the token endpoint (AADSTS7000215) until the replication delay has passed", async () => {
    fx.emulator.setReplicationDelay(45_000);
    const res = (await graph
      .api(`/applications/${fx.target.app.id}/addPassword`)
      .post({ passwordCredential: { displayName: "replicating" } })) as AddPasswordResponse;
    const cred = (): ClientSecretCredential => fx.appCredential(fx.target.app.appId, res.secretText);
    const err = await cred()
      .getToken("https://graph.microsoft.com/.default")
      .then(
        () => undefined,
        (e: Error) => e,
      );
    seen.push(err);
    expect(String(err)).toContain("AADSTS7000215");
    expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, res.secretText)).toBe(false);

    fx.clock.advance(45_000);
    expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, res.secretText)).toBe(true);
    const token = await cred().getToken("https://graph.microsoft.com/.default");
    expect(fx.emulator.validateAccessToken(token.token)?.appId).toBe(fx.target.app.appId);
  });

  it("removes a credential (204) after which its secret is refused, and answers an unknown keyId with 400", async () => {
    const added = (await graph
      .api(`/applications/${fx.target.app.id}/addPassword`)
      .post({ passwordCredential: { displayName: "to remove" } })) as AddPasswordResponse;
    expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, added.secretText)).toBe(true);
    await graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: added.keyId });
    expect(fx.emulator.server.requests.at(-1)).toMatchObject({ method: "POST", status: 204 });
    expect(fx.emulator.passwordCredentials(fx.target.app.id).map((p) => p.keyId)).not.toContain(added.keyId);
    expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, added.secretText)).toBe(false);

    const again = await graphError(graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: added.keyId }));
    expect([again.statusCode, again.code]).toEqual([400, "Request_BadRequest"]);
  });
});

describe("app management policy", () => {
  it("reports no restriction by default", async () => {
    const p = (await graph.api("/policies/defaultAppManagementPolicy").get()) as Record<string, unknown>;
    expect(p).toMatchObject({ id: "00000000-0000-0000-0000-000000000000", isEnabled: false, applicationRestrictions: { passwordCredentials: [] } });
  });

  it("blocks addPassword with CredentialTypeNotAllowedAsPerAppPolicy while hand-made secrets still work", async () => {
    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true });
    const p = (await graph.api("/policies/defaultAppManagementPolicy").get()) as {
      isEnabled: boolean;
      applicationRestrictions: { passwordCredentials: object[] };
    };
    expect(p.isEnabled).toBe(true);
    expect(p.applicationRestrictions.passwordCredentials).toEqual([
      { restrictionType: "passwordAddition", state: "enabled", maxLifetime: null, restrictForAppsCreatedAfterDateTime: "2019-01-01T00:00:00Z" },
    ]);
    const before = fx.emulator.passwordCredentials(fx.target.app.id).length;
    const e = await graphError(graph.api(`/applications/${fx.target.app.id}/addPassword`).post({ passwordCredential: { displayName: "blocked" } }));
    expect([e.statusCode, e.code]).toEqual([400, "CredentialTypeNotAllowedAsPerAppPolicy"]);
    expect(fx.emulator.passwordCredentials(fx.target.app.id)).toHaveLength(before);
    fx.emulator.seedPassword(fx.target.app.id, { displayName: "portal", endDateTime: new Date(fx.clock.now().getTime() + DAY).toISOString() });
    expect(fx.emulator.passwordCredentials(fx.target.app.id)).toHaveLength(before + 1);
  });

  it("caps the lifetime with CredentialInvalidLifetimeAsPerAppPolicy, including the two-year default", async () => {
    fx.emulator.setAppManagementPolicy({ maxPasswordLifetimeDays: 90 });
    const p = (await graph.api("/policies/defaultAppManagementPolicy").get()) as {
      applicationRestrictions: { passwordCredentials: Record<string, unknown>[] };
    };
    expect(p.applicationRestrictions.passwordCredentials).toEqual([expect.objectContaining({ restrictionType: "passwordLifetime", maxLifetime: "P90D" })]);
    const now = fx.clock.now().getTime();
    const tooLong = await graphError(
      graph
        .api(`/applications/${fx.target.app.id}/addPassword`)
        .post({ passwordCredential: { displayName: "long", endDateTime: new Date(now + 120 * DAY).toISOString() } }),
    );
    expect([tooLong.statusCode, tooLong.code]).toEqual([400, "CredentialInvalidLifetimeAsPerAppPolicy"]);
    const dflt = await graphError(graph.api(`/applications/${fx.target.app.id}/addPassword`).post({ passwordCredential: { displayName: "default" } }));
    expect(dflt.code).toBe("CredentialInvalidLifetimeAsPerAppPolicy");
    const ok = (await graph
      .api(`/applications/${fx.target.app.id}/addPassword`)
      .post({ passwordCredential: { displayName: "short", endDateTime: new Date(now + 60 * DAY).toISOString() } })) as AddPasswordResponse;
    expect(ok.keyId).toBeTruthy();
  });
});

describe("service principals and consent", () => {
  it("finds the service principal by appId and lists who is assigned to it", async () => {
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "assigned" });
    const seeded = fx.emulator.seedServicePrincipal(app.appId, {
      appRoleAssignmentRequired: true,
      assignments: [{ principalType: "Group", principalId: "bbbbbbbb-0000-4000-8000-000000000002", principalDisplayName: "MCP users" }],
    });
    const res = (await graph.api("/servicePrincipals").filter(`appId eq '${app.appId}'`).get()) as { value: Record<string, unknown>[] };
    expect(res.value).toEqual([expect.objectContaining({ id: seeded.id, appId: app.appId, appRoleAssignmentRequired: true })]);
    const assigned = (await graph.api(`/servicePrincipals/${seeded.id}/appRoleAssignedTo`).get()) as { value: Record<string, unknown>[] };
    expect(assigned.value).toEqual([
      expect.objectContaining({
        principalType: "Group",
        principalId: "bbbbbbbb-0000-4000-8000-000000000002",
        principalDisplayName: "MCP users",
        resourceId: seeded.id,
      }),
    ]);
  });

  it("lists the admin consent grant by client (service principal) ID, pointing at Microsoft Graph", async () => {
    const sp = (await graph.api("/servicePrincipals").filter(`appId eq '${fx.target.app.appId}'`).get()) as { value: { id: string }[] };
    const graphSp = (await graph.api("/servicePrincipals").filter(`appId eq '${GRAPH_APP_ID}'`).get()) as { value: { id: string }[] };
    const grants = (await graph.api("/oauth2PermissionGrants").filter(`clientId eq '${sp.value[0]!.id}'`).get()) as { value: Record<string, unknown>[] };
    expect(grants.value).toEqual([
      expect.objectContaining({
        clientId: sp.value[0]!.id,
        consentType: "AllPrincipals",
        principalId: null,
        resourceId: graphSp.value[0]!.id,
        scope: "openid profile email User.Read",
      }),
    ]);
  });

  it("pages collections with @odata.nextLink", async () => {
    const first = (await graph.api("/servicePrincipals").top(1).get()) as { value: unknown[]; "@odata.nextLink"?: string };
    expect(first.value).toHaveLength(1);
    expect(first["@odata.nextLink"]).toContain("$skiptoken=1");
    const second = (await graph.api(first["@odata.nextLink"]!).get()) as { value: unknown[] };
    expect(second.value).toHaveLength(1);
  });
});

describe("authentication and faults", () => {
  it("answers 401 InvalidAuthenticationToken without a token, with a foreign token and with a Key Vault token", async () => {
    const http = new HttpClient({ ca: fx.emulator.caCertPem, retry: { maxRetries: 0 } });
    const get = (auth?: string) =>
      http.request<{ error: { code: string; message: string } }>({
        method: "GET",
        url: `${fx.url}/v1.0/applications`,
        ...(auth ? { headers: { Authorization: auth } } : {}),
        throwOnHttpError: false,
      });
    const none = await get();
    expect([none.status, none.data.error.code, none.data.error.message]).toEqual([401, "InvalidAuthenticationToken", "Access token is empty."]);
    expect((await get("Bearer not-a-token-of-ours")).status).toBe(401);
    const vault = await fx.operatorCredential().getToken("https://vault.azure.net/.default");
    const wrongAudience = await get(`Bearer ${vault!.token}`);
    expect(wrongAudience.data.error.message).toContain("Invalid audience");
  });

  it("lets the SDK's retry handler honour 429 + Retry-After on a read", async () => {
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/applications$", status: 429, retryAfterSeconds: 0, times: 1 });
    const before = fx.emulator.server.count("GET", /^\/v1\.0\/applications$/);
    const res = (await graph.api("/applications").get()) as { value: unknown[] };
    expect(res.value.length).toBeGreaterThan(0);
    expect(fx.emulator.server.count("GET", /^\/v1\.0\/applications$/) - before).toBe(2);
  });

  it("shows why addPassword needs retries off: the SDK's default handler re-sends the POST after a 503", async () => {
    fx.emulator.server.faults.add({ route: "addPassword$", status: 503, retryAfterSeconds: 0, times: 1 });
    const before = fx.emulator.server.count("POST", /addPassword$/);
    await graph.api(`/applications/${fx.target.app.id}/addPassword`).post({ passwordCredential: { displayName: "retried" } });
    expect(fx.emulator.server.count("POST", /addPassword$/) - before).toBe(2);
  });
});
