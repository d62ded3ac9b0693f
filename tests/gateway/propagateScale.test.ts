import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCequenceAdapter } from "../../src/gateway/cequence/index.js";
import { propagateCanaryFirst, propagateSecret, verifyTargets } from "../../src/gateway/propagate.js";
import { createRateLimiter, type RateLimiter } from "../../src/gateway/rateLimiter.js";
import type { GatewayAdapter, GatewayTarget } from "../../src/gateway/types.js";
import { cequenceConfig, fastHttp, fastSleep, seedOurServer, usePropagationWorld } from "./helpers.js";

/**
 * Propagation at gateway scale, against the gateway emulator whose servers authenticate at the
 * Entra emulator: discovery over many pages and tenant forms, canary first, adaptive rate under
 * 429 storms, 412 re-reads and lost updates. Pacing is judged from the gateway's own traffic log,
 * "no outage" (I1) from its ground truth. Speed is judged in `npm run bench -- propagation`.
 */
describe("propagation at gateway scale", () => {
  const w = usePropagationWorld({ pageSizeMax: 25, onlyTenantTokenUrl: false, minScanned: 5 });

  /** What every propagation here shares: the new secret, no real waiting, the world's log. */
  function pushingNewSecret<T extends object>(options: T) {
    return { secret: w.newSecret, sleep: fastSleep, logger: w.logger, ...options };
  }

  const seedTargets = (n: number, others = 0): void => {
    for (let i = 0; i < n; i++) {
      // Other applications' servers between ours, so targets are spread over many pages.
      for (let j = 0; j < others; j++)
        w.f.emulator.seedServer({ name: `other-${i}-${j}`, tokenUrl: w.tokenUrl, clientId: randomUUID(), clientSecret: `other-${randomUUID()}` });
      seedOurServer(w, `mcp-${i}`, ["openid"]);
    }
  };
  const makeAdapter = (options: { rps?: number; limiter?: RateLimiter; maxRetries?: number } = {}): GatewayAdapter =>
    createCequenceAdapter({
      config: cequenceConfig(w.f, { maxRequestsPerSecond: options.rps ?? 1000, pageSize: 25 }),
      apiToken: w.f.apiToken,
      http: fastHttp(w.f, { maxRetries: options.maxRetries ?? 3 }),
      logger: w.logger,
      ...(options.limiter ? { rateLimiter: options.limiter } : {}),
    });
  /** Seeds `n` of our servers (and `others` of other apps) and lists ours through a fresh adapter. */
  const listedTargets = async (n: number, others = 0): Promise<{ adapter: GatewayAdapter; targets: GatewayTarget[] }> => {
    seedTargets(n, others);
    const adapter = makeAdapter();
    return { adapter, targets: await adapter.listTargets({ clientId: w.clientId }) };
  };
  const tenant = () => ({ tenantId: w.entra.tenantId, authorityHosts: [w.entra.url] });
  const ours = () => w.f.emulator.servers().filter((s) => s.clientId === w.clientId);
  const assertNoOutage = (): void => {
    const bad = w.f.emulator.secretsAcceptedNow().filter((s) => ours().some((o) => o.id === s.id) && !s.accepted);
    expect(bad, "I1: every target holds a secret Entra accepts").toEqual([]);
  };

  it("discovers targets over many pages and recognises the tenant in every form; another tenant is drift, not a target", async () => {
    const port = new URL(w.entra.url).port;
    const same = [
      w.tokenUrl,
      `${w.entra.url}/${w.entra.tenantId.toUpperCase()}/oauth2/v2.0/token`,
      `HTTPS://127.0.0.1:${port}/${w.entra.tenantId}/oauth2/v2.0/token/`,
      `${w.entra.url}/${w.entra.tenantId}/oauth2/token`,
      `${w.entra.url}/${w.entra.customDomain}/oauth2/v2.0/token`,
      `${w.entra.url}/${w.entra.customDomain.toUpperCase()}/oauth2/v2.0/token`,
    ];
    const otherTenant = randomUUID();
    const drift = [
      `${w.entra.url}/${otherTenant}/oauth2/v2.0/token`,
      `${w.entra.url}/common/oauth2/v2.0/token`,
      `${w.entra.url}/not-a-tenant.example.org/oauth2/v2.0/token`,
      `https://login.example.org/${w.entra.tenantId}/oauth2/v2.0/token`,
      `${w.entra.url}/${w.entra.tenantId}/oauth2/v2.0/authorize`,
    ];
    const want = new Set<string>();
    const wantDrift = new Set<string>();
    let n = 0;
    // 600 servers on 24 pages of 25; ours scattered, each form several times.
    for (let i = 0; i < 600; i++) {
      if (i % 10 === 3) {
        const s = w.f.emulator.seedServer({
          name: `t-${i}`,
          tokenUrl: same[n++ % same.length]!,
          clientId: i % 20 === 3 ? w.clientId.toUpperCase() : w.clientId,
          clientSecret: w.oldSecret,
        });
        want.add(s.id);
      } else if (i % 50 === 7) {
        const s = w.f.emulator.seedServer({ name: `d-${i}`, tokenUrl: drift[wantDrift.size % drift.length]!, clientId: w.clientId, clientSecret: w.oldSecret });
        wantDrift.add(s.id);
      } else {
        w.f.emulator.seedServer({ name: `o-${i}`, tokenUrl: w.tokenUrl, clientId: randomUUID(), clientSecret: `other-${randomUUID()}` });
      }
    }
    const reported = new Map<string, string>();
    const targets = await makeAdapter().listTargets({ clientId: w.clientId, tenant: tenant(), onDrift: (t, why) => reported.set(t.id, why) });
    expect(new Set(targets.map((t) => t.id))).toEqual(want);
    expect(new Set(reported.keys())).toEqual(wantDrift);
    expect([...reported.values()].join("\n")).toMatch(/names tenant|'common'|does not know|host login\.example\.org|not a tenant's token endpoint/);
    // Every page was read once; the domain form was resolved once (cached), not once per server.
    expect(w.f.emulator.traffic.all().filter((e) => e.method === "GET").length).toBe(24);
    expect(w.entra.emulator.server.count("GET", new RegExp(`^/${w.entra.customDomain}/v2\\.0/\\.well-known/openid-configuration$`, "i"))).toBeLessThanOrEqual(
      2,
    );
  });

  it("canary first: when the canary fails verification nothing else is written, and every target keeps a secret Entra accepts", async () => {
    const { adapter, targets } = await listedTargets(30);
    // A faulty gateway acknowledges the next update without storing it.
    w.f.emulator.setLoseUpdates({ times: 1 });
    const result = await propagateCanaryFirst(
      pushingNewSecret({ adapter, targets, maxConcurrency: 8, verify: { clientId: w.clientId, useTestConnection: true } }),
    );
    w.scanner.collect("canary", result);
    expect(result.status).toBe("verify-failed");
    expect(result.canary?.outcome.id).toBe(targets[0]!.id);
    expect(result.canary?.verification?.fingerprintMatches).toBe(false);
    expect(result.outcomes).toHaveLength(1);
    // Ground truth: exactly one PATCH reached the gateway; every server still holds the old secret.
    expect(w.f.emulator.traffic.all().filter((e) => e.method === "PATCH")).toHaveLength(1);
    expect(ours().every((s) => s.clientSecret === w.oldSecret)).toBe(true);
    assertNoOutage();
  });

  it("canary first: a passing canary is verified with the gateway's test connection before the rest are written", async () => {
    const { adapter, targets } = await listedTargets(12);
    w.f.emulator.traffic.clear();
    const result = await propagateCanaryFirst(
      pushingNewSecret({ adapter, targets, maxConcurrency: 4, verify: { clientId: w.clientId, useTestConnection: true } }),
    );
    expect(result.status).toBe("passed");
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    const log = w.f.emulator.traffic.all();
    const firstTest = log.findIndex((e) => e.method === "POST");
    const patchesBeforeTest = log.slice(0, firstTest).filter((e) => e.method === "PATCH").length;
    expect(firstTest).toBeGreaterThan(0);
    expect(patchesBeforeTest).toBe(1);
    expect(ours().every((s) => s.clientSecret === w.newSecret)).toBe(true);
    assertNoOutage();
  });

  it("a gateway that silently loses updates is caught by verification (read-back fingerprint)", async () => {
    const { adapter, targets } = await listedTargets(20);
    const lost = [targets[5]!.id, targets[11]!.id];
    w.f.emulator.setLoseUpdates({ ids: lost });
    const outcomes = await propagateSecret(pushingNewSecret({ adapter, targets, maxConcurrency: 6 }));
    expect(outcomes.every((o) => o.ok)).toBe(true); // the gateway said 200 every time
    const checks = await verifyTargets({ adapter, targets, secret: w.newSecret, clientId: w.clientId, useTestConnection: true, maxConcurrency: 6 });
    expect(
      checks
        .filter((c) => !c.ok)
        .map((c) => c.id)
        .sort(),
    ).toEqual([...lost].sort());
    expect(checks.filter((c) => !c.ok).every((c) => !c.fingerprintMatches)).toBe(true);
    assertNoOutage();
  });

  it("retries and late timers could exceed the rate: never sends more than maxRequestsPerSecond, as the gateway's own arrival log shows (updates, read-backs and tests share one budget)", async () => {
    seedTargets(60, 1);
    w.f.emulator.setLatency(5);
    const rps = 40;
    const adapter = makeAdapter({ rps });
    const targets = await adapter.listTargets({ clientId: w.clientId });
    w.f.emulator.traffic.clear();
    await propagateSecret(pushingNewSecret({ adapter, targets, maxConcurrency: 16 }));
    const checks = await verifyTargets({ adapter, targets, secret: w.newSecret, clientId: w.clientId, useTestConnection: true, maxConcurrency: 16 });
    expect(checks.every((c) => c.ok)).toBe(true);
    const seen = w.f.emulator.traffic.summary(1000);
    expect(seen.requests).toBe(180);
    // The limiter releases at most rate + 1 calls in any second (a late timer may catch up half a
    // step); the gateway sees arrivals, which a loaded machine can bunch by a request or two more.
    expect(seen.peakPerWindow).toBeLessThanOrEqual(rps + 3);
    // …and it runs near the limit rather than far under it (180 calls at 40/s take ≥ 4.5 s).
    expect(seen.spanMs).toBeGreaterThan(4_000);
  });

  it("429s did not slow the other callers: a 429 storm slows every caller down, honours Retry-After, and the rate recovers once the gateway accepts again", async () => {
    seedTargets(40);
    const limiter = createRateLimiter({ requestsPerSecond: 200, recoverySeconds: 1 });
    const adapter = makeAdapter({ limiter, maxRetries: 6 });
    const targets = await adapter.listTargets({ clientId: w.clientId });
    // The gateway allows 20 per second with a burst of 4: far below what the client starts at.
    w.f.emulator.setRateLimit({ capacity: 4, refillPerSecond: 20 });
    w.f.emulator.traffic.clear();
    const outcomes = await propagateSecret(pushingNewSecret({ adapter, targets, maxConcurrency: 16, retry: { maxAttempts: 6 } }));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(ours().every((s) => s.clientSecret === w.newSecret)).toBe(true);
    const storm = w.f.emulator.traffic.summary();
    expect(storm.throttled).toBeGreaterThan(0);
    expect(limiter.stats!().throttled).toBeGreaterThan(0);
    expect(limiter.stats!().requestsPerSecond).toBeLessThan(200);
    // Backing off works: far fewer 429s than writes (a client that ignored them would collect hundreds).
    expect(storm.throttled).toBeLessThan(targets.length);
    // After a Retry-After, nothing arrives before it has passed: no two 429s less than 1 s apart can
    // both come from the same pause — so 429s are spread out, not a burst.
    const t429 = w.f.emulator.traffic
      .all()
      .filter((e) => e.status === 429)
      .map((e) => e.atMs);
    const bursts = t429.filter((t, i) => i > 0 && t - t429[i - 1]! < 5).length;
    expect(bursts).toBeLessThan(t429.length);
    // The gateway heals: accepted calls bring the rate back to the ceiling.
    w.f.emulator.setRateLimit(undefined);
    for (let pass = 0; pass < 6 && limiter.stats!().requestsPerSecond < 200; pass++) {
      await verifyTargets({ adapter, targets, secret: w.newSecret, clientId: w.clientId, useTestConnection: false, maxConcurrency: 16 });
    }
    expect(limiter.stats!().requestsPerSecond).toBe(200);
    assertNoOutage();
  });

  it("on 412 re-reads the target and writes again with the fresh ETag, for many targets edited behind our back", async () => {
    const { adapter, targets } = await listedTargets(30);
    const edited = targets.filter((_, i) => i % 3 === 0);
    for (const t of edited) w.f.emulator.editServer(t.id, { name: `${t.name}-renamed` });
    w.f.emulator.traffic.clear();
    const outcomes = await propagateSecret(pushingNewSecret({ adapter, targets, maxConcurrency: 8 }));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(w.f.emulator.traffic.all().filter((e) => e.status === 412)).toHaveLength(edited.length);
    for (const t of edited) expect(outcomes.find((o) => o.id === t.id)!.attempts).toBe(2);
    expect(ours().every((s) => s.clientSecret === w.newSecret)).toBe(true);
  });
});
