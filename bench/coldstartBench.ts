import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { bundle, ROOT, type BundleResult } from "../scripts/build.js";
import { workerPreambleSource } from "./hostPreamble.js";

const run = promisify(execFile);

export interface ColdStartResult {
  runs: number;
  /** Median import time of dist/main.js (esbuild bundle), one fresh process per sample. */
  bundledMs: number;
  /** Median import time of dist/functions/index.js (tsc output, packages from node_modules). */
  unbundledMs: number;
  /** bundled ÷ unbundled, same run, interleaved samples (goal ≤ 0.3). */
  ratio: number;
  /** dist/main.js, the chunks it imports statically and dist/azure-functions.cjs, in KiB (source maps excluded). */
  bundleKb: number;
  /** Entry plus every module the handlers load on first use (the whole app), bundled and not. */
  firstUse: { bundledMs: number; unbundledMs: number; ratio: number };
  /**
   * @azure/functions alone, bundled the same way (bench/coldstartFloor.ts), timed in the same
   * interleaved loop: what any v4 entry pays before its own code, and the ratio that leaves.
   */
  floor: { ms: number; ratio: number; kb: number };
  /**
   * The same imports counted in CPU time (user + system of the importing process) instead of
   * wall-clock time: what the import costs, without the time the process waited for a core on a
   * shared machine. Medians of the same samples.
   */
  cpu: { bundledMs: number; unbundledMs: number; floorMs: number; ratio: number; floorRatio: number };
  /**
   * The same imports in a bare `node` process, without the worker's state (bench/hostPreamble.ts):
   * both builds also pay for loading Node's network built-ins and for @azure/functions' test-mode
   * fallback, which the host never runs.
   */
  bare: { bundledMs: number; unbundledMs: number; floorMs: number; ratio: number };
  samples: {
    bundledMs: number[];
    unbundledMs: number[];
    floorMs: number[];
    firstUseBundledMs: number[];
    firstUseUnbundledMs: number[];
    cpu: { bundledMs: number[]; unbundledMs: number[]; floorMs: number[] };
    bare: { bundledMs: number[]; unbundledMs: number[]; floorMs: number[] };
  };
}

/**
 * What the Functions host pays to load our code on a cold start: the time to import the entry
 * point in a fresh Node.js process, measured inside that process so that Node's own boot (the
 * same for both) does not dilute the comparison. Before the timed import the process is put in the
 * state the worker imports an app in (bench/hostPreamble.ts); the bare-process figures are measured
 * too. The builds alternate, so load on the shared machine hits both alike; medians are reported.
 */
export async function benchColdStart(options: { runs?: number } = {}): Promise<ColdStartResult> {
  const runs = Math.max(10, options.runs ?? 15);
  const built = await bundle();
  const floorDir = mkdtempSync(path.join(os.tmpdir(), "rotator-coldstart-floor-"));
  try {
    const floor = await bundle({ outdir: floorDir, entryPoint: path.join(ROOT, "bench", "coldstartFloor.ts") });
    return await measure(built, floor, runs);
  } finally {
    rmSync(floorDir, { recursive: true, force: true });
  }
}

async function measure(built: BundleResult, floorBuild: BundleResult, runs: number): Promise<ColdStartResult> {
  await run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(ROOT, "tsconfig.build.json")], { cwd: ROOT });
  const bundled = [built.outfile];
  const unbundled = [path.join(ROOT, "dist", "functions", "index.js")];
  // The same modules in both builds: esbuild's chunk, and tsc's output of the chunk's source.
  const lazyBundled = built.lazy.map((l) => l.chunk);
  const lazyUnbundled = built.lazy.map((l) => path.join(ROOT, "dist", l.source.replace(/\.ts$/, ".js")));
  const samples = {
    bundledMs: [] as number[],
    unbundledMs: [] as number[],
    floorMs: [] as number[],
    firstUseBundledMs: [] as number[],
    firstUseUnbundledMs: [] as number[],
    cpu: { bundledMs: [] as number[], unbundledMs: [] as number[], floorMs: [] as number[] },
    bare: { bundledMs: [] as number[], unbundledMs: [] as number[], floorMs: [] as number[] },
  };
  const sample = async (files: string[], wall: number[], cpu: number[], bare: number[]): Promise<void> => {
    const t = await importTime(files, { asWorker: true });
    wall.push(t.wallMs);
    cpu.push(t.cpuMs);
    bare.push((await importTime(files, { asWorker: false })).wallMs);
  };
  for (let i = 0; i < runs; i++) {
    await sample(bundled, samples.bundledMs, samples.cpu.bundledMs, samples.bare.bundledMs);
    await sample(unbundled, samples.unbundledMs, samples.cpu.unbundledMs, samples.bare.unbundledMs);
    await sample([floorBuild.outfile], samples.floorMs, samples.cpu.floorMs, samples.bare.floorMs);
  }
  for (let i = 0; i < runs; i++) {
    samples.firstUseBundledMs.push((await importTime([...bundled, ...lazyBundled], { asWorker: true })).wallMs);
    samples.firstUseUnbundledMs.push((await importTime([...unbundled, ...lazyUnbundled], { asWorker: true })).wallMs);
  }
  const bundledMs = median(samples.bundledMs);
  const unbundledMs = median(samples.unbundledMs);
  const firstUse = { bundledMs: median(samples.firstUseBundledMs), unbundledMs: median(samples.firstUseUnbundledMs), ratio: 0 };
  firstUse.ratio = round2(firstUse.bundledMs / firstUse.unbundledMs);
  const floorMs = median(samples.floorMs);
  const floor = { ms: floorMs, ratio: round2(floorMs / unbundledMs), kb: Math.round(floorBuild.bytes / 1024) };
  const c = { bundledMs: median(samples.cpu.bundledMs), unbundledMs: median(samples.cpu.unbundledMs), floorMs: median(samples.cpu.floorMs) };
  const cpu = { ...c, ratio: round2(c.bundledMs / c.unbundledMs), floorRatio: round2(c.floorMs / c.unbundledMs) };
  const b = { bundledMs: median(samples.bare.bundledMs), unbundledMs: median(samples.bare.unbundledMs), floorMs: median(samples.bare.floorMs) };
  const bare = { ...b, ratio: round2(b.bundledMs / b.unbundledMs) };
  return {
    runs,
    bundledMs,
    unbundledMs,
    ratio: round2(bundledMs / unbundledMs),
    bundleKb: Math.round(built.bytes / 1024),
    firstUse,
    floor,
    cpu,
    bare,
    samples,
  };
}

/**
 * One fresh process: import the files in order, print the elapsed wall-clock and CPU milliseconds.
 * `asWorker` first replays, untimed, the state the Functions worker is in when it imports an app.
 */
function importTime(files: string[], options: { asWorker: boolean }): Promise<{ wallMs: number; cpuMs: number }> {
  const imports = files.map((f) => `await import(${JSON.stringify(pathToFileURL(f).href)});`).join(" ");
  const script =
    (options.asWorker ? `${workerPreambleSource()}\n` : "") +
    `const c = process.cpuUsage(); const t = performance.now(); ${imports} const u = process.cpuUsage(c); ` +
    `process.stdout.write("IMPORT_MS=" + (performance.now() - t) + " CPU_MS=" + (u.user + u.system) / 1000 + "\\n");`;
  const file = files[0]!;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const m = /IMPORT_MS=([\d.]+) CPU_MS=([\d.]+)/.exec(out);
      if (code !== 0 || !m) reject(new Error(`importing ${path.relative(ROOT, file)} failed (exit ${code}): ${err.slice(-2000)}`));
      else resolve({ wallMs: Number(m[1]), cpuMs: Number(m[2]) });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return Math.round(s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
