import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAzurite } from "../../emulators/azurite.js";
import { World, freshContainer } from "../../tests/harness/world.js";
import type { BuiltRuntime, RuntimeOptions } from "../runtime/createRuntime.js";

/**
 * `--emulators`: Azurite plus the Entra/Graph, Key Vault and gateway emulators and the alert
 * receivers, seeded exactly as `npm run demo` seeds them (one app whose hand-made secret expires in
 * 10 days, 25 MCP servers using it, 3 using another app, five alert channels). Lives only as long as
 * the command: every invocation starts from the same world.
 */
export interface DemoEmulators {
  runtime: BuiltRuntime;
  close(): Promise<void>;
}

export async function startDemoEmulators(options: { extra?: Partial<RuntimeOptions>; say(line: string): void }): Promise<DemoEmulators> {
  const location = mkdtempSync(path.join(os.tmpdir(), "rotator-cli-"));
  const azurite = await startAzurite({ location });
  let world: World | undefined;
  try {
    world = await World.start({ replicationDelayMs: 400, receivers: true });
    const seeded = world.seedSet({
      name: "cequence-sso",
      secretExpiresInDays: 10,
      targets: 25,
      otherTargets: 3,
      alerts: { teams: "warning", slack: "warning", pagerduty: "critical", opsgenie: "error", webhook: "info" },
    });
    const container = await freshContainer(azurite.connectionString, "cli");
    const runtime = world.runtime([seeded.set], container, options.extra);
    options.say(`local emulators: Entra ${world.entra.server.url}, Key Vault ${world.keyVault.url}, gateway ${world.gateway.url} (25 MCP servers), Azurite ${azurite.blobUrl}`);
    const w = world;
    return {
      runtime,
      close: async () => {
        await w.stop();
        await azurite.stop();
        rmSync(location, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await world?.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
    throw e;
  }
}
