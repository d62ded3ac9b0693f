import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GRAPH_APP_ID, startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { createGraphApplicationsApi, isoDurationToDays } from "../../src/entra/graph.js";
import type { GraphApplicationsApi } from "../../src/entra/types.js";
import { HttpClient } from "../../src/http/client.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { rotatorFailure } from "../helpers/rotatorFailure.js";
import { operatorGraph } from "./operatorGraph.js";
import { SecretScanner } from "../helpers/secretScan.js";

let fx: EntraFixture;
let api: GraphApplicationsApi;
const redactor = new Redactor();
const { logger, lines } = memoryLogger(redactor);
const outputs: unknown[] = [];
const DAY = 86_400_000;

beforeAll(async () => {
  // A page size of 2 makes every list call follow @odata.nextLink.
  fx = await startEntraFixture({ graphPageSize: 2 });
  api = operatorGraph(fx, { redactor, retry: { maxRetries: 2, baseDelayInMs: 0 } });
});
afterEach(() => {
  fx.emulator.server.faults.clear();
  fx.emulator.setAppManagementPolicy({});
});
afterAll(async () => {
  await fx.close();
  const scanned = new SecretScanner().addSecrets(fx.emulator.issuedSecrets()).collectAll("api output", outputs).collectAll("log", lines).assertClean();
  expect(scanned).toBeGreaterThan(5);
});

/** Runs a call expected to fail, logs its error the way the engine does, and returns it. */
const failure = rotatorFailure(outputs, logger);

const target = (): { appId: string; objectId: string } => ({ appId: fx.target.app.appId, objectId: fx.target.app.id });
const inAYear = (): string => new Date(fx.clock.now().getTime() + 365 * DAY).toISOString();

describe("getApplication", () => {
  it("reads the registration by client ID with its credentials, redirect URIs and delegated scopes", async () => {
    const app = await api.getApplication({ appId: fx.target.app.appId });
    outputs.push(app);
    expect(app).toEqual({
      id: fx.target.app.id,
      appId: fx.target.app.appId,
      displayName: "MCP servers SSO",
      signInAudience: "AzureADMyOrg",
      createdDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      passwordCredentials: [
        {
          keyId: fx.target.secret.keyId,
          displayName: "initial (portal)",
          hint: fx.target.secret.hint,
          startDateTime: fx.target.secret.startDateTime,
          endDateTime: fx.target.secret.endDateTime,
        },
      ],
      web: { redirectUris: [fx.target.redirectUri], implicitGrantSettings: { enableIdTokenIssuance: true, enableAccessTokenIssuance: false } },
      isFallbackPublicClient: null,
      requiredResourceAccess: [
        { resourceAppId: GRAPH_APP_ID, resourceAccess: expect.arrayContaining([{ id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", type: "Scope" }]) },
      ],
    });
  });

  it("reads by object ID when known", async () => {
    expect((await api.getApplication({ appId: fx.target.app.appId, objectId: fx.target.app.id })).id).toBe(fx.target.app.id);
  });

  it("throws GRAPH_APP_NOT_FOUND for an unknown client ID (hinting at ownership) and for an objectId of another app", async () => {
    const unknown = await failure(api.getApplication({ appId: randomUUID() }));
    expect(unknown.code).toBe("GRAPH_APP_NOT_FOUND");
    expect(unknown.hint).toContain("owner");
    const gone = await failure(api.getApplication({ appId: fx.target.app.appId, objectId: randomUUID() }));
    expect([gone.code, gone.status, gone.upstreamCode]).toEqual(["GRAPH_APP_NOT_FOUND", 404, "Request_ResourceNotFound"]);
    const other = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "another app the rotator owns", owners: [fx.operator.app.appId] });
    const mismatch = await failure(api.getApplication({ appId: fx.target.app.appId, objectId: other.id }));
    expect(mismatch.code).toBe("GRAPH_APP_NOT_FOUND");
  });
});

describe("addPassword", () => {
  it("returns the new credential with its secret once, and registers the secret with the redactor", async () => {
    const end = inAYear();
    const created = await api.addPassword(fx.target.app.id, { displayName: "mcp-sso-rotator/set/run-1", endDateTime: end });
    expect(created).toMatchObject({ displayName: "mcp-sso-rotator/set/run-1", hint: created.secretText.slice(0, 3), endDateTime: end });
    expect(Object.keys(created).sort()).toEqual(["displayName", "endDateTime", "hint", "keyId", "secretText", "startDateTime"]);
    expect(redactor.has(created.secretText)).toBe(true);
    logger.info(`created key ${created.keyId} value ${created.secretText}`);
    expect(lines.at(-1)).not.toContain(created.secretText);
    expect(fx.emulator.isSecretAccepted(fx.tenantId, fx.target.app.appId, created.secretText)).toBe(true);
  });

  it("sends a dropped addPassword exactly once: one credential exists and the error says the outcome is unknown", async () => {
    const before = fx.emulator.passwordCredentials(fx.target.app.id).length;
    const posts = fx.emulator.server.count("POST", /addPassword$/);
    fx.emulator.server.faults.add({ route: "addPassword$", dropAfterHandling: true, times: 1 });
    const err = await failure(api.addPassword(fx.target.app.id, { displayName: "mcp-sso-rotator/set/run-dropped", endDateTime: inAYear() }));
    expect(err.code).toBe("GRAPH_NETWORK");
    expect(err.hint).toContain("display name");
    expect(fx.emulator.server.count("POST", /addPassword$/) - posts).toBe(1);
    const after = fx.emulator.passwordCredentials(fx.target.app.id);
    expect(after).toHaveLength(before + 1);
    expect(after.filter((p) => p.displayName === "mcp-sso-rotator/set/run-dropped")).toHaveLength(1);
  });

  it("does not retry a 503 either", async () => {
    const posts = fx.emulator.server.count("POST", /addPassword$/);
    fx.emulator.server.faults.add({ route: "addPassword$", status: 503, retryAfterSeconds: 0, times: 1 });
    const err = await failure(api.addPassword(fx.target.app.id, { displayName: "x", endDateTime: inAYear() }));
    expect([err.code, err.status, err.retryable]).toEqual(["GRAPH_UNAVAILABLE", 503, true]);
    expect(fx.emulator.server.count("POST", /addPassword$/) - posts).toBe(1);
  });

  it("maps the tenant policy's block and lifetime cap to operator-actionable errors", async () => {
    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true });
    const blocked = await failure(api.addPassword(fx.target.app.id, { displayName: "x", endDateTime: inAYear() }));
    expect([blocked.code, blocked.status, blocked.upstreamCode]).toEqual(["GRAPH_POLICY_BLOCKS_PASSWORD", 400, "CredentialTypeNotAllowedAsPerAppPolicy"]);
    expect(blocked.hint).toContain("appManagementPolicy");

    fx.emulator.setAppManagementPolicy({ maxPasswordLifetimeDays: 90 });
    const tooLong = await failure(api.addPassword(fx.target.app.id, { displayName: "x", endDateTime: inAYear() }));
    expect([tooLong.code, tooLong.upstreamCode]).toEqual(["GRAPH_POLICY_LIFETIME", "CredentialInvalidLifetimeAsPerAppPolicy"]);
    expect(tooLong.hint).toContain("maxLifetime");
  });

  it("maps 403 to GRAPH_FORBIDDEN naming the permission to grant", async () => {
    fx.emulator.server.faults.add({
      route: "addPassword$",
      status: 403,
      body: { error: { code: "Authorization_RequestDenied", message: "Insufficient privileges to complete the operation." } },
      times: 1,
    });
    const err = await failure(api.addPassword(fx.target.app.id, { displayName: "x", endDateTime: inAYear() }));
    expect([err.code, err.upstreamCode]).toEqual(["GRAPH_FORBIDDEN", "Authorization_RequestDenied"]);
    expect(err.hint).toContain("Application.ReadWrite.OwnedBy");
  });
});

describe("removePassword", () => {
  it("removes a credential and resolves again for a keyId that is already gone", async () => {
    const created = await api.addPassword(fx.target.app.id, { displayName: "to remove", endDateTime: inAYear() });
    await api.removePassword(fx.target.app.id, created.keyId);
    expect(fx.emulator.passwordCredentials(fx.target.app.id).map((p) => p.keyId)).not.toContain(created.keyId);
    await expect(api.removePassword(fx.target.app.id, created.keyId)).resolves.toBeUndefined();
  });

  it("still fails for an app that does not exist", async () => {
    const err = await failure(api.removePassword(randomUUID(), randomUUID()));
    expect(err.code).toBe("GRAPH_APP_NOT_FOUND");
  });
});

describe("policy, service principal, assignments and grants", () => {
  it("reads the tenant app management policy", async () => {
    expect(await api.getAppManagementPolicy(target())).toMatchObject({ passwordAdditionBlocked: false, source: "none" });
    fx.emulator.setAppManagementPolicy({ passwordAdditionBlocked: true, maxPasswordLifetimeDays: 180 });
    expect(await api.getAppManagementPolicy(target())).toMatchObject({ passwordAdditionBlocked: true, maxPasswordLifetimeDays: 180, source: "tenantDefault" });
  });

  it("parses ISO 8601 lifetimes to whole days", () => {
    expect(isoDurationToDays("P90D")).toBe(90);
    expect(isoDurationToDays("P1Y")).toBe(365);
    expect(isoDurationToDays("P2W")).toBe(14);
    expect(isoDurationToDays("P1DT23H")).toBe(1);
    expect(isoDurationToDays("P")).toBeUndefined();
    expect(isoDurationToDays("90 days")).toBeUndefined();
  });

  it("finds the service principal, follows paging through assignments and grants", async () => {
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "assigned" });
    const seeded = fx.emulator.seedServicePrincipal(app.appId, {
      appRoleAssignmentRequired: true,
      assignments: [1, 2, 3, 4, 5].map((i) => ({
        principalType: "User" as const,
        principalId: randomUUID(),
        principalDisplayName: `user${i}@contoso.example.com`,
      })),
    });
    fx.emulator.seedConsent(app.appId, ["openid", "User.Read"]);

    const sp = await api.getServicePrincipal(app.appId);
    expect(sp).toEqual({ id: seeded.id, appId: app.appId, appRoleAssignmentRequired: true });
    const assigned = await api.listAppRoleAssignedTo(seeded.id);
    expect(assigned.map((a) => a.principalDisplayName)).toEqual([1, 2, 3, 4, 5].map((i) => `user${i}@contoso.example.com`));
    expect(await api.listOAuth2PermissionGrants(seeded.id)).toEqual([
      { clientId: seeded.id, consentType: "AllPrincipals", resourceId: expect.any(String), scope: "openid User.Read" },
    ]);
    expect(await api.getServicePrincipal(randomUUID())).toBeUndefined();
  });
});

describe("transport, throttling and the rotator's own identity", () => {
  it("retries a throttled read honouring Retry-After, and reports persistent throttling as GRAPH_THROTTLED", async () => {
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/policies", status: 429, retryAfterSeconds: 0, times: 1 });
    await expect(api.getAppManagementPolicy(target())).resolves.toMatchObject({ passwordAdditionBlocked: false });
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/policies", status: 429, retryAfterSeconds: 0 });
    const err = await failure(api.getAppManagementPolicy(target()));
    expect([err.code, err.status, err.retryable]).toEqual(["GRAPH_THROTTLED", 429, true]);
    expect(err.hint).toContain("Retry-After 0");
  });

  it("reports a rotator identity whose secret is refused as GRAPH_AUTH_FAILED with the AADSTS code", async () => {
    const bad = createGraphApplicationsApi({
      credential: fx.appCredential(fx.operator.app.appId, "not-the-operator-secret-01"),
      graphBaseUrl: fx.url,
      http: new HttpClient({ ca: fx.emulator.caCertPem }),
    });
    const err = await failure(bad.getAppManagementPolicy(target()));
    expect([err.code, err.aadsts]).toEqual(["GRAPH_AUTH_FAILED", 7000215]);
  });

  it("needs the CA for Graph too: without it the call fails as GRAPH_NETWORK", async () => {
    const noCa = createGraphApplicationsApi({ credential: fx.operatorCredential(), graphBaseUrl: fx.url, http: new HttpClient({ retry: { maxRetries: 0 } }) });
    const err = await failure(noCa.getAppManagementPolicy(target()));
    expect(err.code).toBe("GRAPH_NETWORK");
  });

  it("honours an abort signal", async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await failure(api.getServicePrincipal(fx.target.app.appId, { abortSignal: controller.signal }));
    expect(err.code).toBe("ABORTED");
  });
});
