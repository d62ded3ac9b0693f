/**
 * Process entry of the operator CLI (bin/mcp-sso-rotator.js runs this file through tsx). Everything
 * testable lives in program.ts; this only binds it to the real process.
 */
import { runCli } from "./program.js";

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`mcp-sso-rotator failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
