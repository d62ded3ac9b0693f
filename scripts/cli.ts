/**
 * Dev entry of the operator CLI: the production CLI (src/cli) plus `--emulators`, which starts the
 * local emulators seeded as in `npm run demo` (scripts/cliEmulators.ts, built on tests/harness).
 * bin/mcp-sso-rotator.js runs this file whenever it exists, so `npx mcp-sso-rotator … --emulators`
 * works in a clone; src/ itself never imports the emulators or the harness.
 */
import { runProcessCli } from "../src/cli/main.js";
import { startDemoEmulators } from "./cliEmulators.js";

runProcessCli({ startEmulators: startDemoEmulators });
