import type { TokenCredential } from "@azure/identity";
import { startEntraFixture, type EntraFixture } from "../entra/index.js";
import type { KeyVaultEmulator } from "../keyvault/index.js";
import { httpsFetch, rawJsonCall, type RawResponse } from "../common/httpsFetch.js";
import type { KeyVaultReader } from "./apim/index.js";
import { ArmEmulator, type ArmEmulatorOptions } from "./index.js";

/**
 * A started ARM emulator whose tokens come from a started Entra emulator (the Resource Manager
 * audience registered there), and whose API Management services read a Key Vault emulator as
 * their managed identity would. Shared by tests and the demo.
 */
export interface ArmFixture {
  arm: ArmEmulator;
  entra: EntraFixture;
  url: string;
  caCertPem: string;
  /** A real ClientSecretCredential (the operator app of the Entra fixture). */
  credential(): TokenCredential;
  /** A plain HTTPS call (no client of ours), for raw status, headers and body. */
  raw(method: string, pathAndQuery: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<RawResponse>;
  close(): Promise<void>;
}

const ARM_RESOURCE = "https://management.azure.com";

export interface ArmFixtureOptions extends Omit<ArmEmulatorOptions, "validateToken" | "tenantId" | "keyVault" | "clock"> {
  entra?: EntraFixture;
  /** The vault the API Management services read (by secret identifier). */
  vault?: KeyVaultEmulator;
}

/** Reads a secret identifier (`https://<vault>/secrets/<name>[/<version>]`) from the Key Vault emulator's ground truth. */
export function keyVaultReader(vault: KeyVaultEmulator): KeyVaultReader {
  return (identifier) => {
    let u: URL;
    try {
      u = new URL(identifier);
    } catch {
      return { error: { code: "BadRequest", message: `'${identifier}' is not a Key Vault secret identifier.` } };
    }
    if (u.origin !== new URL(vault.url).origin) return { error: { code: "VaultNotFound", message: `No vault answers at ${u.origin}.` } };
    const [, kind, name, version] = u.pathname.split("/");
    if (kind !== "secrets" || !name) return { error: { code: "BadRequest", message: `'${identifier}' is not a Key Vault secret identifier.` } };
    const versions = vault.versions(name).filter((v) => !v.deleted);
    const chosen = version ? versions.find((v) => v.version === version) : [...versions].reverse().find((v) => v.enabled);
    if (!chosen) return { error: { code: "SecretNotFound", message: `A secret with (name/id) ${name} was not found in this key vault.` } };
    if (!chosen.enabled) return { error: { code: "Forbidden", message: "Operation get is not allowed on a disabled secret." } };
    return { value: chosen.value, version: chosen.version };
  };
}

export async function startArmFixture(options: ArmFixtureOptions = {}): Promise<ArmFixture> {
  const ownsEntra = !options.entra;
  const entra = options.entra ?? (await startEntraFixture());
  entra.emulator.registerResource(ARM_RESOURCE);
  const { vault, entra: _e, ...rest } = options;
  const arm = new ArmEmulator({
    ...rest,
    clock: entra.clock,
    tenantId: entra.tenantId,
    validateToken: (token) => entra.emulator.validateAccessToken(token),
    acceptsSecret: (clientId, secret) => entra.emulator.isSecretAccepted(entra.tenantId, clientId, secret),
    ...(vault ? { keyVault: keyVaultReader(vault) } : {}),
  });
  const url = await arm.start();
  const send = httpsFetch(arm.caCertPem);
  return {
    arm,
    entra,
    url,
    caCertPem: arm.caCertPem,
    credential: () => entra.operatorCredential(),
    raw: (method, pathAndQuery, rawOptions = {}) => rawJsonCall(send, `${url}${pathAndQuery}`, method, rawOptions),
    close: async () => {
      await arm.close();
      if (ownsEntra) await entra.close();
    },
  };
}
