import { type Client, GraphError } from "@microsoft/microsoft-graph-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeScanned, SecretScanner } from "../../tests/helpers/secretScan.js";
import { graphSdkClient } from "../common/graphSdk.js";
import { httpsFetch, type HttpsFetch } from "../common/httpsFetch.js";
import { postClientCredentials, startEntraFixture, type EntraFixture } from "./fixture.js";
import { GRAPH_APP_ID } from "./state.js";

/**
 * Fidelity of the sign-in evidence routes, through the real Microsoft Graph JS SDK:
 * - List appCredentialSignInActivities (beta): learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta
 *   and the appCredentialSignInActivity resource: learn.microsoft.com/graph/api/resources/appcredentialsigninactivity?view=graph-rest-beta
 * - List signIns: learn.microsoft.com/graph/api/signin-list (v1.0: interactive user sign-ins, newest
 *   first, $top ≤ 1000, $skiptoken paging) and its beta form with `signInEventTypes/any(t: t eq '…')`
 *   and `servicePrincipalCredentialKeyId`.
 * - Missing licence: learn.microsoft.com/graph/known-issues (license check errors for Microsoft Entra activity reports).
 */
let fx: EntraFixture;
let graph: Client;
let send: HttpsFetch;
const scan = new SecretScanner();
const seen: unknown[] = [];

type Rows = { value: Record<string, unknown>[]; "@odata.nextLink"?: string; "@odata.context"?: string };

beforeAll(async () => {
  fx = await startEntraFixture();
  send = httpsFetch(fx.emulator.caCertPem);
  graph = graphSdkClient({ baseUrl: fx.url, credential: fx.operatorCredential(), scopes: ["https://graph.microsoft.com/.default"], ca: fx.emulator.caCertPem });
});
afterEach(() => {
  fx.emulator.signIns.access = "ok";
  fx.emulator.signIns.reportLatencyMs = 0;
});
afterAll(() => closeScanned(fx, scan, { "graph answers and errors": seen }));

async function token(secret: string): Promise<number> {
  const res = await postClientCredentials(fx, send, secret);
  seen.push(await res.text());
  return res.status;
}

async function signInAs(user: string): Promise<number> {
  const u = new URL(`${fx.url}/${fx.tenantId}/oauth2/v2.0/authorize`);
  for (const [k, v] of Object.entries({
    client_id: fx.target.app.appId,
    redirect_uri: fx.target.redirectUri,
    response_type: "code",
    scope: "openid profile email User.Read",
    x_emulator_user: user,
  }))
    u.searchParams.set(k, v);
  const res = await send(u);
  await res.text();
  return res.status;
}

async function get(path: string, version: "v1.0" | "beta" = "beta"): Promise<Rows> {
  const r = (await graph.api(path).version(version).get()) as Rows;
  seen.push(r);
  return r;
}

describe("sign-in evidence filled from the token and authorize endpoints", () => {
  it("a client-credentials sign-in shows in appCredentialSignInActivities with its keyId and last sign-in time", async () => {
    const before = fx.clock.now().toISOString();
    expect(await token(fx.target.secret.secretText)).toBe(200);
    const res = await get(`/reports/appCredentialSignInActivities?$filter=appId eq '${fx.target.app.appId}' and keyId eq '${fx.target.secret.keyId}'`);
    expect(res["@odata.context"]).toMatch(/\/beta\/\$metadata#reports\/appCredentialSignInActivities$/);
    expect(res.value).toHaveLength(1);
    expect(res.value[0]).toMatchObject({
      appId: fx.target.app.appId,
      appObjectId: fx.target.app.id,
      keyId: fx.target.secret.keyId,
      keyType: "clientSecret",
      credentialOrigin: "application",
      signInActivity: { lastSignInDateTime: expect.any(String), lastSignInRequestId: expect.any(String) },
    });
    expect(Date.parse((res.value[0]!.signInActivity as { lastSignInDateTime: string }).lastSignInDateTime)).toBeGreaterThanOrEqual(Date.parse(before));
  });

  it("a credential that never signed in has no row (unknown, not unused)", async () => {
    const unused = fx.emulator.seedPassword(fx.target.app.id, {
      displayName: "never used",
      endDateTime: new Date(fx.clock.now().getTime() + 86_400_000).toISOString(),
    });
    const res = await get(`/reports/appCredentialSignInActivities?$filter=keyId eq '${unused.keyId}'`);
    expect(res.value).toEqual([]);
  });

  it("the report lags the sign-ins by its latency", async () => {
    const fresh = fx.emulator.seedPassword(fx.target.app.id, {
      displayName: "fresh",
      endDateTime: new Date(fx.clock.now().getTime() + 86_400_000).toISOString(),
    });
    expect(await token(fresh.secretText)).toBe(200);
    fx.emulator.signIns.reportLatencyMs = 3_600_000;
    expect((await get(`/reports/appCredentialSignInActivities?$filter=keyId eq '${fresh.keyId}'`)).value).toEqual([]);
    fx.clock.advance(3_600_001);
    expect((await get(`/reports/appCredentialSignInActivities?$filter=keyId eq '${fresh.keyId}'`)).value).toHaveLength(1);
  });

  it("service-principal sign-ins, successes and AADSTS failures, are listed by the documented beta filter with servicePrincipalCredentialKeyId", async () => {
    const since = fx.clock.now().toISOString();
    expect(await token(fx.target.secret.secretText)).toBe(200);
    expect(await token("not-the-secret-at-all-123")).toBe(401);
    const res = await get(
      `/auditLogs/signIns?$filter=appId eq '${fx.target.app.appId}' and createdDateTime ge ${since} and signInEventTypes/any(t: t eq 'servicePrincipal')`,
    );
    expect(res.value.length).toBeGreaterThanOrEqual(2);
    const [newest, older] = res.value;
    expect(Date.parse(newest!.createdDateTime as string)).toBeGreaterThanOrEqual(Date.parse(older!.createdDateTime as string));
    const failed = res.value.find((r) => (r.status as { errorCode: number }).errorCode !== 0)!;
    expect(failed).toMatchObject({
      signInEventTypes: ["servicePrincipal"],
      isInteractive: false,
      status: { errorCode: 7000215 },
      servicePrincipalCredentialKeyId: "",
    });
    const ok = res.value.find((r) => (r.status as { errorCode: number }).errorCode === 0)!;
    expect(ok).toMatchObject({ servicePrincipalCredentialKeyId: fx.target.secret.keyId, resourceId: GRAPH_APP_ID, appId: fx.target.app.appId });
  });

  it("v1.0 lists interactive user sign-ins only, with status/errorCode and createdDateTime filters; a user failing shows the AADSTS code", async () => {
    const since = fx.clock.now().toISOString();
    fx.emulator.seedServicePrincipal(fx.target.app.appId, {
      appRoleAssignmentRequired: true,
      assignments: [{ principalType: "User", principalDisplayName: "alice" }],
    });
    expect(await signInAs("alice")).toBe(302);
    expect(await signInAs("bob")).toBe(200); // the error page
    expect(await token(fx.target.secret.secretText)).toBe(200);
    const all = await get(`/auditLogs/signIns?$filter=appId eq '${fx.target.app.appId}' and createdDateTime ge ${since}`, "v1.0");
    expect(all.value.map((r) => r.isInteractive)).toEqual([true, true]);
    expect(all.value[0]).not.toHaveProperty("servicePrincipalCredentialKeyId");
    const failures = await get(
      `/auditLogs/signIns?$filter=appId eq '${fx.target.app.appId}' and createdDateTime ge ${since} and status/errorCode ne 0`,
      "v1.0",
    );
    expect(failures.value).toHaveLength(1);
    expect(failures.value[0]).toMatchObject({ userDisplayName: "bob", status: { errorCode: 50105, failureReason: expect.stringMatching(/assigned/i) } });
    expect(failures.value[0]!.userId).toMatch(/^[0-9a-f-]{36}$/);
    fx.emulator.seedServicePrincipal(fx.target.app.appId, { appRoleAssignmentRequired: false });
  });

  it("each event type is selected by its documented signInEventTypes form, alone or with or", async () => {
    const since = fx.clock.now().toISOString();
    // No endpoint here makes a non-interactive (refresh-token) sign-in, so the log is seeded with one.
    fx.emulator.signIns.record({
      tenantId: fx.tenantId,
      eventType: "nonInteractiveUser",
      appId: fx.target.app.appId,
      appDisplayName: fx.target.app.displayName,
      userId: "5f0e2b1c-1111-4222-8333-444455556666",
      userPrincipalName: "erin@contoso.example",
      userDisplayName: "erin",
      resourceId: GRAPH_APP_ID,
      resourceDisplayName: "Microsoft Graph",
      errorCode: 50105,
      failureReason: "not assigned",
    });
    expect(await signInAs("frank")).toBe(302);
    expect(await token(fx.target.secret.secretText)).toBe(200);
    const of = async (types: string) =>
      (
        await get(`/auditLogs/signIns?$filter=appId eq '${fx.target.app.appId}' and createdDateTime ge ${since} and signInEventTypes/any(t: ${types})`)
      ).value.map((r) => (r.signInEventTypes as string[])[0]);
    expect(await of("t eq 'nonInteractiveUser'")).toEqual(["nonInteractiveUser"]);
    expect(await of("t eq 'interactiveUser'")).toEqual(["interactiveUser"]);
    expect(await of("t eq 'servicePrincipal'")).toEqual(["servicePrincipal"]);
    expect((await of("t eq 'interactiveUser' or t eq 'nonInteractiveUser' or t eq 'servicePrincipal'")).sort()).toEqual([
      "interactiveUser",
      "nonInteractiveUser",
      "servicePrincipal",
    ]);
  });

  it("pages through @odata.nextLink with $top", async () => {
    const since = fx.clock.now().toISOString();
    for (let i = 0; i < 3; i++) expect(await token(fx.target.secret.secretText)).toBe(200);
    const filter = `appId eq '${fx.target.app.appId}' and createdDateTime ge ${since} and signInEventTypes/any(t: t eq 'servicePrincipal')`;
    let page = await get(`/auditLogs/signIns?$filter=${filter}&$top=2`);
    const ids = page.value.map((r) => r.id);
    expect(page["@odata.nextLink"]).toMatch(/\$skiptoken=/);
    page = (await graph.api(page["@odata.nextLink"]!).get()) as Rows;
    ids.push(...page.value.map((r) => r.id));
    expect(page["@odata.nextLink"]).toBeUndefined();
    expect(new Set(ids).size).toBe(3);
  });

  it("an unsupported filter is Graph's 400", async () => {
    const err = await graph
      .api("/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'servicePrincipal')")
      .version("v1.0")
      .get()
      .catch((e: unknown) => e);
    seen.push(err);
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).statusCode).toBe(400);
  });

  it.each([
    ["forbidden", "Authorization_RequestDenied"],
    ["unlicensed", "Authentication_RequestFromNonPremiumTenantOrB2CTenant"],
  ] as const)("without the permission or licence (%s) both reports answer 403 %s", async (access, code) => {
    fx.emulator.signIns.access = access;
    for (const [path, version] of [
      ["/reports/appCredentialSignInActivities", "beta"],
      ["/auditLogs/signIns", "v1.0"],
    ] as const) {
      const err = await graph
        .api(path)
        .version(version)
        .get()
        .catch((e: unknown) => e);
      seen.push(err);
      expect(err).toBeInstanceOf(GraphError);
      expect((err as GraphError).statusCode).toBe(403);
      expect((err as GraphError).code).toBe(code);
    }
  });
});
