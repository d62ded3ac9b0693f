import { runCli, type CliEntry } from "./program.js";

/**
 * Binds the CLI to the real process: argv, the standard streams, the exit code. Shared by the
 * production entry (src/cli/index.ts) and the dev entry (scripts/cli.ts, which adds `--emulators`).
 */
export function runProcessCli(entry: CliEntry = {}): void {
  // `mcp-sso-rotator status | head` closes the pipe early: that is the reader's choice, not a crash.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
      throw e;
    });
  }

  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }, entry).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`mcp-sso-rotator failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
