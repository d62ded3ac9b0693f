import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCequenceAdapter } from "../../src/gateway/cequence/index.js";
import { createGatewayAdapter } from "../../src/gateway/factory.js";
import { propagateSecret, verifyTargets, type TargetOutcome } from "../../src/gateway/propagate.js";
import type { GatewayAdapter, GatewayTarget } from "../../src/gateway/types.js";
import { cequenceConfig, fastHttp, fastSleep, seedOurServer, usePropagationWorld } from "./helpers.js";

/**
 * propagateSecret / verifyTargets over the real cequence adapter and HttpClient, against the
 * gateway emulator whose servers authenticate at the Entra emulator. "No outage" (every server
 * holds a secret Entra accepts) is read from the gateway's ground truth after every target.
 */
describe("propagateSecret and verifyTargets", () => {
  const w = usePropagationWorld({ pageSizeMax: 40, onlyTenantTokenUrl: true, minScanned: 10 });

  const seedTargets = (n: number, others = 0): void => {
    for (let i = 0; i < n; i++) {
      seedOurServer(w, `mcp-${i}`);
    }
    for (let i = 0; i < others; i++) {
      w.f.emulator.seedServer({ name: `other-${i}`, tokenUrl: w.tokenUrl, clientId: randomUUID(), clientSecret: `other-${randomUUID()}` });
    }
  };
  const makeAdapter = (overrides: Record<string, unknown> = {}, http = fastHttp(w.f)): GatewayAdapter =>
    createCequenceAdapter({ config: cequenceConfig(w.f, overrides), apiToken: w.f.apiToken, http, logger: w.logger });
  /** Seeds `n` of our servers (and `others` of other apps) and lists ours through a fresh adapter. */
  const listedTargets = async (n: number, others = 0): Promise<{ adapter: GatewayAdapter; targets: GatewayTarget[] }> => {
    seedTargets(n, others);
    const adapter = makeAdapter();
    return { adapter, targets: await adapter.listTargets({ clientId: w.clientId }) };
  };
  const assertNoOutage = (where: string): void => {
    const ours = new Set(
      w.f.emulator
        .servers()
        .filter((s) => s.clientId === w.clientId)
        .map((s) => s.id),
    );
    const bad = w.f.emulator.secretsAcceptedNow().filter((s) => ours.has(s.id) && !s.accepted);
    if (bad.length > 0) throw new Error(`outage ${where}: ${bad.length} server(s) hold a secret Entra refuses`);
  };
  const holders = (secret: string): number => w.f.emulator.servers().filter((s) => s.clientSecret === secret).length;
  const patchesTo = (id: string): number => w.f.emulator.server.count("PATCH", new RegExp(`^/mcp-servers/${id}/authentication$`));

  it("updates 150 targets under a tight gateway rate limit (429 + Retry-After) without an outage at any step", async () => {
    seedTargets(150, 50);
    const adapter = makeAdapter({ maxRequestsPerSecond: 1000 }, fastHttp(w.f, { maxRetries: 10 }));
    const targets = await adapter.listTargets({ clientId: w.clientId });
    expect(targets).toHaveLength(150);
    // The gateway's own bucket throttles whenever the writes outrun it; on a slow machine they may
    // not, so the first dozen writes are also answered 429 by the fault injector.
    w.f.emulator.setRateLimit({ capacity: 5, refillPerSecond: 150 });
    w.f.emulator.server.faults.add({ route: "^PATCH /mcp-servers/[^/]+/authentication$", status: 429, retryAfterSeconds: 1, times: 12 });
    const throttledBefore = w.f.emulator.server.requests.filter((r) => r.status === 429).length;
    const done: string[] = [];
    const outcomes = await propagateSecret({
      adapter,
      targets,
      secret: w.newSecret,
      maxConcurrency: 8,
      sleep: fastSleep,
      retry: { maxAttempts: 6 },
      logger: w.logger,
      onTargetDone: (id, outcome) => {
        expect(outcome.ok).toBe(true);
        done.push(id);
        assertNoOutage(`after ${id}`);
      },
    });
    w.scanner.collect("outcomes", outcomes);
    expect(outcomes.map((o) => o.id)).toEqual(targets.map((t) => t.id));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(new Set(done).size).toBe(150);
    expect(holders(w.newSecret)).toBe(150);
    expect(
      w.f.emulator
        .servers()
        .filter((s) => s.name.startsWith("other-"))
        .every((s) => s.clientSecret.startsWith("other-")),
    ).toBe(true);
    expect(w.f.emulator.server.requests.filter((r) => r.status === 429).length - throttledBefore).toBeGreaterThanOrEqual(12);
  });

  it("keeps at most maxConcurrency writes in flight", async () => {
    seedTargets(24);
    w.f.emulator.setLatency(15);
    try {
      const real = makeAdapter();
      let inFlight = 0;
      let peak = 0;
      // Instrumentation around the real adapter: counts, then delegates.
      const counting: GatewayAdapter = {
        ...real,
        kind: real.kind,
        listTargets: real.listTargets,
        readTarget: real.readTarget,
        updateClientSecret: async (...args) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          try {
            return await real.updateClientSecret(...args);
          } finally {
            inFlight--;
          }
        },
      };
      const targets = await real.listTargets({ clientId: w.clientId });
      const outcomes = await propagateSecret({ adapter: counting, targets, secret: w.newSecret, maxConcurrency: 3, sleep: fastSleep });
      expect(outcomes.every((o) => o.ok)).toBe(true);
      expect(peak).toBe(3);
    } finally {
      w.f.emulator.setLatency(0);
    }
  });

  it("retries a flaky target with backoff and reports one that keeps failing, without stopping the others", async () => {
    const { adapter, targets } = await listedTargets(10);
    const flaky = targets[2]!;
    const broken = targets[7]!;
    w.f.emulator.server.faults.add({ route: `^PATCH /mcp-servers/${flaky.id}/authentication$`, status: 503, times: 2 });
    w.f.emulator.server.faults.add({ route: `^PATCH /mcp-servers/${broken.id}/authentication$`, status: 500 });
    const seen = new Map<string, TargetOutcome>();
    const outcomes = await propagateSecret({
      adapter,
      targets,
      secret: w.newSecret,
      maxConcurrency: 4,
      sleep: fastSleep,
      retry: { maxAttempts: 4 },
      logger: w.logger,
      onTargetDone: (id, o) => void seen.set(id, o),
    });
    w.scanner.collect("outcomes", outcomes);
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    expect(byId.get(flaky.id)).toMatchObject({ ok: true, attempts: 3 });
    expect(byId.get(broken.id)).toMatchObject({ ok: false, attempts: 4, error: { code: "GATEWAY_UNAVAILABLE", status: 500 } });
    expect(byId.get(broken.id)!.error!.hint).toMatch(/transient/);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(9);
    expect(seen.size).toBe(10);
    expect(w.f.emulator.servers().find((s) => s.id === broken.id)!.clientSecret).toBe(w.oldSecret);
    assertNoOutage("after a failing target");
  });

  it("recovers from a PATCH whose answer was lost after it was applied, by reading back instead of writing again", async () => {
    const { adapter, targets } = await listedTargets(3);
    const lost = targets[1]!;
    w.f.emulator.server.faults.add({ route: `^PATCH /mcp-servers/${lost.id}/authentication$`, dropAfterHandling: true, times: 1 });
    const outcomes = await propagateSecret({ adapter, targets, secret: w.newSecret, maxConcurrency: 2, sleep: fastSleep, logger: w.logger });
    w.scanner.collect("outcomes", outcomes);
    expect(outcomes.find((o) => o.id === lost.id)).toMatchObject({ ok: true, attempts: 1, alreadyHeld: true });
    expect(patchesTo(lost.id)).toBe(1);
    expect(holders(w.newSecret)).toBe(3);
  });

  it("re-reads after a 412: an unrelated edit gets a fresh ETag and the write; a changed client ID is left alone", async () => {
    const { adapter, targets } = await listedTargets(4);
    const renamed = targets[0]!;
    const repointed = targets[1]!;
    w.f.emulator.editServer(renamed.id, { name: "renamed-in-the-console" });
    w.f.emulator.editServer(repointed.id, { clientId: randomUUID() });
    const outcomes = await propagateSecret({ adapter, targets, secret: w.newSecret, maxConcurrency: 4, sleep: fastSleep, logger: w.logger });
    w.scanner.collect("outcomes", outcomes);
    expect(outcomes.find((o) => o.id === renamed.id)).toMatchObject({ ok: true, attempts: 2 });
    const r = outcomes.find((o) => o.id === repointed.id)!;
    expect(r).toMatchObject({ ok: false, attempts: 1, error: { code: "GATEWAY_TARGET_CHANGED" } });
    expect(r.error!.message).toContain("client ID");
    expect(w.f.emulator.servers().find((s) => s.id === repointed.id)!.clientSecret).toBe(w.oldSecret);
    expect(holders(w.newSecret)).toBe(3);
  });

  it("does not write a target that already holds the secret (a resumed run)", async () => {
    seedTargets(5);
    const adapter = makeAdapter();
    const first = await adapter.listTargets({ clientId: w.clientId });
    await adapter.updateClientSecret(first[0]!.id, w.newSecret);
    await adapter.updateClientSecret(first[1]!.id, w.newSecret);
    const targets = await adapter.listTargets({ clientId: w.clientId });
    const before = w.f.emulator.server.count("PATCH", /\/authentication$/);
    const outcomes = await propagateSecret({ adapter, targets, secret: w.newSecret, maxConcurrency: 2, sleep: fastSleep });
    expect(
      outcomes
        .filter((o) => o.alreadyHeld)
        .map((o) => o.id)
        .sort(),
    ).toEqual([first[0]!.id, first[1]!.id].sort());
    expect(outcomes.filter((o) => o.alreadyHeld).every((o) => o.attempts === 0)).toBe(true);
    expect(w.f.emulator.server.count("PATCH", /\/authentication$/) - before).toBe(3);
  });

  it("rejects with ABORTED when cancelled, after reporting the targets already settled", async () => {
    const { adapter, targets } = await listedTargets(12);
    const controller = new AbortController();
    const settled: string[] = [];
    const p = propagateSecret({
      adapter,
      targets,
      secret: w.newSecret,
      maxConcurrency: 1,
      abortSignal: controller.signal,
      sleep: fastSleep,
      onTargetDone: (id) => {
        settled.push(id);
        if (settled.length === 4) controller.abort(new Error("function timeout"));
      },
    });
    await expect(p).rejects.toMatchObject({ code: "ABORTED" });
    expect(settled).toHaveLength(4);
    expect(holders(w.newSecret)).toBe(4);
  });

  it("stops when onTargetDone fails (the journal cannot record) and rethrows its error", async () => {
    const { adapter, targets } = await listedTargets(6);
    const journalDown = new Error("journal write failed");
    await expect(
      propagateSecret({ adapter, targets, secret: w.newSecret, maxConcurrency: 1, sleep: fastSleep, onTargetDone: () => Promise.reject(journalDown) }),
    ).rejects.toBe(journalDown);
    expect(holders(w.newSecret)).toBe(1);
  });

  describe("verifyTargets", () => {
    it("proves every target holds the secret, kept its client ID and token URL, and fetches a token through the gateway", async () => {
      const { adapter, targets } = await listedTargets(6, 2);
      await propagateSecret({ adapter, targets, secret: w.newSecret, maxConcurrency: 3, sleep: fastSleep });
      const testsBefore = w.f.emulator.server.count("POST", /\/authentication\/test$/);
      const results = await verifyTargets({
        adapter,
        targets,
        secret: w.newSecret,
        clientId: w.clientId,
        expectedTokenUrl: w.tokenUrl,
        useTestConnection: true,
      });
      w.scanner.collect("verification", results);
      expect(results).toHaveLength(6);
      for (const r of results) {
        expect(r).toMatchObject({ ok: true, fingerprintMatches: true, clientIdUnchanged: true, tokenUrlUnchanged: true, testConnection: { ok: true } });
      }
      expect(w.f.emulator.server.count("POST", /\/authentication\/test$/) - testsBefore).toBe(6);
    });

    it("flags a target that holds another secret, one whose token URL drifted and one the gateway cannot authenticate", async () => {
      const { adapter, targets } = await listedTargets(4);
      await propagateSecret({ adapter, targets, secret: w.newSecret, maxConcurrency: 4, sleep: fastSleep });
      const [stale, drifted, revoked] = targets;
      w.f.emulator.setServerSecret(stale!.id, w.oldSecret);
      w.f.emulator.editServer(drifted!.id, { tokenUrl: `${w.entra.url}/common/oauth2/v2.0/token` });
      // The secret is right but the client ID now names an app Entra does not know.
      const ghost = randomUUID();
      w.f.emulator.editServer(revoked!.id, { clientId: ghost });
      const results = await verifyTargets({ adapter, targets, secret: w.newSecret, clientId: w.clientId, useTestConnection: true });
      w.scanner.collect("verification", results);
      const by = new Map(results.map((r) => [r.id, r]));
      expect(by.get(stale!.id)).toMatchObject({ ok: false, fingerprintMatches: false, clientIdUnchanged: true, tokenUrlUnchanged: true });
      expect(by.get(stale!.id)!.testConnection).toBeUndefined();
      expect(by.get(drifted!.id)).toMatchObject({ ok: false, fingerprintMatches: true, tokenUrlUnchanged: false });
      expect(by.get(drifted!.id)!.testConnection!.detail).toContain("AADSTS");
      expect(by.get(revoked!.id)).toMatchObject({ ok: false, fingerprintMatches: true, clientIdUnchanged: false, testConnection: { ok: false } });
      expect(by.get(revoked!.id)!.testConnection!.detail).toContain("AADSTS700016");
      expect(by.get(targets[3]!.id)).toMatchObject({ ok: true });
    });

    it("reports a target deleted since listing as not ok with its error, and skips the test connection when told to", async () => {
      const { adapter, targets } = await listedTargets(2);
      const gone: GatewayTarget = { ...targets[0]!, id: "mcp_deleted_meanwhile" };
      const testsBefore = w.f.emulator.server.count("POST", /\/authentication\/test$/);
      const results = await verifyTargets({ adapter, targets: [gone, targets[1]!], secret: w.oldSecret, clientId: w.clientId, useTestConnection: false });
      expect(results[0]).toMatchObject({ ok: false, error: { code: "GATEWAY_TARGET_NOT_FOUND" } });
      expect(results[1]).toMatchObject({ ok: true, fingerprintMatches: true });
      expect(results[1]!.testConnection).toBeUndefined();
      expect(w.f.emulator.server.count("POST", /\/authentication\/test$/)).toBe(testsBefore);
    });
  });

  describe("manual gateway", () => {
    it("lists the configured names and fails every target with GATEWAY_MANUAL_ACTION_REQUIRED and the confirm route", async () => {
      const adapter = createGatewayAdapter({ kind: "manual", targets: ["mcp-alpha", "mcp-beta", "mcp-alpha"] }, { http: fastHttp(w.f) });
      expect(adapter.kind).toBe("manual");
      expect(adapter.testConnection).toBeUndefined();
      const targets = await adapter.listTargets({ clientId: w.clientId });
      expect(targets.map((t) => [t.id, t.name, t.clientId])).toEqual([
        ["mcp-alpha", "mcp-alpha", w.clientId],
        ["mcp-beta", "mcp-beta", w.clientId],
      ]);
      const outcomes = await propagateSecret({ adapter, targets, secret: w.newSecret, maxConcurrency: 2, sleep: fastSleep });
      w.scanner.collect("manual outcomes", outcomes);
      for (const o of outcomes) {
        expect(o).toMatchObject({ ok: false, attempts: 1, error: { code: "GATEWAY_MANUAL_ACTION_REQUIRED" } });
        expect(o.error!.message).toContain(`"${o.name}"`);
        expect(o.error!.hint).toContain("POST /api/rotations/{runId}/confirm");
      }
      await expect(adapter.readTarget("not-configured")).rejects.toMatchObject({ code: "GATEWAY_TARGET_NOT_FOUND" });
    });

    it("builds the cequence adapter from the factory and refuses one without an API token", () => {
      const config = cequenceConfig(w.f);
      expect(createGatewayAdapter(config, { apiToken: w.f.apiToken, http: fastHttp(w.f) }).kind).toBe("cequence");
      expect(() => createGatewayAdapter(config, { http: fastHttp(w.f) })).toThrow(expect.objectContaining({ code: "GATEWAY_TOKEN_MISSING" }));
    });
  });
});
