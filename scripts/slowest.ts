/**
 * `npm run test:slowest [-- --top N] [-- --write] [-- <report.json>]` — the slowest test files of
 * the last `npm test`, from vitest's JSON report (.vitest-results.json), with the wall time of the
 * run. `--write` stores every file's duration in tests/durations.json, which the test sequencer
 * reads to start the longest files first.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

interface FileResult {
  name: string;
  startTime: number;
  endTime: number;
  assertionResults: unknown[];
}
interface Report {
  startTime: number;
  testResults: FileResult[];
}

/** Every file's duration in whole seconds, keyed as the sequencer keys them (repository-relative, `/`). */
export function durations(report: Report, root: string): Record<string, number> {
  const out: Record<string, number> = {};
  const rows = report.testResults.map((r) => [path.relative(root, r.name).split(path.sep).join("/"), Math.round((r.endTime - r.startTime) / 1000)] as const);
  for (const [file, seconds] of rows.sort((a, b) => a[0].localeCompare(b[0]))) out[file] = seconds;
  return out;
}

export interface FileTime {
  file: string;
  seconds: number;
  tests: number;
}

/** Files by time spent, longest first; a report from an older run without times is an error that says so. */
export function slowestFiles(report: Report, root: string, top = 10): { files: FileTime[]; wallSeconds: number; totalSeconds: number } {
  if (!Array.isArray(report.testResults)) throw new Error("not a vitest JSON report: no testResults (run npm test first; it writes .vitest-results.json)");
  const all = report.testResults.map((r) => ({
    file: path.relative(root, r.name),
    seconds: (r.endTime - r.startTime) / 1000,
    tests: r.assertionResults.length,
  }));
  const end = Math.max(...report.testResults.map((r) => r.endTime));
  return {
    files: all.sort((a, b) => b.seconds - a.seconds).slice(0, top),
    wallSeconds: (end - report.startTime) / 1000,
    totalSeconds: all.reduce((s, f) => s + f.seconds, 0),
  };
}

function main(argv: string[]): void {
  const topAt = argv.indexOf("--top");
  const top = topAt >= 0 ? Number(argv[topAt + 1]) : 10;
  const file = argv.find((a, i) => !a.startsWith("--") && argv[i - 1] !== "--top") ?? ".vitest-results.json";
  const write = argv.includes("--write");
  let report: Report;
  try {
    report = JSON.parse(readFileSync(file, "utf8")) as Report;
  } catch (e) {
    console.error(`cannot read ${file}: ${(e as Error).message.split("\n")[0]}. Run npm test first; it writes .vitest-results.json.`);
    process.exitCode = 1;
    return;
  }
  const { files, wallSeconds, totalSeconds } = slowestFiles(report, process.cwd(), top);
  console.log(`npm test: ${wallSeconds.toFixed(0)} s wall, ${totalSeconds.toFixed(0)} s in test files; the ${files.length} slowest:`);
  for (const f of files) console.log(`${f.seconds.toFixed(1).padStart(7)} s  ${f.file} (${f.tests} tests)`);
  if (write) {
    writeFileSync("tests/durations.json", `${JSON.stringify(durations(report, process.cwd()), null, 2)}\n`);
    console.log("wrote tests/durations.json (the sequencer starts the longest files first)");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
