import { afterAll, beforeAll, beforeEach } from "vitest";
import type { ArmEmulator } from "../../emulators/arm/index.js";
import type { World } from "../harness/world.js";

/**
 * The world's ARM emulator (World.armEmulator) for one test file: started before the first test
 * with the Resource Manager audience registered at the world's Entra, reset before each with the
 * API Management `services` seeded (seed other resources in a later beforeEach), closed after the last.
 */
export function useWorldArm(world: World, services: readonly string[] = []): ArmEmulator {
  const arm = world.armEmulator();
  beforeAll(async () => {
    world.entra.registerResource("https://management.azure.com");
    await arm.start();
  });
  afterAll(() => arm.close());
  beforeEach(() => {
    arm.reset();
    for (const s of services) arm.apim.seedService(s);
  });
  return arm;
}
