import { afterAll, beforeAll, beforeEach } from "vitest";
import type { RawResponse } from "../common/httpsFetch.js";
import { startKeyVaultFixture, type KeyVaultFixture } from "../keyvault/fixture.js";
import { startArmFixture, type ArmFixture } from "./fixture.js";

/** The ARM emulator of one fidelity test file, and an operator token for the Resource Manager audience. */
export interface ArmTestWorld {
  fx: ArmFixture;
  /** The Key Vault emulator the consumers read; only when asked for (`keyVault: true`). */
  kv: KeyVaultFixture;
  token: string;
  /** A raw HTTPS call with the token (status, headers and body as sent). */
  call(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<RawResponse>;
}

/**
 * Starts the ARM emulator (with a Key Vault emulator when `keyVault`) before the file's tests, resets
 * both and runs `seed` before each test, and closes them after.
 */
export function useArmTestWorld(options: { keyVault?: boolean; seed?: (w: ArmTestWorld) => void } = {}): ArmTestWorld {
  const w = {
    call: (method, path, o = {}) => w.fx.raw(method, path, { token: w.token, ...o }),
  } as ArmTestWorld;
  beforeAll(async () => {
    if (options.keyVault) w.kv = await startKeyVaultFixture();
    w.fx = await startArmFixture(options.keyVault ? { entra: w.kv.entra, vault: w.kv.vault } : {});
    w.token = (await w.fx.credential().getToken("https://management.azure.com/.default"))!.token;
  });
  beforeEach(() => {
    w.fx.arm.reset();
    if (options.keyVault) w.kv.vault.reset();
    options.seed?.(w);
  });
  afterAll(async () => {
    await w.fx?.close();
    if (options.keyVault) await w.kv?.close();
  });
  return w;
}
