/**
 * `npm run chaos [-- --schedules N --seed S --json --replay <file|json> --no-shrink --verbose]`
 *
 * The lifecycle simulator: N seeded schedules of timer ticks, HTTP requests, queue redeliveries,
 * estate and Entra changes, faults on every dependency, crashes, lease loss and clock jumps,
 * against the real runtime and the local emulators (one World, one Azurite), judged after every
 * event by an oracle that reads only ground truth (tests/harness/chaos/oracle.ts). Each violation
 * comes with its seed and a shrunk event list that `--replay` runs again. Exit code 1 on any.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import { startAzurite } from "../emulators/azurite.js";
import { World } from "../tests/harness/world.js";
import { addCounts, emptySummary, runCampaign, shrinkViolation, type CampaignSummary } from "../tests/harness/chaos/campaign.js";
import { runSchedule, startStorageProxy, stopChaosEnv, type ChaosEnv } from "../tests/harness/chaos/simulator.js";
import type { GeneratedSchedule } from "../tests/harness/chaos/events.js";

interface Args {
  schedules: number;
  seed: number;
  json: boolean;
  replay?: string;
  shrink: boolean;
  verbose: boolean;
  dump: boolean;
  shrinkReplay: boolean;
  workers: number;
  /** Internal: this process is worker `index` of `of`. */
  share?: { index: number; of: number };
}

const USAGE =
  "usage: npm run chaos -- [--schedules N] [--seed S] [--workers W] [--json] [--replay <file|json>] [--no-shrink] [--verbose] [--dump] [--shrink] (with --replay: --dump prints every run journal, --shrink shrinks what it finds; --workers runs W processes, each with its own emulators and Azurite)";

function parseArgs(argv: string[]): Args {
  const args: Args = { schedules: 20, seed: 1, json: false, shrink: true, verbose: false, dump: false, shrinkReplay: false, workers: 1 };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) {
      console.error(`${flag} takes a non-negative integer; got "${v ?? ""}"\n${USAGE}`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === "--schedules") args.schedules = num(flag, value());
    else if (flag === "--seed") args.seed = num(flag, value());
    else if (flag === "--json") args.json = true;
    else if (flag === "--replay") args.replay = value();
    else if (flag === "--no-shrink") args.shrink = false;
    else if (flag === "--verbose") args.verbose = true;
    else if (flag === "--dump") args.dump = true;
    else if (flag === "--shrink") args.shrinkReplay = true;
    else if (flag === "--workers") args.workers = Math.max(1, num(flag, value()));
    else if (flag === "--worker") {
      const m = /^(\d+)\/(\d+)$/.exec(value() ?? "");
      if (!m) {
        console.error(`--worker takes i/N\n${USAGE}`);
        process.exit(2);
      }
      args.share = { index: Number(m[1]), of: Number(m[2]) };
    } else if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}\n${USAGE}`);
      process.exit(2);
    }
  }
  return args;
}

function loadReplay(arg: string): GeneratedSchedule {
  const text = arg.trim().startsWith("{") ? arg : readFileSync(arg, "utf8");
  const parsed = JSON.parse(text) as Partial<GeneratedSchedule> & { replay?: GeneratedSchedule };
  const s = (parsed.replay ?? parsed) as GeneratedSchedule;
  if (typeof s.seed !== "number" || !Array.isArray(s.events) || typeof s.estate !== "object") {
    throw new Error("--replay needs {seed, estate, events} (a violation's `replay` field as printed)");
  }
  return s;
}

/** Every run journal and the set's state, as Storage holds them (the raw blobs). */
async function dumpRuns(container: ContainerClient): Promise<void> {
  for await (const b of container.listBlobsFlat()) {
    if (!/^(runs|state|requests)\//.test(b.name)) continue;
    const text = (await container.getBlobClient(b.name).downloadToBuffer()).toString("utf8");
    process.stderr.write(`── ${b.name}\n${text}\n`);
  }
}

/**
 * The campaign split over `workers` processes (schedule i goes to worker i mod W), each with its own
 * emulators and Azurite: the schedules mostly wait on timeouts, so processes overlap well on 2 cores.
 * Each worker prints its summary as its last stdout line; the totals are theirs added up.
 */
async function runWorkers(args: Args, log: (line: string) => void): Promise<CampaignSummary> {
  const base = process.argv.slice(2).filter((a, i, all) => a !== "--workers" && all[i - 1] !== "--workers" && !a.startsWith("--workers=") && a !== "--json");
  const results = await Promise.all(
    Array.from({ length: args.workers }, async (_, index) => {
      // Staggered: W Azurites and emulator sets cold-starting at once on 2 cores starved each other.
      await new Promise((r) => setTimeout(r, index * 3000));
      return new Promise<CampaignSummary & { ms: number }>((resolve, reject) => {
        const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...base, "--json", "--worker", `${index}/${args.workers}`], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
        let partial = "";
        child.stderr.on("data", (d: Buffer) => {
          const lines = (partial + d.toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          for (const l of lines) if (l.trim() && !/^(schedules \d|\d+\.\d s in all|chaos: )/.test(l)) log(`[w${index}] ${l}`);
        });
        child.on("error", reject);

        const errTail: string[] = [];
        child.stderr.on("data", (d: Buffer) => errTail.push(...d.toString("utf8").split("\n").filter(Boolean).slice(-20)));
        child.on("close", (code) => {
          const last = out.trim().split("\n").at(-1) ?? "";
          try {
            resolve(JSON.parse(last) as CampaignSummary & { ms: number });
          } catch {
            // A simulator that crashed is a failed campaign, but the other workers' figures still count.
            const detail = `worker ${index} exited ${code ?? "?"} without a summary: ${errTail.slice(-8).join(" | ")}`;
            resolve({
              ...emptySummary(),
              ms: 0,
              violations: [
                {
                  invariant: "SIMULATOR",
                  detail,
                  seed: -1,
                  afterEvent: -1,
                  replay: { seed: -1, estate: { secretExpiresInDays: 0, targets: 0, otherTargets: 0 }, events: [] },
                  shrunkFrom: 0,
                  shrinkTries: 0,
                },
              ],
            });
          }
        });
      });
    }),
  );
  const sum = (k: "schedules" | "events" | "faults" | "crashes" | "rotationsCompleted"): number => results.reduce((n, r) => n + r[k], 0);
  const schedules = sum("schedules");
  const kinds: CampaignSummary["kinds"] = {};
  const faultsOn: CampaignSummary["faultsOn"] = {};
  for (const r of results) {
    addCounts(kinds, r.kinds ?? {});
    addCounts(faultsOn, r.faultsOn ?? {});
  }
  return {
    schedules,
    kinds,
    events: sum("events"),
    faults: sum("faults"),
    faultsOn,
    crashes: sum("crashes"),
    rotationsCompleted: sum("rotationsCompleted"),
    violations: results.flatMap((r) => r.violations),
    msPerSchedule: schedules ? Math.round(results.reduce((n, r) => n + (r.msPerSchedule ?? 0) * r.schedules, 0) / schedules) : 0,
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.workers > 1 && !args.replay && !args.share) {
    const log = (line: string): void => {
      if (args.json) process.stderr.write(`${line}\n`);
      else console.log(line);
    };
    log(`chaos: ${args.schedules} schedule(s) from seed ${args.seed} on ${args.workers} workers`);
    const started = Date.now();
    const summary = await runWorkers(args, log);
    report(summary, (Date.now() - started) / 1000, args, log);
    return summary.violations.length === 0 ? 0 : 1;
  }
  const location = mkdtempSync(path.join(os.tmpdir(), "rotator-chaos-"));
  const azurite = await startAzurite({ location });
  // Interrupted (Ctrl-C, kill): stop Azurite too, never leave it running.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      void azurite.stop().finally(() => {
        rmSync(location, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }
  const world = await World.start({ receivers: true });
  const storageProxy = await startStorageProxy(azurite.connectionString);
  const env: ChaosEnv = { world, storageConnectionString: azurite.connectionString, storageProxy };
  const log = (line: string): void => {
    if (args.json) process.stderr.write(`${line}\n`);
    else console.log(line);
  };
  const started = Date.now();
  let summary: CampaignSummary;
  try {
    if (args.replay) {
      const schedule = loadReplay(args.replay);
      log(`replaying seed ${schedule.seed}: ${schedule.events.length} event(s)`);
      const out = await runSchedule(env, schedule, args.dump ? { onFinish: dumpRuns } : {});
      summary = {
        schedules: 1,
        kinds: Object.fromEntries(out.kinds.map((k) => [k, 1])),
        events: out.events,
        faults: out.faults,
        faultsOn: out.faultsOn,
        crashes: out.crashes,
        rotationsCompleted: out.rotationsCompleted,
        violations: args.shrinkReplay ? [] : out.violations.map((v) => ({ ...v, replay: schedule, shrunkFrom: schedule.events.length, shrinkTries: 0 })),
        msPerSchedule: out.ms,
      };
      // One schedule at a time shares the world: shrink each invariant's first violation in turn.
      if (args.shrinkReplay)
        for (const v of new Map(out.violations.map((x) => [x.invariant, x])).values()) summary.violations.push(await shrinkViolation(env, schedule, v));
    } else {
      log(`chaos: ${args.schedules} schedule(s) from seed ${args.seed}`);
      summary = await runCampaign(env, {
        schedules: args.schedules,
        seed: args.seed,
        shrink: args.shrink,
        ...(args.share ? { share: args.share } : {}),
        onSchedule: (o, i) => {
          if (args.verbose || args.share || o.violations.length || (i + 1) % 10 === 0) {
            log(
              `  schedule ${i + 1}/${args.schedules} seed ${o.seed}: ${o.events} events, ${o.faults} faults, ${o.crashes} crashes, ${o.rotationsCompleted} rotations, ${o.violations.length} violation(s), ${o.ms} ms`,
            );
          }
          for (const v of o.violations) log(`    ${v.invariant} after event ${v.afterEvent}: ${v.detail}`);
        },
      });
    }
  } finally {
    await stopChaosEnv(env);
    await world.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
  report(summary, (Date.now() - started) / 1000, args, log);
  return summary.violations.length === 0 ? 0 : 1;
}

function report(summary: CampaignSummary, secs: number, args: Args, log: (line: string) => void): void {
  log("");
  log(
    `schedules ${summary.schedules} · events ${summary.events} · faults ${summary.faults} · crashes ${summary.crashes} · rotations completed ${summary.rotationsCompleted} · violations ${summary.violations.length}`,
  );
  log(
    `${secs.toFixed(1)} s in all, ${(summary.msPerSchedule / 1000).toFixed(2)} s per schedule${args.workers > 1 ? ` in each of ${args.workers} workers` : ""}`,
  );
  const figures = (counts: Record<string, number>): string =>
    Object.entries(counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(" · ") || "none";
  log(`schedules drawing each kind besides the gateway: ${figures(summary.kinds)}`);
  log(`faults by dependency: ${figures(summary.faultsOn)}`);
  for (const v of summary.violations) {
    log(`\n${v.invariant} (seed ${v.seed}): ${v.detail}`);
    log(`  shrunk from ${v.shrunkFrom} to ${v.replay.events.length} event(s) in ${v.shrinkTries} replay(s); replay with:`);
    log(`  npm run chaos -- --replay '${JSON.stringify(v.replay)}'`);
  }
  if (args.json) {
    const { schedules, kinds, events, faults, faultsOn, crashes, rotationsCompleted, violations, msPerSchedule } = summary;
    // msPerSchedule lets a parent add workers' figures up; the documented fields come first.
    console.log(
      JSON.stringify({
        schedules,
        kinds,
        events,
        faults,
        faultsOn,
        crashes,
        rotationsCompleted,
        violations,
        wallSeconds: Number(secs.toFixed(1)),
        ...(args.share ? { msPerSchedule } : {}),
      }),
    );
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(2);
  },
);
