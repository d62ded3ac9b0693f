import { runCli, type CliEntry } from "./program.js";

/** How long a finished command may linger for background work (its output is already written). */
const LINGER_MS = 1_000;

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
      // The answer is given: a request still hanging in the background (a status read abandoned at
      // its deadline, issue 25) must not keep the process alive until the SDK gives up. The timer
      // does not itself hold the process; it only ends one that something else holds.
      setTimeout(() => process.exit(code), LINGER_MS).unref();
    },
    (e: unknown) => {
      process.stderr.write(`mcp-sso-rotator failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
