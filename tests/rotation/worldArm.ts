import { afterAll, beforeAll, beforeEach } from "vitest";
import { ArmEmulator } from "../../emulators/arm/index.js";
import { keyVaultReader } from "../../emulators/arm/fixture.js";
import type { World } from "../harness/world.js";

/**
 * An ARM emulator beside a test file's world, for target groups reached through Resource Manager:
 * tokens from the world's Entra (the Resource Manager audience registered there), resources that
 * read the world's Key Vault as their identity would, connection status from Entra's ground truth,
 * and the world's clock. Started before the first test, reset before each with the API Management
 * `services` seeded (seed other resources in a later beforeEach), closed after the last.
 */
export function useWorldArm(world: World, services: readonly string[] = []): ArmEmulator {
  const arm = new ArmEmulator({
    clock: world.clock,
    tenantId: world.tenantId,
    validateToken: (t) => world.entra.validateAccessToken(t),
    keyVault: keyVaultReader(world.keyVault),
    acceptsSecret: (clientId, secret) => world.entra.isSecretAccepted(world.tenantId, clientId, secret),
  });
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
