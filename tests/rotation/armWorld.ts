import { afterAll, beforeAll, beforeEach } from "vitest";
import { ArmEmulator } from "../../emulators/arm/index.js";
import { keyVaultReader } from "../../emulators/arm/fixture.js";
import type { World } from "../harness/world.js";

/**
 * An ARM emulator for this file's world, for target groups reached through Resource Manager: its
 * tokens come from the world's Entra (the Resource Manager audience registered there), its
 * resources read the world's Key Vault, and it runs on the world's clock. Started before the first
 * test, reset before each (register seeding in a later beforeEach), closed after the last.
 */
export function useArmEmulator(world: World): ArmEmulator {
  const arm = new ArmEmulator({
    clock: world.clock,
    tenantId: world.tenantId,
    validateToken: (t) => world.entra.validateAccessToken(t),
    keyVault: keyVaultReader(world.keyVault),
  });
  beforeAll(async () => {
    world.entra.registerResource("https://management.azure.com");
    await arm.start();
  });
  afterAll(() => arm.close());
  beforeEach(() => arm.reset());
  return arm;
}
