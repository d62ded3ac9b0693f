import { afterAll, beforeAll, beforeEach } from "vitest";
import { ArmEmulator } from "../../emulators/arm/index.js";
import { keyVaultReader } from "../../emulators/arm/fixture.js";
import type { World } from "../harness/world.js";

/**
 * An ARM emulator beside a test file's world: tokens from the world's Entra (the Resource Manager
 * audience registered there), API Management services that read the world's Key Vault as their
 * identity would, and connection status from Entra's ground truth. Reset with `services` seeded
 * before each test.
 */
export function useWorldArm(world: World, services: readonly string[]): { readonly arm: ArmEmulator } {
  const handle = {} as { arm: ArmEmulator };
  beforeAll(async () => {
    world.entra.registerResource("https://management.azure.com");
    handle.arm = new ArmEmulator({
      clock: world.clock,
      tenantId: world.tenantId,
      validateToken: (t) => world.entra.validateAccessToken(t),
      keyVault: keyVaultReader(world.keyVault),
      acceptsSecret: (clientId, secret) => world.entra.isSecretAccepted(world.tenantId, clientId, secret),
    });
    await handle.arm.start();
  });
  afterAll(() => handle.arm.close());
  beforeEach(() => {
    handle.arm.reset();
    for (const s of services) handle.arm.apim.seedService(s);
  });
  return handle;
}
