import { ClientSecretCredential } from "@azure/identity";
import type { Client, GraphError } from "@microsoft/microsoft-graph-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeScanned, SecretScanner } from "../../tests/helpers/secretScan.js";
import { graphErrorCatcher, graphSdkClient } from "../common/graphSdk.js";
import { httpsFetch, type HttpsFetch } from "../common/httpsFetch.js";
import { OPERATOR_GRAPH_ROLES, startEntraFixture, type EntraFixture } from "./fixture.js";
import type { CreatedPassword } from "./state.js";

/**
 * Fidelity: who may read and change an application through Graph, through the real Graph SDK.
 *
 * Microsoft Learn, "application: addPassword" (https://learn.microsoft.com/graph/api/application-addpassword):
 * the least privileged application permission is Application.ReadWrite.OwnedBy, higher ones
 * Application.ReadWrite.All and Directory.ReadWrite.All. The Graph permissions reference
 * (https://learn.microsoft.com/graph/permissions-reference#applicationreadwriteownedby) scopes
 * OwnedBy to "those applications for which it is an owner". "Resolve Microsoft Graph authorization
 * errors" (https://learn.microsoft.com/graph/resolve-auth-errors): missing permissions are a 403,
 * which Graph words as code Authorization_RequestDenied, message "Insufficient privileges to
 * complete the operation." in its error envelope ({error:{code, message, innerError:{request-id, date}}}).
 * The permissions an app holds reach Graph as the `roles` claim of its access token.
 */
let fx: EntraFixture;
let send: HttpsFetch;
const scan = new SecretScanner();
const seen: unknown[] = [];
const DAY = 86_400_000;

/** A client app of the fixture's tenant with its own secret and the given Graph permissions. */
function caller(name: string, roles: string[]): { appId: string; objectId: string; secret: string; graph: Client; credential: ClientSecretCredential } {
  const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: name, requiredScopes: [] });
  const secret = fx.emulator.seedPassword(app.id, { displayName: "s", endDateTime: new Date(fx.clock.now().getTime() + 30 * DAY).toISOString() }).secretText;
  fx.emulator.setGraphAppRoles(app.appId, roles);
  const credential = fx.appCredential(app.appId, secret);
  return { appId: app.appId, objectId: app.id, secret, graph: graphClient(credential), credential };
}

function graphClient(credential: ClientSecretCredential): Client {
  return graphSdkClient({ baseUrl: fx.url, credential, scopes: ["https://graph.microsoft.com/.default"], ca: fx.emulator.caCertPem });
}

const graphError = graphErrorCatcher(seen);

function expectDenied(e: GraphError): void {
  expect(e.statusCode).toBe(403);
  expect(e.code).toBe("Authorization_RequestDenied");
  expect(e.message).toBe("Insufficient privileges to complete the operation.");
  expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
}

const addPassword = (graph: Client, objectId: string): Promise<CreatedPassword> =>
  graph.api(`/applications/${objectId}/addPassword`).post({ passwordCredential: { displayName: "authz" } }) as Promise<CreatedPassword>;

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

beforeAll(async () => {
  fx = await startEntraFixture();
  send = httpsFetch(fx.emulator.caCertPem);
});
afterAll(() => closeScanned(fx, scan, { "graph error": seen }));

describe("Application.ReadWrite.OwnedBy", () => {
  it("reads and changes an app whose owners include the caller's service principal", async () => {
    const rotator = caller("owner with OwnedBy", ["Application.ReadWrite.OwnedBy"]);
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "owned", owners: [rotator.appId] });
    expect(((await rotator.graph.api(`/applications/${app.id}`).get()) as { appId: string }).appId).toBe(app.appId);
    const created = await addPassword(rotator.graph, app.id);
    await rotator.graph.api(`/applications(appId='${app.appId}')/removePassword`).post({ keyId: created.keyId });
    expect(fx.emulator.passwordCredentials(app.id)).toEqual([]);
  });

  it("is refused on an app it does not own: GET, addPassword and removePassword answer 403 Authorization_RequestDenied and change nothing", async () => {
    const rotator = caller("OwnedBy without ownership", ["Application.ReadWrite.OwnedBy"]);
    const stranger = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "not owned" });
    const existing = fx.emulator.seedPassword(stranger.id, { displayName: "keep", endDateTime: new Date(fx.clock.now().getTime() + DAY).toISOString() });
    expectDenied(await graphError(rotator.graph.api(`/applications/${stranger.id}`).get()));
    expectDenied(await graphError(rotator.graph.api(`/applications(appId='${stranger.appId}')`).get()));
    expectDenied(await graphError(addPassword(rotator.graph, stranger.id)));
    expectDenied(await graphError(rotator.graph.api(`/applications/${stranger.id}/removePassword`).post({ keyId: existing.keyId })));
    expect(fx.emulator.passwordCredentials(stranger.id).map((p) => p.keyId)).toEqual([existing.keyId]);
  });

  it("lists only the apps it owns", async () => {
    const rotator = caller("lister with OwnedBy", ["Application.ReadWrite.OwnedBy"]);
    const mine = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "listed", owners: [rotator.appId] });
    const listed = (await rotator.graph.api("/applications").get()) as { value: { id: string }[] };
    expect(listed.value.map((a) => a.id)).toEqual([mine.id]);
    const filtered = (await rotator.graph.api("/applications").filter(`appId eq '${fx.target.app.appId}'`).get()) as { value: unknown[] };
    expect(filtered.value).toEqual([]);
  });

  it("loses the app when its service principal is removed from the owners", async () => {
    const rotator = caller("former owner", ["Application.ReadWrite.OwnedBy"]);
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "handed over", owners: [rotator.appId] });
    expect(fx.emulator.applicationOwners(app.id)).toEqual([rotator.appId]);
    fx.emulator.removeApplicationOwner(app.id, rotator.appId);
    expectDenied(await graphError(addPassword(rotator.graph, app.id)));
  });
});

describe("other permissions", () => {
  it("Application.ReadWrite.All manages any app without owning it", async () => {
    const admin = caller("tenant-wide writer", ["Application.ReadWrite.All"]);
    const created = await addPassword(admin.graph, fx.target.app.id);
    await admin.graph.api(`/applications/${fx.target.app.id}/removePassword`).post({ keyId: created.keyId });
    const listed = (await admin.graph.api("/applications").get()) as { value: unknown[] };
    expect(listed.value.length).toBeGreaterThanOrEqual(3);
  });

  it("Application.Read.All reads any app but may not add or remove secrets", async () => {
    const reader = caller("reader", ["Application.Read.All"]);
    expect(((await reader.graph.api(`/applications/${fx.target.app.id}`).get()) as { id: string }).id).toBe(fx.target.app.id);
    expectDenied(await graphError(addPassword(reader.graph, fx.target.app.id)));
  });

  it("no application permission at all: 403 on the list and on the app, even before it is looked up", async () => {
    const nobody = caller("no permissions", []);
    expectDenied(await graphError(nobody.graph.api("/applications").get()));
    expectDenied(await graphError(nobody.graph.api(`/applications/${fx.target.app.id}`).get()));
    expectDenied(await graphError(nobody.graph.api(`/applications/${crypto.randomUUID()}`).get()));
  });

  it("the fixture's operator holds what DESIGN.md gives the rotator: OwnedBy on the target it owns", async () => {
    expect(fx.emulator.graphAppRoles(fx.operator.app.appId)).toEqual([...OPERATOR_GRAPH_ROLES]);
    expect(fx.emulator.applicationOwners(fx.target.app.id)).toEqual([fx.operator.app.appId]);
  });
});

describe("roles travel in the token", () => {
  it("the token's roles claim carries the granted permissions; a token issued before a grant keeps none until a new one is fetched", async () => {
    const late = caller("granted later", []);
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "granted later's app", owners: [late.appId] });
    const before = await late.credential.getToken("https://graph.microsoft.com/.default");
    expect(claimsOf(before.token).roles).toBeUndefined();
    fx.emulator.setGraphAppRoles(late.appId, ["Application.ReadWrite.OwnedBy"]);
    // The SDK's cached token still has no roles claim: still refused, as Entra behaves until the token is renewed.
    expectDenied(await graphError(addPassword(late.graph, app.id)));
    const fresh = fx.appCredential(late.appId, late.secret);
    const after = await fresh.getToken("https://graph.microsoft.com/.default");
    expect(claimsOf(after.token).roles).toEqual(["Application.ReadWrite.OwnedBy"]);
    await expect(addPassword(graphClient(fresh), app.id)).resolves.toMatchObject({ hint: expect.any(String) });
  });

  it("a Key Vault token carries no Graph roles", async () => {
    const token = await fx.operatorCredential().getToken("https://vault.azure.net/.default");
    expect(claimsOf(token!.token).roles).toBeUndefined();
  });
});

describe("control routes", () => {
  it("grants permissions and adds owners over HTTPS", async () => {
    const rotator = caller("configured over HTTPS", []);
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "owned over HTTPS" });
    const put = async (method: "PUT" | "POST" | "DELETE", path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
      const res = await send(`${fx.url}/_control/${path}`, {
        method,
        ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    expect(await put("PUT", `servicePrincipals/${rotator.appId}/graphAppRoles`, { roles: ["Application.ReadWrite.OwnedBy"] })).toMatchObject({
      status: 200,
      body: { appId: rotator.appId, roles: ["Application.ReadWrite.OwnedBy"] },
    });
    expect((await put("PUT", `servicePrincipals/${rotator.appId}/graphAppRoles`, { roles: "all" })).status).toBe(400);
    expect((await put("POST", `applications/${app.id}/owners`, { appId: rotator.appId })).status).toBe(201);
    expect(fx.emulator.applicationOwners(app.id)).toEqual([rotator.appId]);
    expect((await put("DELETE", `applications/${app.id}/owners/${rotator.appId}`)).status).toBe(204);
    expect(fx.emulator.applicationOwners(app.id)).toEqual([]);
  });
});
