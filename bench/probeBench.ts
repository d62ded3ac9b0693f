import { World, freshContainer } from "../tests/harness/world.js";
import { silentLogger } from "../src/logging.js";
import { probeSet } from "../src/handlers/health.js";

export interface ProbeBenchResult {
  runs: number;
  latencies: { entraMs: number; keyVaultMs: number; gatewayMs: number };
  /** Median wall time of a full probe of one set. */
  probeMs: number;
  /** The slowest single check of that same probe. */
  slowestCheckMs: number;
  slowestCheck: string;
  /** probe ÷ slowest check: 1.0 means the checks fully overlap (goal ≤ 1.3). */
  ratio: number;
  /** Sum of every check's duration: what running them one after another would roughly cost. */
  sumOfChecksMs: number;
}

/**
 * The probe runs its checks in parallel, so with slow dependencies a full probe should take about
 * as long as its slowest check, not their sum. Latency is added on every emulator route.
 */
export async function benchProbe(connectionString: string, options: { runs?: number } = {}): Promise<ProbeBenchResult> {
  const runs = options.runs ?? 7;
  const latencies = { entraMs: 120, keyVaultMs: 60, gatewayMs: 80 };
  const world = await World.start({ gatewayLatencyMs: latencies.gatewayMs });
  try {
    const seeded = world.seedSet({ name: "bench-probe", secretExpiresInDays: 120, targets: 25, otherTargets: 0 });
    const container = await freshContainer(connectionString, "bench");
    const runtime = world.runtime([seeded.set], container);
    await probeSet(runtime, seeded.set, silentLogger); // warm-up: TLS sessions, tokens, challenge
    world.entra.server.faults.add({ route: "^(GET|POST) /(?!_control)", latencyMs: latencies.entraMs });
    world.keyVault.server.faults.add({ route: "^(GET|PUT|PATCH) /secrets", latencyMs: latencies.keyVaultMs });
    const samples: { probeMs: number; slowestCheckMs: number; slowestCheck: string; sumOfChecksMs: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const report = await probeSet(runtime, seeded.set, silentLogger);
      if (!report.ok)
        throw new Error(
          `probe failed during the benchmark: ${report.checks
            .filter((c) => c.status !== "pass")
            .map((c) => c.id)
            .join(", ")}`,
        );
      const slowest = report.checks.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
      samples.push({
        probeMs: report.durationMs,
        slowestCheckMs: slowest.durationMs,
        slowestCheck: slowest.id,
        sumOfChecksMs: report.checks.reduce((n, c) => n + c.durationMs, 0),
      });
    }
    samples.sort((a, b) => a.probeMs - b.probeMs);
    const median = samples[Math.floor(samples.length / 2)]!;
    await container.deleteIfExists();
    return { runs, latencies, ...median, ratio: Math.round((median.probeMs / median.slowestCheckMs) * 100) / 100 };
  } finally {
    await world.stop();
  }
}
