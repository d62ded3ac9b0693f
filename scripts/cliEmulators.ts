import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startDemoWorld, type DemoWorld } from "../tests/harness/demoWorld.js";
import { freshContainer } from "../tests/harness/world.js";
import type { StartEmulators } from "../src/cli/environment.js";

/**
 * The CLI's `--emulators` (dev-only: the CLI's dev entry scripts/cli.ts hands it to the CLI; src/
 * never imports it, so the deployed app carries no emulator or harness code). Azurite plus the Entra/Graph, Key Vault and gateway emulators and the alert
 * receivers, seeded exactly as `npm run demo` seeds them (one app whose hand-made secret expires in
 * 10 days, 25 MCP servers using it, 3 using another app, five alert channels). Lives only as long as
 * the command: every invocation starts from the same world.
 */
export const startDemoEmulators: StartEmulators = async (options) => {
  const location = mkdtempSync(path.join(os.tmpdir(), "rotator-cli-"));
  const removeLocation = () => rmSync(location, { recursive: true, force: true });
  let demo: DemoWorld;
  try {
    demo = await startDemoWorld({ azurite: { location }, world: { replicationDelayMs: 400 } });
  } catch (e) {
    removeLocation();
    throw e;
  }
  const { azurite, world, seeded } = demo;
  const close = async () => {
    await world.stop();
    await azurite.stop();
    removeLocation();
  };
  try {
    const container = await freshContainer(azurite.connectionString, "cli");
    const runtime = world.runtime([seeded.set], container, options.extra);
    options.say(
      `local emulators: Entra ${world.entra.server.url}, Key Vault ${world.keyVault.url}, gateway ${world.gateway.url} (25 MCP servers), Azurite ${azurite.blobUrl}`,
    );
    return { runtime, close };
  } catch (e) {
    await close();
    throw e;
  }
};
