import { spawn } from "node:child_process";

/**
 * Runs a TypeScript script the way `npm run` does (through tsx, in this checkout) and collects its
 * output. `stopWhen`: send one Ctrl-C once stdout matches, for scripts that run until interrupted.
 */
export function runTsx(args: string[], options: { stopWhen?: RegExp } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", ...args], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      // One Ctrl-C: a second one (sent when the "stopping…" line arrives) makes tsx kill the child (exit 130).
      if (!interrupted && options.stopWhen?.test(stdout)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last line of stdout, parsed: the `--json` report the scripts print last. */
export const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
