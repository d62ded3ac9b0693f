import { World, freshContainer } from "../tests/harness/world.js";
import { silentLogger } from "../src/logging.js";
import { probeSet } from "../src/handlers/health.js";
import { seedOtherServers } from "./otherServers.js";

/**
 * The gateway-drift check at scale (issue 27 item 3): 2,000 targets among 10,000 MCP servers behind
 * 40 ms latency and a 200 req/s token bucket. The check waits on the probe's shared reads, of which
 * the gateway listing is by far the slowest; its own work (every target's settings and fingerprint,
 * the discovery documents of the domains they name) should add little on top. The result is the
 * check's wall time against one listing of the same gateway timed alone in the same run (goal ≤ 1.1).
 */
export interface DriftBenchResult {
  servers: number;
  targets: number;
  latencyMs: number;
  bucketPerSecond: number;
  runs: number;
  /** Median wall time of the gateway-drift check within a full probe. */
  driftMs: number;
  /** Median wall time of one listing of the gateway, timed alone (what the check waits on). */
  listingMs: number;
  ratio: number;
  /** Wall time of the whole probe at the median run. */
  probeMs: number;
  /**
   * One more probe while a rotation pass propagates to the same 2,000 targets through the same
   * runtime (one adapter, one limiter): the check's wall time and outcome, and what the gateway saw
   * over the pass (429s, the most requests in any one-second window, against its bucket).
   */
  shared: { driftMs: number; driftStatus: string; passMs: number; passStatus: string; throttled: number; peakPerSecond: number };
}

export async function benchDrift(connectionString: string, options: { servers?: number; targets?: number; runs?: number } = {}): Promise<DriftBenchResult> {
  const servers = options.servers ?? 10_000;
  const targets = options.targets ?? 2_000;
  const runs = options.runs ?? 3;
  const latencyMs = 40;
  const bucketPerSecond = 200;
  const world = await World.start({ gatewayLatencyMs: latencyMs });
  try {
    seedOtherServers(world, servers - targets);
    const { set } = world.seedSet({
      name: "bench-drift",
      // Due for rotation, so the pass of the shared phase writes every target; the check itself
      // does not depend on the expiry.
      secretExpiresInDays: 5,
      targets,
      otherTargets: 0,
      overrides: { gateway: { ...world.cequenceGroup(), maxRequestsPerSecond: bucketPerSecond } },
    });
    world.gateway.setRateLimit({ capacity: bucketPerSecond, refillPerSecond: bucketPerSecond });
    const container = await freshContainer(connectionString, "bench");
    try {
      const runtime = world.runtime([set], container);
      const clients = await runtime.clientsFor(set);
      const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 1_050));
      const samples: { driftMs: number; listingMs: number; probeMs: number }[] = [];
      for (let i = 0; i < runs; i++) {
        await settle();
        const t0 = performance.now();
        const listed = await clients.gateway.listTargets({ clientId: set.clientId });
        const listingMs = performance.now() - t0;
        if (listed.length !== targets) throw new Error(`the listing found ${listed.length} targets, expected ${targets}`);
        await settle();
        const report = await probeSet(runtime, set, silentLogger);
        const drift = report.checks.find((c) => c.id === "gateway-drift");
        if (!drift || drift.status !== "pass") throw new Error(`gateway-drift did not pass: ${drift?.status ?? "missing"} ${drift?.summary ?? ""}`);
        samples.push({ driftMs: drift.durationMs, listingMs, probeMs: report.durationMs });
      }
      // The shared phase: the probe starts once the pass is propagating (its plan lists first).
      await settle();
      world.gateway.traffic.clear();
      const runner = await runtime.createRunner(set, silentLogger);
      const p0 = performance.now();
      const pass = runner.runPass({ mode: "scheduled", trigger: "queue" });
      while (world.gateway.traffic.all().filter((e) => e.method === "PATCH").length === 0) await new Promise((r) => setTimeout(r, 20));
      const report = await probeSet(runtime, set, silentLogger);
      const passed = await pass;
      const passMs = performance.now() - p0;
      const traffic = world.gateway.traffic.summary(1000);
      const drift = report.checks.find((c) => c.id === "gateway-drift")!;
      const shared = {
        driftMs: drift.durationMs,
        driftStatus: drift.status,
        passMs: Math.round(passMs),
        passStatus: passed.status,
        throttled: traffic.throttled,
        peakPerSecond: traffic.peakPerWindow,
      };
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const driftMs = median(samples.map((s) => s.driftMs));
      const listingMs = median(samples.map((s) => s.listingMs));
      return {
        servers,
        targets,
        latencyMs,
        bucketPerSecond,
        runs,
        driftMs: Math.round(driftMs),
        listingMs: Math.round(listingMs),
        ratio: Math.round((driftMs / listingMs) * 100) / 100,
        probeMs: Math.round(median(samples.map((s) => s.probeMs))),
        shared,
      };
    } finally {
      await container.deleteIfExists();
    }
  } finally {
    await world.stop();
  }
}
