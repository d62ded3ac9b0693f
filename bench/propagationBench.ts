import type { ContainerClient } from "@azure/storage-blob";
import { World, freshContainer } from "../tests/harness/world.js";
import { silentLogger } from "../src/logging.js";
import { seedOtherServers } from "./otherServers.js";
import type { CredentialSet } from "../src/config/schema.js";

/**
 * Propagation at gateway scale: one secret pushed to N MCP servers among M on a gateway that
 * throttles with a token bucket (429 + Retry-After), with 40 ms latency and the test connection
 * on. Each target costs three calls (update, read-back, test connection), so the bucket bounds
 * the rate at refill ÷ 3 targets per second; the result is reported as a ratio to that bound and
 * to a one-at-a-time baseline measured in the same run, never as an absolute time.
 *
 * What the emulator saw (requests, 429s, peak per second) comes from its own traffic log.
 */
export interface PropagationBenchOptions {
  servers?: number;
  targets?: number;
  latencyMs?: number;
  /** The gateway's bucket: refill per second (the documented limit) and burst capacity. */
  bucketPerSecond?: number;
  bucketCapacity?: number;
  concurrency?: number;
  /** Whether the gateway offers numbered pages (default true). */
  numberedPages?: boolean;
  /** Targets of the one-at-a-time baseline (its rate does not depend on N; it is measured, not extrapolated). */
  baselineTargets?: number;
}

export interface PassFigures {
  targets: number;
  /** Wall time of the propagate + verify-targets steps (discovery listings included). */
  ms: number;
  /** Wall time of one full listing of the gateway (measured separately); propagate lists once and verify-targets reuses it. */
  listingMs: number;
  /** Full listings the whole pass made, counted from the gateway's traffic (plan, propagate, retire's lagging check). */
  listingsInPass: number;
  updatesPerSecond: number;
  /** The same, with the one discovery listing's time taken out. */
  updatesPerSecondExcludingDiscovery: number;
  requests: number;
  throttled: number;
  peakPerSecond: number;
  failed: number;
  journalBytes: number;
  status: string;
}

export interface PropagationBenchResult {
  servers: number;
  targets: number;
  latencyMs: number;
  bucketPerSecond: number;
  bucketCapacity: number;
  concurrency: number;
  /** refill ÷ 3 calls per target. */
  boundPerSecond: number;
  main: PassFigures;
  baseline: PassFigures;
  ratio: number;
  ratioExcludingDiscovery: number;
  speedupOverBaseline: number;
  allHoldNewSecret: boolean;
  peakRssMb: number;
}

export async function benchPropagation(connectionString: string, options: PropagationBenchOptions = {}): Promise<PropagationBenchResult> {
  const servers = options.servers ?? 10_000;
  const targets = options.targets ?? 2_000;
  const baselineTargets = options.baselineTargets ?? 200;
  const latencyMs = options.latencyMs ?? 40;
  const bucketPerSecond = options.bucketPerSecond ?? 200;
  const bucketCapacity = options.bucketCapacity ?? 200;
  const concurrency = options.concurrency ?? 64;
  /** The adapter's default page size: one listing is ⌈servers ÷ this⌉ pages. */
  const pageSize = 100;
  // The gateway offers numbered pages (docs/gateway-contract.md, optional): the adapter fetches them
  // several at a time; one that does not is listed by cursor, a chain of latency-bound pages.
  const world = await World.start({ gatewayLatencyMs: latencyMs, gatewayNumberedPages: options.numberedPages ?? true });
  try {
    // Other applications' servers around the targets, so the listing pages through all of them.
    const seedOthers = (n: number): void => seedOtherServers(world, n);
    const others = servers - targets - baselineTargets;
    seedOthers(Math.floor(others / 2));
    const seed = (name: string, n: number, maxConcurrency: number): CredentialSet =>
      world.seedSet({
        name,
        secretExpiresInDays: 5,
        targets: n,
        otherTargets: 0,
        overrides: {
          gateway: {
            ...world.cequenceGroup(),
            maxConcurrency,
            maxRequestsPerSecond: bucketPerSecond,
            testConnection: true,
          },
        },
      }).set;
    const mainSet = seed("bench-scale", targets, concurrency);
    seedOthers(others - Math.floor(others / 2));
    const baselineSet = seed("bench-baseline", baselineTargets, 1);
    world.gateway.setRateLimit({ capacity: bucketCapacity, refillPerSecond: bucketPerSecond });

    const measure = async (set: CredentialSet, n: number): Promise<PassFigures> => {
      const container = await freshContainer(connectionString, "bench");
      try {
        const runtime = world.runtime([set], container);
        const clients = await runtime.clientsFor(set);
        // One listing on its own: what each of the two steps spends on discovery.
        await settleBucket();
        const t0 = performance.now();
        const listed = await clients.gateway.listTargets({ clientId: set.clientId });
        const listingMs = performance.now() - t0;
        if (listed.length !== n) throw new Error(`discovery found ${listed.length} targets, expected ${n}`);

        const runner = await runtime.createRunner(set, silentLogger);
        await settleBucket();
        world.gateway.traffic.clear();
        const res = await runner.runPass({ mode: "scheduled", trigger: "queue" });
        const traffic = world.gateway.traffic.summary(1000);
        const stepMs = (name: string): number => res.journal.steps.filter((s) => s.name === name).reduce((a, s) => a + s.durationMs, 0);
        const ms = stepMs("propagate") + stepMs("verify-targets");
        const failed = res.journal.targets.filter((t) => t.outcome === undefined && !t.verified).length;
        const workMs = Math.max(1, ms - listingMs);
        const listPages = world.gateway.traffic.all().filter((e) => e.method === "GET" && /\/mcp-servers$/.test(e.path)).length;
        return {
          targets: n,
          ms: Math.round(ms),
          listingMs: Math.round(listingMs),
          listingsInPass: Math.round((listPages / Math.ceil(world.gateway.servers().length / pageSize)) * 10) / 10,
          updatesPerSecond: round2(n / (ms / 1000)),
          updatesPerSecondExcludingDiscovery: round2(n / (workMs / 1000)),
          requests: traffic.requests,
          throttled: traffic.throttled,
          peakPerSecond: traffic.peakPerWindow,
          failed,
          journalBytes: await journalBytes(container, res.runId),
          status: res.status,
        };
      } finally {
        await container.deleteIfExists();
      }
    };
    // Let the bucket fill again between phases, so one phase's debt does not slow the next.
    const settleBucket = (): Promise<void> => new Promise((r) => setTimeout(r, Math.ceil((bucketCapacity / bucketPerSecond) * 1000) + 50));

    const main = await measure(mainSet, targets);
    const baseline = await measure(baselineSet, baselineTargets);
    const held = new Set(
      world.gateway
        .servers()
        .filter((s) => s.clientId === mainSet.clientId)
        .map((s) => s.clientSecret),
    );
    const boundPerSecond = bucketPerSecond / 3;
    return {
      servers,
      targets,
      latencyMs,
      bucketPerSecond,
      bucketCapacity,
      concurrency,
      boundPerSecond: round2(boundPerSecond),
      main,
      baseline,
      ratio: round2(main.updatesPerSecond / boundPerSecond),
      ratioExcludingDiscovery: round2(main.updatesPerSecondExcludingDiscovery / boundPerSecond),
      speedupOverBaseline: round2(main.updatesPerSecond / baseline.updatesPerSecond),
      allHoldNewSecret: held.size === 1,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    await world.stop();
  }
}

async function journalBytes(container: ContainerClient, runId: string): Promise<number> {
  for await (const b of container.listBlobsFlat()) {
    if (b.name.includes(runId) && !b.name.startsWith("run-index/")) return b.properties.contentLength ?? 0;
  }
  return 0;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
