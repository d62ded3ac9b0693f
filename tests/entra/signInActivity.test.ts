import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { createSignInActivityApi, type SignInActivityApi } from "../../src/entra/signInActivity.js";
import { HttpClient } from "../../src/http/client.js";
import { rotatorFailure } from "../helpers/rotatorFailure.js";
import { SecretScanner } from "../helpers/secretScan.js";

let fx: EntraFixture;
let api: SignInActivityApi;
let http: HttpClient;
const outputs: unknown[] = [];

beforeAll(async () => {
  fx = await startEntraFixture();
  http = new HttpClient({ ca: fx.emulator.caCertPem, retry: { maxRetries: 0 } });
  api = createSignInActivityApi({
    credential: fx.operatorCredential(),
    graphBaseUrl: fx.url,
    http: new HttpClient({ ca: fx.emulator.caCertPem, retry: { maxRetries: 2, baseDelayInMs: 0 } }),
  });
});
afterEach(() => {
  fx.emulator.server.faults.clear();
  fx.emulator.signIns.access = "ok";
});
afterAll(async () => {
  await fx.close();
  expect(new SecretScanner().addSecrets(fx.emulator.issuedSecrets()).collectAll("api output", outputs).assertClean()).toBeGreaterThan(0);
});

async function token(secret: string): Promise<void> {
  await http.request({
    method: "POST",
    url: `${fx.url}/${fx.tenantId}/oauth2/v2.0/token`,
    form: { grant_type: "client_credentials", client_id: fx.target.app.appId, client_secret: secret, scope: "https://graph.microsoft.com/.default" },
    throwOnHttpError: false,
  });
}

const failure = rotatorFailure(outputs);

describe("sign-in evidence client (Graph beta reports and sign-in log)", () => {
  it("reads a credential's last sign-in by keyId; a credential without a row is unknown (undefined)", async () => {
    await token(fx.target.secret.secretText);
    const row = await api.credentialLastSignIn(fx.target.app.appId, fx.target.secret.keyId);
    outputs.push(row);
    expect(row?.keyId).toBe(fx.target.secret.keyId);
    expect(Date.parse(row!.lastSignInDateTime)).toBeLessThanOrEqual(fx.clock.now().getTime());
    const quiet = fx.emulator.seedPassword(fx.target.app.id, {
      displayName: "quiet",
      endDateTime: new Date(fx.clock.now().getTime() + 86_400_000).toISOString(),
    });
    expect(await api.credentialLastSignIn(fx.target.app.appId, quiet.keyId)).toBeUndefined();
  });

  it("lists the app's failed sign-ins of every kind across pages, newest first", async () => {
    const since = fx.clock.now();
    for (let i = 0; i < 3; i++) await token(`wrong-secret-${i}-abcdefgh`);
    await token(fx.target.secret.secretText);
    const { records, truncated } = await api.listSignIns({ appId: fx.target.app.appId, since, failuresOnly: true, pageSize: 2 });
    outputs.push(records);
    expect(truncated).toBe(false);
    expect(records).toHaveLength(3);
    expect(records.every((r) => r.errorCode === 7000215 && r.eventTypes[0] === "servicePrincipal")).toBe(true);
    expect(fx.emulator.server.count("GET", /\/beta\/auditLogs\/signIns$/)).toBeGreaterThanOrEqual(2);
  });

  it("stops after maxPages and says the list is truncated", async () => {
    const since = fx.clock.now();
    for (let i = 0; i < 3; i++) await token(`wrong-secret-${i}-abcdefgh`);
    const { records, truncated } = await api.listSignIns({ appId: fx.target.app.appId, since, failuresOnly: true, pageSize: 1, maxPages: 2 });
    expect(records).toHaveLength(2);
    expect(truncated).toBe(true);
  });

  it("honours Graph throttling (429 + Retry-After) instead of failing", async () => {
    fx.emulator.server.faults.add({ route: "^GET /beta/reports/appCredentialSignInActivities$", status: 429, retryAfterSeconds: 0, times: 1 });
    const before = fx.emulator.server.count("GET", /appCredentialSignInActivities$/);
    await api.credentialLastSignIn(fx.target.app.appId, fx.target.secret.keyId);
    expect(fx.emulator.server.count("GET", /appCredentialSignInActivities$/)).toBe(before + 2);
  });

  it.each([
    ["forbidden", /AuditLog\.Read\.All/],
    ["unlicensed", /P1 or P2/],
  ] as const)("a missing permission or licence (%s) is SIGNIN_EVIDENCE_UNAVAILABLE with the remedy", async (access, hint) => {
    fx.emulator.signIns.access = access;
    const a = await failure(api.credentialLastSignIn(fx.target.app.appId, fx.target.secret.keyId));
    const b = await failure(api.listSignIns({ appId: fx.target.app.appId, since: new Date(0) }));
    for (const e of [a, b]) {
      expect(e.code).toBe("SIGNIN_EVIDENCE_UNAVAILABLE");
      expect(e.status).toBe(403);
      expect(e.hint).toMatch(hint);
    }
  });
});
