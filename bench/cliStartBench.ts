import { spawnSync } from "node:child_process";
import path from "node:path";
import { bundleCli } from "../scripts/buildCli.js";

/**
 * How fast the operator CLI answers `--help` (issue 25: 6.4 s through tsx; goal ≤ 1 s). Builds the
 * CLI bundle, then times fresh processes, interleaved so load on the machine hits each alike:
 * `bin/mcp-sso-rotator.js --help` from the bundle, the same through tsx (`--emulators` always takes
 * the TypeScript dev entry), and a bare `node -e 0` as the floor every process pays.
 */
const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "bin", "mcp-sso-rotator.js");

function timeMs(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]!);
};

export async function benchCliStart(runs = 7): Promise<{ runs: number; bundleKb: number; builtMs: number; tsxMs: number; floorMs: number; ratio: number }> {
  const built = await bundleCli();
  const samples = { built: [] as number[], tsx: [] as number[], floor: [] as number[] };
  timeMs([BIN, "--help"]); // the first read of the files from disk is not the operator's typical start
  for (let i = 0; i < runs; i++) {
    samples.built.push(timeMs([BIN, "--help"]));
    samples.tsx.push(timeMs([BIN, "--help", "--emulators"]));
    samples.floor.push(timeMs(["-e", "0"]));
  }
  const builtMs = median(samples.built);
  const tsxMs = median(samples.tsx);
  return { runs, bundleKb: Math.round(built.bytes / 1024), builtMs, tsxMs, floorMs: median(samples.floor), ratio: Math.round((builtMs / tsxMs) * 100) / 100 };
}
