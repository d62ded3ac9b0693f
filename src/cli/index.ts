/**
 * Process entry of the operator CLI as deployed. Everything testable lives in program.ts; this only
 * binds it to the real process. `--emulators` is not available here: in a clone, bin/mcp-sso-rotator.js
 * runs the dev entry scripts/cli.ts instead, which adds it.
 */
import { runProcessCli } from "./main.js";

runProcessCli();
