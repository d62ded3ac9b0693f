import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TokenCredential } from "@azure/identity";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { createGraphApplicationsApi } from "../../src/entra/graph.js";
import { graphScope } from "../../src/entra/scope.js";
import { createSignInActivityApi } from "../../src/entra/signInActivity.js";
import { HttpClient } from "../../src/http/client.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { rotatorFailure } from "../helpers/rotatorFailure.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * Microsoft Graph goes through our HTTP layer (src/entra/graphClient.ts): the Graph SDK builds the
 * requests, HttpClient sends them. What that layer promises for every call holds for Graph too.
 */
let fx: EntraFixture;
let credential: TokenCredential;
const redactor = new Redactor();
const { logger, lines } = memoryLogger(redactor);
const outputs: unknown[] = [];

beforeAll(async () => {
  fx = await startEntraFixture();
  // One credential instance: its cached token is the bearer token every Graph call below carries.
  credential = fx.operatorCredential();
});
afterEach(() => fx.emulator.server.faults.clear());
afterAll(async () => {
  const token = (await credential.getToken(graphScope(fx.url)))?.token;
  await fx.close();
  expect(
    new SecretScanner()
      .addSecrets([...fx.emulator.issuedSecrets(), token])
      .collectAll("api output", outputs)
      .collectAll("log", lines)
      .assertClean(),
  ).toBeGreaterThan(3);
});

/** An HttpClient whose waits are recorded instead of slept. */
function recordingHttp(options: { maxRetries?: number } = {}): { http: HttpClient; waits: number[] } {
  const waits: number[] = [];
  const http = new HttpClient({
    ca: fx.emulator.caCertPem,
    redactor,
    retry: { maxRetries: options.maxRetries ?? 3, baseDelayInMs: 1, maxDelayInMs: 5 },
    sleep: async (ms) => void waits.push(ms),
  });
  return { http, waits };
}

/** Runs a call expected to fail, logs its error the way the engine does, and returns it. */
const failure = rotatorFailure(outputs, logger);

const reads = (): number => fx.emulator.server.count("GET", /^\/v1\.0\/applications/);

describe("Graph through our HTTP layer", () => {
  it("honours Retry-After: a throttled Graph read waits exactly what Graph asked, then succeeds", async () => {
    const { http, waits } = recordingHttp();
    const api = createGraphApplicationsApi({ credential, http, graphBaseUrl: fx.url, redactor });
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/applications", status: 429, retryAfterSeconds: 7, times: 1 });
    const before = reads();
    const app = await api.getApplication({ appId: fx.target.app.appId, objectId: fx.target.app.id });
    expect(app.appId).toBe(fx.target.app.appId);
    expect(waits).toEqual([7000]);
    expect(reads() - before).toBe(2);
  });

  it("honours Retry-After on the sign-in reports (Graph beta) as well", async () => {
    const { http, waits } = recordingHttp();
    const api = createSignInActivityApi({ credential, http, graphBaseUrl: fx.url, redactor });
    fx.emulator.server.faults.add({ route: "^GET /beta/reports/appCredentialSignInActivities$", status: 503, retryAfterSeconds: 2, times: 1 });
    await expect(api.credentialLastSignIn(fx.target.app.appId, fx.target.secret.keyId)).resolves.toBeUndefined();
    expect(waits).toEqual([2000]);
  });

  it("times out: a Graph that accepts the connection and never answers ends the call with GRAPH_TIMEOUT at the per-attempt deadline", async () => {
    const { http } = recordingHttp({ maxRetries: 0 });
    const api = createGraphApplicationsApi({ credential, http, graphBaseUrl: fx.url, redactor, timeoutInMs: 400 });
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/applications", hang: true, times: 1 });
    const started = Date.now();
    const err = await failure(api.getApplication({ appId: fx.target.app.appId, objectId: fx.target.app.id }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect([err.code, err.retryable]).toMatchObject(["GRAPH_TIMEOUT", true]);
    expect(err.message).toContain("no answer within 400 ms");
  });

  it("a timed-out attempt of a read is retried like a dropped connection, and the retry's answer is used", async () => {
    const { http, waits } = recordingHttp({ maxRetries: 2 });
    const api = createGraphApplicationsApi({ credential, http, graphBaseUrl: fx.url, redactor, timeoutInMs: 400 });
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/applications", hang: true, times: 1 });
    await expect(api.getApplication({ appId: fx.target.app.appId, objectId: fx.target.app.id })).resolves.toMatchObject({ appId: fx.target.app.appId });
    expect(waits).toHaveLength(1);
  });

  it("addPassword is sent once even when its attempt times out (a retried POST could create a second secret)", async () => {
    const { http } = recordingHttp({ maxRetries: 3 });
    const api = createGraphApplicationsApi({ credential, http, graphBaseUrl: fx.url, redactor, timeoutInMs: 400 });
    const posts = fx.emulator.server.count("POST", /addPassword$/);
    fx.emulator.server.faults.add({ route: "addPassword$", hang: true, times: 1 });
    const err = await failure(
      api.addPassword(fx.target.app.id, {
        displayName: "mcp-sso-rotator/set/run-hung",
        endDateTime: new Date(fx.clock.now().getTime() + 86_400_000).toISOString(),
      }),
    );
    expect(err.code).toBe("GRAPH_TIMEOUT");
    expect(err.hint).toContain("display name");
    expect(fx.emulator.server.count("POST", /addPassword$/) - posts).toBe(1);
  });

  it("Graph error bodies echoing the request: the bearer token never reaches an error or a log", async () => {
    // A hostile or buggy upstream repeats the Authorization header (raw, cut, base64, URL-encoded)
    // in its error message; the Graph SDK copies that message into its GraphError.
    const { http } = recordingHttp({ maxRetries: 0 });
    const api = createGraphApplicationsApi({ credential, http, graphBaseUrl: fx.url, redactor });
    const signIns = createSignInActivityApi({ credential, http, graphBaseUrl: fx.url, redactor });
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/applications", echo: true, status: 400 });
    fx.emulator.server.faults.add({ route: "^GET /beta/auditLogs/signIns", echo: true, status: 500 });
    const err = await failure(api.getApplication({ appId: fx.target.app.appId, objectId: fx.target.app.id }));
    expect([err.code, err.status, err.upstreamCode]).toEqual(["GRAPH_BAD_REQUEST", 400, "EchoedInput"]);
    const readErr = await failure(signIns.listSignIns({ appId: fx.target.app.appId, since: new Date(0) }));
    expect(readErr.status).toBe(500);
    const token = (await credential.getToken(graphScope(fx.url)))!.token;
    expect(token.length).toBeGreaterThanOrEqual(16);
    const scanner = new SecretScanner().addSecrets([token]).collect("error", err).collect("read error", readErr).collectAll("log", lines);
    expect(scanner.leaks()).toEqual([]);
    expect(scanner.fragmentLeaks(12)).toEqual([]);
  });

  it("a cancelled Graph call is ABORTED, also while it waits out a Retry-After", async () => {
    const http = new HttpClient({ ca: fx.emulator.caCertPem, redactor });
    const api = createGraphApplicationsApi({ credential, http, graphBaseUrl: fx.url, redactor });
    fx.emulator.server.faults.add({ route: "^GET /v1\\.0/applications", status: 429, retryAfterSeconds: 30, times: 1 });
    const started = Date.now();
    const err = await failure(api.getApplication({ appId: fx.target.app.appId, objectId: fx.target.app.id }, { abortSignal: AbortSignal.timeout(300) }));
    expect(err.code).toBe("ABORTED");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
