/**
 * `npm run bench [-- <name>] [-- --json]` — benchmarks against the local emulators, each reported as
 * a ratio to a bound or a baseline measured in the same run (absolute times on a shared 2-core
 * machine mean little). Names: rotation, propagation, drift, mixed, probe, coldstart, cli (default: all).
 * coldstart needs no emulator: it builds the bundle and the unbundled tsc output and imports each
 * in fresh processes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAzurite } from "../emulators/azurite.js";
import { benchRotation } from "../bench/rotationBench.js";
import { benchProbe } from "../bench/probeBench.js";
import { benchColdStart } from "../bench/coldstartBench.js";
import { benchPropagation } from "../bench/propagationBench.js";
import { benchCliStart } from "../bench/cliStartBench.js";
import { benchDrift } from "../bench/driftBench.js";
import { benchMixed } from "../bench/mixedBench.js";

/** The fields of a bench's result that its JSON output carries under the same names. */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

type BenchFn = (connectionString: string) => Promise<Record<string, unknown>>;

/** Benchmarks that need no Azurite. */
const standalone = new Set(["coldstart", "cli"]);

const benches: Record<string, BenchFn> = {
  probe: async (cs) => {
    const r = await benchProbe(cs);
    console.log(
      `probe: full probe of one set in ${r.probeMs} ms (median of ${r.runs}; latency Entra ${r.latencies.entraMs} ms, Key Vault ${r.latencies.keyVaultMs} ms, gateway ${r.latencies.gatewayMs} ms)`,
    );
    console.log(
      `  slowest check ${r.slowestCheck} ${r.slowestCheckMs} ms → ratio ${r.ratio} (goal ≤ 1.3); the checks' durations add up to ${r.sumOfChecksMs} ms (${(r.sumOfChecksMs / r.probeMs).toFixed(1)}× the probe)`,
    );
    return { probeMs: r.probeMs, slowestCheckMs: r.slowestCheckMs, ratio: r.ratio };
  },
  propagation: async (cs) => {
    const r = await benchPropagation(cs);
    const m = r.main;
    const b = r.baseline;
    console.log(
      `propagation: ${m.targets} targets among ${r.servers} MCP servers; gateway latency ${r.latencyMs} ms, token bucket ${r.bucketPerSecond}/s (burst ${r.bucketCapacity}) answering 429 + Retry-After, test connection on, concurrency ${r.concurrency}`,
    );
    console.log(
      `  ${m.updatesPerSecond} targets/s updated + read back + tested (${m.ms} ms for propagate + verify-targets, ${m.status}); bound ${r.boundPerSecond}/s (${r.bucketPerSecond} req/s ÷ 3 calls per target) → ratio ${r.ratio} (goal ≥ 0.9)`,
    );
    console.log(
      `  of that, discovery: ${m.listingMs} ms for one listing of ${r.servers} servers (the gateway offers numbered pages, fetched several at a time), shared by propagate and verify-targets; without it ${m.updatesPerSecondExcludingDiscovery} targets/s → ratio ${r.ratioExcludingDiscovery}; the whole pass listed ${m.listingsInPass}× (plan, propagate, retire's check)`,
    );
    console.log(
      `  emulator saw ${m.requests} requests, ${m.throttled} answered 429, peak ${m.peakPerSecond} requests in any 1 s window; ${m.failed} failed target(s); every target holds the new secret: ${r.allHoldNewSecret}`,
    );
    console.log(
      `  baseline one at a time, measured in this run on ${b.targets} targets (its rate does not depend on the count; not extrapolated): ${b.updatesPerSecond} targets/s (${b.updatesPerSecondExcludingDiscovery} without discovery), ${b.throttled} 429s → ${r.speedupOverBaseline}× (goal ≥ 3×)`,
    );
    console.log(
      `  journal ${(m.journalBytes / 1024).toFixed(1)} KiB for ${m.targets} targets (${Math.round(m.journalBytes / m.targets)} B per target); peak RSS ${r.peakRssMb} MB (emulators and Azurite client in the same process)`,
    );
    return {
      ...pick(r, ["targets", "boundPerSecond", "ratio", "peakRssMb", "ratioExcludingDiscovery", "speedupOverBaseline"]),
      ...pick(m, ["updatesPerSecond", "throttled", "failed", "listingsInPass"]),
      baselineUpdatesPerSecond: b.updatesPerSecond,
      journalKb: Math.round((m.journalBytes / 1024) * 10) / 10,
      peakRequestsPerSecond: m.peakPerSecond,
      baselineTargets: b.targets,
    };
  },
  drift: async (cs) => {
    const r = await benchDrift(cs);
    console.log(
      `drift: the gateway-drift check of a full probe, ${r.targets} targets among ${r.servers} MCP servers; gateway latency ${r.latencyMs} ms, token bucket ${r.bucketPerSecond}/s; median of ${r.runs}`,
    );
    console.log(
      `  gateway-drift ${r.driftMs} ms against one listing of the gateway timed alone ${r.listingMs} ms (what it waits on) → ratio ${r.ratio} (goal ≤ 1.1); whole probe ${r.probeMs} ms`,
    );
    const sh = r.shared;
    console.log(
      `  during a rotation pass over the same targets (one adapter, one limiter): gateway-drift ${sh.driftMs} ms (${sh.driftStatus}; targets mid-rotation) → ${Math.round((sh.driftMs / r.listingMs) * 100) / 100}× the listing alone; pass ${sh.passMs} ms (${sh.passStatus}); the gateway answered ${sh.throttled} × 429, peak ${sh.peakPerSecond} requests in any 1 s window (bucket ${r.bucketPerSecond}/s)`,
    );
    return {
      ...pick(r, ["driftMs", "listingMs", "ratio", "probeMs", "targets", "servers"]),
      sharedDriftMs: sh.driftMs,
      sharedThrottled: sh.throttled,
      sharedPeakPerSecond: sh.peakPerSecond,
    };
  },
  mixed: async (cs) => {
    const r = await benchMixed(cs);
    console.log(
      `mixed: one pass over four target groups at once, each behind its own emulator's latency and token bucket (429 + Retry-After; ARM also x-ms-ratelimit-remaining-*); load average ${r.loadAverage.join(" ")}`,
    );
    for (const g of Object.values(r.groups)) {
      const buckets = g.buckets.map((b) => `${b.name} ${b.calls} calls vs ${b.tokensAtStart} tokens left at the start + ${b.refillPerSecond}/s`).join(", ");
      console.log(
        `  ${g.kind.padEnd(30)} ${g.targets} targets, ${g.limits.latencyMs} ms latency, concurrency ${g.limits.maxConcurrency}: ${g.measuredMs} ms (${g.targetsPerSecond}/s) vs bound ${g.boundMs} ms (${g.boundTargetsPerSecond}/s, ${g.bindsBy}; rate ${g.rateBoundMs} ms, latency ${g.latencyBoundMs} ms) → ratio ${g.ratio}`,
      );
      console.log(`  ${"".padEnd(30)} ${g.calls} calls (${g.listingCalls} listing, ${g.callsPerTarget} per target; ${buckets}), ${g.throttled} answered 429`);
    }
    console.log(
      `  API Management refreshSecret: ${r.operationPolls.polls} operation polls per value, each after Retry-After ${r.operationPolls.retryAfterSeconds} s — in its latency bound as waits no rate shortens`,
    );
    console.log(
      `  pass: propagate + verify-targets ${r.passMs} ms vs the slowest group's bound (${r.slowestGroup}) ${r.slowestBoundMs} ms → ${r.passToSlowestBound}× (goal ≤ 1.2); whole pass ${r.wholePassMs} ms, ${r.status}`,
    );
    console.log(
      `  the gateway group of another set over the same gateway, rotated alone just before: ${r.gatewayAlone.measuredMs} ms (ratio ${r.gatewayAlone.ratio}, ${r.gatewayAlone.failedTargets} failed) → the mixed pass took ${r.passToGatewayAlone}× that`,
    );
    const truth = Object.entries(r.onNewSecret).map(([k, v]) => `${k} ${v.on}/${v.of}`);
    console.log(`  ${r.failedTargets} failed target(s); on the new secret (emulators' ground truth): ${truth.join(", ")} → all: ${r.allHoldNewSecret}`);
    return {
      groups: Object.fromEntries(
        Object.entries(r.groups).map(([k, g]) => [
          k,
          { ratio: g.ratio, measuredMs: g.measuredMs, boundMs: g.boundMs, bindsBy: g.bindsBy, callsPerTarget: g.callsPerTarget, throttled: g.throttled },
        ]),
      ),
      passMs: r.passMs,
      slowestGroup: r.slowestGroup,
      slowestBoundMs: r.slowestBoundMs,
      passToSlowestBound: r.passToSlowestBound,
      gatewayAloneMs: r.gatewayAlone.measuredMs,
      passToGatewayAlone: r.passToGatewayAlone,
      wholePassMs: r.wholePassMs,
      failedTargets: r.failedTargets,
      allHoldNewSecret: r.allHoldNewSecret,
      loadAverage: r.loadAverage,
    };
  },
  rotation: async (cs) => {
    const r = await benchRotation(cs);
    console.log(`rotation: propagated ${r.targets} targets (gateway latency ${r.gatewayLatencyMs} ms, concurrency ${r.concurrency}) in ${r.propagateMs} ms`);
    console.log(`  ideal ${r.idealMs} ms → ratio ${r.ratioToIdeal}× the latency bound; sequential ${r.sequentialPropagateMs} ms → ${r.speedup}× speedup`);
    return { ...r };
  },
  cli: async () => {
    const r = await benchCliStart();
    console.log(`cli: \`mcp-sso-rotator --help\` in a fresh process, median of ${r.runs}`);
    console.log(
      `  from the bundle (dist/cli/index.js, ${r.bundleKb} KiB; commands load on first use) ${r.builtMs} ms vs through tsx ${r.tsxMs} ms → ratio ${r.ratio} (goal: ≤ 1000 ms); a bare node process ${r.floorMs} ms`,
    );
    return { builtMs: r.builtMs, tsxMs: r.tsxMs, floorMs: r.floorMs, ratio: r.ratio, bundleKb: r.bundleKb };
  },
  coldstart: async () => {
    const r = await benchColdStart();
    console.log(
      `coldstart: import of the functions entry into a process in the Functions worker's state (bench/hostPreamble.ts), median of ${r.runs} fresh processes each`,
    );
    console.log(
      `  bundled ${r.bundledMs} ms (dist/main.js + static chunks + azure-functions.cjs, ${r.bundleKb} KiB) vs unbundled ${r.unbundledMs} ms (dist/functions, node_modules) → ratio ${r.ratio} (goal ≤ 0.3)`,
    );
    console.log(
      `  floor: @azure/functions alone, bundled the same way (${r.floor.kb} KiB), ${r.floor.ms} ms → ratio ${r.floor.ratio}; the entry's own share above it ${r.bundledMs - r.floor.ms} ms (the function registrations and src/runtime/host.ts)`,
    );
    console.log(
      `  CPU time of the same imports (not counting waits for a core on a busy machine): bundled ${r.cpu.bundledMs} ms vs unbundled ${r.cpu.unbundledMs} ms → ratio ${r.cpu.ratio}; floor ${r.cpu.floorMs} ms → ratio ${r.cpu.floorRatio}`,
    );
    console.log(
      `  bare node process (also paying Node's network built-ins and @azure/functions' test-mode fallback): bundled ${r.bare.bundledMs} ms vs unbundled ${r.bare.unbundledMs} ms → ratio ${r.bare.ratio}; floor ${r.bare.floorMs} ms`,
    );
    console.log(
      `  first use (entry + every handler module and the SDKs, loaded on the first invocation): bundled ${r.firstUse.bundledMs} ms vs unbundled ${r.firstUse.unbundledMs} ms → ratio ${r.firstUse.ratio}`,
    );
    return { bundledMs: r.bundledMs, unbundledMs: r.unbundledMs, ratio: r.ratio, bundleKb: r.bundleKb };
  },
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const json = argv.includes("--json");
  const names = argv.filter((a) => !a.startsWith("--"));
  for (const n of names) {
    if (!benches[n]) {
      console.error(`unknown benchmark "${n}"; known: ${Object.keys(benches).join(", ")}`);
      return 2;
    }
  }
  const selected = names.length ? names : Object.keys(benches);
  const results: Record<string, unknown> = {};
  for (const n of selected.filter((name) => standalone.has(name))) results[n] = await benches[n]!("");
  const withAzurite = selected.filter((name) => !standalone.has(name));
  if (withAzurite.length > 0) {
    const location = mkdtempSync(path.join(os.tmpdir(), "rotator-bench-"));
    const azurite = await startAzurite({ location });
    try {
      for (const n of withAzurite) results[n] = await benches[n]!(azurite.connectionString);
    } finally {
      await azurite.stop();
      rmSync(location, { recursive: true, force: true });
    }
  }
  if (json) console.log(JSON.stringify(selected.length === 1 ? results[selected[0]!] : results));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
