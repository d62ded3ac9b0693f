import { startAzurite, type AzuriteHandle, type StartAzuriteOptions } from "../../emulators/azurite.js";
import { World, type SeededSet, type SeedSetOptions, type WorldOptions } from "./world.js";

/**
 * The demo's credential set: one app whose hand-made secret expires in 10 days, used by 25 MCP
 * servers; 3 more servers use another app; one alert channel of each kind.
 */
const DEMO_SET: SeedSetOptions = {
  name: "cequence-sso",
  secretExpiresInDays: 10,
  targets: 25,
  otherTargets: 3,
  alerts: { teams: "warning", slack: "warning", pagerduty: "critical", opsgenie: "error", webhook: "info" },
};

export interface DemoWorld {
  azurite: AzuriteHandle;
  world: World;
  seeded: SeededSet;
}

/**
 * Azurite, then the emulated world with its alert receivers, seeded with DEMO_SET: the one start
 * shared by `npm run demo`, `npm run emulators` and the CLI's `--emulators`. If the world fails to
 * start or seed, what did start is stopped before the error is rethrown.
 */
export async function startDemoWorld(options: { azurite: StartAzuriteOptions; world?: Omit<WorldOptions, "receivers"> }): Promise<DemoWorld> {
  const azurite = await startAzurite(options.azurite);
  let world: World | undefined;
  try {
    world = await World.start({ ...options.world, receivers: true });
    return { azurite, world, seeded: world.seedSet(DEMO_SET) };
  } catch (e) {
    await world?.stop();
    await azurite.stop();
    throw e;
  }
}
