import type { TokenCredential } from "@azure/identity";
import { SecretClient, type RestError, type SecretClientOptions } from "@azure/keyvault-secrets";
import type { OffsetClock } from "../common/clock.js";
import { startEntraFixture, type EntraFixture } from "../entra/index.js";
import { KeyVaultEmulator, type KeyVaultEmulatorOptions } from "./index.js";
import { httpsFetch, rawJsonCall, type RawResponse } from "../common/httpsFetch.js";

/**
 * A started Key Vault emulator whose challenge points at a started Entra emulator, so the real
 * `SecretClient` + `ClientSecretCredential` run the whole flow (401 challenge → token for
 * https://vault.azure.net/.default → retry with the bearer). Shared by tests, benchmarks and the demo.
 */
export interface KeyVaultFixture {
  vault: KeyVaultEmulator;
  entra: EntraFixture;
  clock: OffsetClock;
  vaultUrl: string;
  /** PEM of the CA every emulator's certificate chains to. */
  caCertPem: string;
  /** A real ClientSecretCredential (the operator app of the Entra fixture). */
  credential(): TokenCredential;
  /** A real SecretClient set up as the rotator sets it up for a loopback vault; no retries unless asked. */
  client(options?: Pick<SecretClientOptions, "retryOptions">): SecretClient;
  /** A plain HTTPS call to the vault (no SDK), for what the SDK hides: raw status, headers and body. */
  raw(method: string, pathAndQuery: string, options?: { token?: string; body?: unknown }): Promise<RawResponse>;
  close(): Promise<void>;
}

export interface KeyVaultFixtureOptions extends Omit<KeyVaultEmulatorOptions, "authorityUrl" | "validateToken" | "clock"> {
  /** Reuse a started Entra fixture (it is then not closed by this fixture). */
  entra?: EntraFixture;
}

export async function startKeyVaultFixture(options: KeyVaultFixtureOptions = {}): Promise<KeyVaultFixture> {
  const ownsEntra = !options.entra;
  const entra = options.entra ?? (await startEntraFixture());
  const vault = new KeyVaultEmulator({
    ...options,
    authorityUrl: `${entra.url}/${entra.tenantId}`,
    validateToken: (token) => entra.emulator.validateAccessToken(token),
    clock: entra.clock,
  });
  const vaultUrl = await vault.start();
  const send = httpsFetch(vault.caCertPem);
  return {
    vault,
    entra,
    clock: entra.clock,
    vaultUrl,
    caCertPem: vault.caCertPem,
    credential: () => entra.operatorCredential(),
    client: (clientOptions = {}) =>
      new SecretClient(vaultUrl, entra.operatorCredential(), {
        disableChallengeResourceVerification: true,
        tlsOptions: { ca: vault.caCertPem },
        retryOptions: clientOptions.retryOptions ?? { maxRetries: 0 },
      }),
    raw: (method, pathAndQuery, rawOptions = {}) => rawJsonCall(send, `${vaultUrl}${pathAndQuery}`, method, rawOptions),
    close: async () => {
      await vault.close();
      if (ownsEntra) await entra.close();
    },
  };
}

/** Resolves with the RestError a call that must fail raised; fails the test if it succeeded. */
export function failure(p: Promise<unknown>): Promise<RestError> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: unknown) => err as RestError,
  );
}
