import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import type { GraphApplicationsApi } from "../../src/entra/types.js";
import { Redactor } from "../../src/redact.js";
import { rotatorFailure } from "../helpers/rotatorFailure.js";
import { operatorGraph } from "./operatorGraph.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * Defect 12 (issue 8): Graph refuses a write that arrives while another write to the tenant is being
 * applied — 400 Request_BadRequest "Error due to concurrent requests being made to the tenant. Please
 * wait briefly and retry." (Infisical's Azure client secret rotation retries it on removePassword).
 * The emulator refuses any write to an app within `windowMs` of the previous accepted one.
 */
const DAY = 86_400_000;
const WINDOW_MS = 250;
let fx: EntraFixture;
let api: GraphApplicationsApi;
const redactor = new Redactor();
const outputs: unknown[] = [];

beforeAll(async () => {
  fx = await startEntraFixture();
  api = operatorGraph(fx, {
    redactor,
    // Backoff above the emulator's window, so the first retry lands after the tenant is free again.
    concurrencyRetry: { maxAttempts: 4, baseDelayMs: WINDOW_MS + 50, maxDelayMs: 2000 },
  });
});
afterEach(() => fx.emulator.setConcurrentWriteFault(undefined));
afterAll(async () => {
  await fx.close();
  expect(new SecretScanner().addSecrets(fx.emulator.issuedSecrets()).collectAll("api errors", outputs).assertClean()).toBeGreaterThan(0);
});

const end = (days = 30): string => new Date(fx.clock.now().getTime() + days * DAY).toISOString();
const posts = (op: "addPassword" | "removePassword"): number => fx.emulator.server.count("POST", new RegExp(`/${op}$`));
const failure = rotatorFailure(outputs);

describe("Graph concurrent requests", () => {
  it("Graph concurrent requests: removePassword right after another write is retried with backoff and succeeds", async () => {
    const a = await api.addPassword(fx.target.app.id, { displayName: "a", endDateTime: end() });
    const b = await api.addPassword(fx.target.app.id, { displayName: "b", endDateTime: end() });
    fx.emulator.setConcurrentWriteFault({ windowMs: WINDOW_MS });
    const before = posts("removePassword");
    await api.removePassword(fx.target.app.id, a.keyId);
    await api.removePassword(fx.target.app.id, b.keyId); // back-to-back: refused once, then retried
    const keys = fx.emulator.passwordCredentials(fx.target.app.id).map((c) => c.keyId);
    expect(keys).not.toContain(a.keyId);
    expect(keys).not.toContain(b.keyId);
    expect(posts("removePassword") - before).toBeGreaterThanOrEqual(3);
  });

  it("Graph concurrent requests: addPassword is retried only after a re-read shows no credential with its display name", async () => {
    const old = await api.addPassword(fx.target.app.id, { displayName: "old", endDateTime: end() });
    fx.emulator.setConcurrentWriteFault({ windowMs: WINDOW_MS });
    await api.removePassword(fx.target.app.id, old.keyId);
    const addsBefore = posts("addPassword");
    const logBefore = fx.emulator.server.requests.length;
    const created = await api.addPassword(fx.target.app.id, { displayName: "mcp-sso-rotator/s/run-1", endDateTime: end() });
    expect(
      fx.emulator
        .passwordCredentials(fx.target.app.id)
        .filter((c) => c.displayName === "mcp-sso-rotator/s/run-1")
        .map((c) => c.keyId),
    ).toEqual([created.keyId]);
    expect(posts("addPassword") - addsBefore).toBe(2);
    // Between the refused POST and the retried one, the app was read.
    const sequence = fx.emulator.server.requests.slice(logBefore).map((r) => `${r.method} ${/addPassword$/.test(r.path) ? "addPassword" : "app"} ${r.status}`);
    expect(sequence).toEqual(["POST addPassword 400", "GET app 200", "POST addPassword 200"]);
    await api.removePassword(fx.target.app.id, created.keyId);
  });

  it("Graph concurrent requests: a refused addPassword that was applied anyway is never sent again", async () => {
    const old = await api.addPassword(fx.target.app.id, { displayName: "old", endDateTime: end() });
    fx.emulator.setConcurrentWriteFault({ windowMs: WINDOW_MS, applyRefusedAddPassword: true });
    await api.removePassword(fx.target.app.id, old.keyId);
    const addsBefore = posts("addPassword");
    const err = await failure(api.addPassword(fx.target.app.id, { displayName: "mcp-sso-rotator/s/run-2", endDateTime: end() }));
    expect([err.code, err.retryable]).toEqual(["GRAPH_ADD_PASSWORD_UNCONFIRMED", true]);
    expect(posts("addPassword") - addsBefore).toBe(1);
    expect(fx.emulator.passwordCredentials(fx.target.app.id).filter((c) => c.displayName === "mcp-sso-rotator/s/run-2")).toHaveLength(1);
  });

  it("Graph concurrent requests: when retries run out the error is GRAPH_CONCURRENT_REQUESTS, retryable, and nothing was created", async () => {
    const impatient = operatorGraph(fx, { redactor, concurrencyRetry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } });
    const old = await impatient.addPassword(fx.target.app.id, { displayName: "old", endDateTime: end() });
    fx.emulator.setConcurrentWriteFault({ windowMs: 60_000 });
    await impatient.removePassword(fx.target.app.id, old.keyId);
    const count = fx.emulator.passwordCredentials(fx.target.app.id).length;
    const adds = posts("addPassword");
    const addErr = await failure(impatient.addPassword(fx.target.app.id, { displayName: "never", endDateTime: end() }));
    expect([addErr.code, addErr.status, addErr.upstreamCode, addErr.retryable]).toEqual(["GRAPH_CONCURRENT_REQUESTS", 400, "Request_BadRequest", true]);
    expect(posts("addPassword") - adds).toBe(3);
    expect(fx.emulator.passwordCredentials(fx.target.app.id)).toHaveLength(count);

    const removes = posts("removePassword");
    const removeErr = await failure(impatient.removePassword(fx.target.app.id, fx.target.secret.keyId));
    expect(removeErr.code).toBe("GRAPH_CONCURRENT_REQUESTS");
    expect(posts("removePassword") - removes).toBe(3);
    expect(fx.emulator.passwordCredentials(fx.target.app.id).map((c) => c.keyId)).toContain(fx.target.secret.keyId);
  });

  it("Graph concurrent requests: a cancelled pass stops waiting for the retry at once (ABORTED)", async () => {
    const slow = operatorGraph(fx, { concurrencyRetry: { maxAttempts: 4, baseDelayMs: 30_000 } });
    const old = await slow.addPassword(fx.target.app.id, { displayName: "old", endDateTime: end() });
    fx.emulator.setConcurrentWriteFault({ windowMs: 60_000 });
    await slow.removePassword(fx.target.app.id, old.keyId);
    const started = Date.now();
    const err = await failure(slow.removePassword(fx.target.app.id, fx.target.secret.keyId, { abortSignal: AbortSignal.timeout(100) }));
    expect(err.code).toBe("ABORTED");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
