import { World, freshContainer } from "../tests/harness/world.js";
import { memoryLogger } from "../src/logging.js";

export interface RotationBenchResult {
  targets: number;
  gatewayLatencyMs: number;
  concurrency: number;
  propagateMs: number;
  sequentialPropagateMs: number;
  /** Lower bound: targets × latency ÷ concurrency. */
  idealMs: number;
  /** propagate ÷ ideal (1.0 = no overhead beyond the gateway's latency). */
  ratioToIdeal: number;
  /** sequential ÷ concurrent propagation, measured in the same run. */
  speedup: number;
}

/**
 * Propagation is the step whose cost grows with the estate: N MCP servers, each PATCH + read-back
 * + test connection against a gateway with real latency. Measured twice in the same run — bounded
 * concurrency and strictly sequential — and reported as ratios, never as absolute thresholds.
 */
export async function benchRotation(
  connectionString: string,
  options: { targets?: number; latencyMs?: number; concurrency?: number } = {},
): Promise<RotationBenchResult> {
  const targets = options.targets ?? 100;
  const latency = options.latencyMs ?? 50;
  const concurrency = options.concurrency ?? 8;
  const world = await World.start({ gatewayLatencyMs: latency });
  try {
    const measure = async (maxConcurrency: number, name: string): Promise<number> => {
      const seeded = world.seedSet({
        name,
        secretExpiresInDays: 5,
        targets,
        otherTargets: 0,
        overrides: {
          gateway: {
            ...world.cequenceGroup(),
            maxConcurrency,
            maxRequestsPerSecond: 1000,
            testConnection: false,
          },
        },
      });
      const container = await freshContainer(connectionString, "bench");
      const runtime = world.runtime([seeded.set], container);
      const runner = await runtime.createRunner(seeded.set, memoryLogger().logger);
      const res = await runner.runPass({ mode: "scheduled", trigger: "queue" });
      const step = res.journal.steps.find((s) => s.name === "propagate" && s.status === "done");
      if (!step) throw new Error(`propagation did not complete (${res.status})`);
      await container.deleteIfExists();
      return step.durationMs;
    };
    const propagateMs = await measure(concurrency, "bench-concurrent");
    const sequentialPropagateMs = await measure(1, "bench-sequential");
    const idealMs = (targets * latency) / concurrency;
    return {
      targets,
      gatewayLatencyMs: latency,
      concurrency,
      propagateMs,
      sequentialPropagateMs,
      idealMs,
      ratioToIdeal: round2(propagateMs / idealMs),
      speedup: round2(sequentialPropagateMs / propagateMs),
    };
  } finally {
    await world.stop();
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
