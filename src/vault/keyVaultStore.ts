import { addressGuardPolicy } from "../http/addressGuard.js";
import type { TokenCredential } from "@azure/identity";
import { SecretClient, type KeyVaultSecret, type SecretClientOptions, type SecretProperties } from "@azure/keyvault-secrets";
import { RotatorError } from "../errors.js";
import { isLoopbackUrl } from "../config/outbound.js";
import { silentLogger, type Logger } from "../logging.js";
import { Redactor } from "../redact.js";
import type { SecretStore, SecretVersion, SetSecretOptions, VaultCallOptions } from "./types.js";
import { assertSecretName, assertSecretValue, assertTags, assertVersion } from "./validation.js";
import { mapVaultError, type VaultCallContext } from "./vaultErrors.js";

/**
 * The rotator's Key Vault secret store over the real `SecretClient`. Every failure becomes a
 * RotatorError with an operator hint; no error, log line or returned listing carries a value.
 */
export interface KeyVaultStoreOptions {
  /** e.g. "https://my-vault.vault.azure.net"; https only. */
  vaultUrl: string;
  credential: TokenCredential;
  /** PEM of an extra CA to trust besides the public roots (the local emulator). */
  ca?: string;
  /** The SDK pipeline's retries (429 honours Retry-After; 5xx and network errors back off). */
  retryOptions?: SecretClientOptions["retryOptions"];
  logger?: Logger;
  /** The runtime's redactor: every secret the service knows is kept out of this store's errors. */
  redactor?: Redactor;
  /** Per-request timeout (default 30 s): a vault that never answers must not stall a pass forever (I8). */
  timeoutInMs?: number;
}

/** Key Vault pages versions 25 at a time; 400 pages (10,000 versions) is far beyond any rotated secret's history. */
const MAX_VERSION_PAGES = 400;

export function createKeyVaultStore(options: KeyVaultStoreOptions): SecretStore {
  return new KeyVaultSecretStore(options);
}

class KeyVaultSecretStore implements SecretStore {
  private readonly client: SecretClient;
  private readonly vaultUrl: string;
  private readonly requestOptions: { timeout: number };
  private readonly log: Logger;
  private readonly shared?: Redactor;
  private readonly callBudgetMs: number;

  constructor(options: KeyVaultStoreOptions) {
    this.shared = options.redactor;
    this.requestOptions = { timeout: options.timeoutInMs ?? 30_000 };
    // Every try of the pipeline, plus one request's worth for the challenge and token round trip.
    this.callBudgetMs = this.requestOptions.timeout * ((options.retryOptions?.maxRetries ?? 3) + 2);
    this.vaultUrl = parseVaultUrl(options.vaultUrl);
    this.log = options.logger ?? silentLogger;
    this.client = new SecretClient(this.vaultUrl, options.credential, {
      // The challenge names resource https://vault.azure.net; only a local emulator may answer it
      // from a host outside *.vault.azure.net, so the check stays on for every real vault.
      ...(isLoopbackUrl(this.vaultUrl) ? { disableChallengeResourceVerification: true } : {}),
      // Connections resolve through the outbound-address rule; the guard's agent carries the trust
      // (http/tls.ts), so the SDK's own tlsOptions are not needed.
      additionalPolicies: [{ policy: addressGuardPolicy(options.ca !== undefined ? { ca: options.ca } : {}), position: "perCall" }],
      ...(options.retryOptions ? { retryOptions: options.retryOptions } : {}),
    });
  }

  async getLatest(name: string, options: VaultCallOptions = {}): Promise<SecretVersion | undefined> {
    assertSecretName(name);
    try {
      return toVersion(
        await this.bounded("getSecret", name, options.abortSignal, (abortSignal) =>
          this.client.getSecret(name, { abortSignal, requestOptions: this.requestOptions }),
        ),
        true,
      );
    } catch (err) {
      const mapped = this.mapped(err, { operation: "getSecret", name });
      if (mapped.code === "VAULT_SECRET_NOT_FOUND") return undefined;
      if (mapped.code !== "VAULT_DISABLED_VERSION") throw mapped;
    }
    // The latest version is disabled (e.g. a rolled-back promotion): the newest ENABLED one is current.
    for (const v of await this.listVersions(name, options)) {
      if (!v.enabled) continue;
      try {
        const found = await this.getVersion(name, v.version, options);
        this.log.warn(`latest version of secret '${name}' is disabled; using the newest enabled version [version=${found.version}]`);
        return found;
      } catch (err) {
        // Disabled or deleted between the listing and the read: try the next older one.
        const code = err instanceof RotatorError ? err.code : undefined;
        if (code !== "VAULT_DISABLED_VERSION" && code !== "VAULT_SECRET_NOT_FOUND") throw err;
      }
    }
    return undefined;
  }

  async getVersion(name: string, version: string, options: VaultCallOptions = {}): Promise<SecretVersion> {
    assertSecretName(name);
    assertVersion(name, version);
    try {
      return toVersion(
        await this.bounded("getSecret", name, options.abortSignal, (abortSignal) =>
          this.client.getSecret(name, { version, abortSignal, requestOptions: this.requestOptions }),
        ),
        true,
      );
    } catch (err) {
      throw this.mapped(err, { operation: "getSecret", name, version });
    }
  }

  async listVersions(name: string, options: VaultCallOptions = {}): Promise<SecretVersion[]> {
    assertSecretName(name);
    const out: SecretVersion[] = [];
    try {
      await this.bounded("listVersions", name, options.abortSignal, async (abortSignal) => {
        let pages = 0;
        for await (const page of this.client.listPropertiesOfSecretVersions(name, { abortSignal, requestOptions: this.requestOptions }).byPage()) {
          // A nextLink that never ends (a loop, or a broken vault) is not a secret's history.
          if (++pages > MAX_VERSION_PAGES) {
            throw new RotatorError(
              "VAULT_UNEXPECTED_RESPONSE",
              `Key Vault listVersions of secret '${name}' in ${this.vaultUrl} did not end after ${MAX_VERSION_PAGES} pages`,
              {
                hint: "The vault kept returning a nextLink (a pagination loop); check keyVault.url and any proxy in between. The next run retries.",
                retryable: true,
              },
            );
          }
          for (const p of page) out.push(fromProperties(p));
        }
      });
    } catch (err) {
      const mapped = this.mapped(err, { operation: "listVersions", name });
      if (mapped.code === "VAULT_SECRET_NOT_FOUND") return [];
      throw mapped;
    }
    return out.sort(newestFirst);
  }

  async setSecret(name: string, value: string, options: SetSecretOptions = {}): Promise<SecretVersion> {
    assertSecretName(name);
    assertSecretValue(name, value);
    assertTags(name, options.tags);
    const redactor = new Redactor();
    redactor.add(value);
    try {
      const s = await this.bounded("setSecret", name, options.abortSignal, (abortSignal) =>
        this.client.setSecret(name, value, {
          tags: options.tags,
          expiresOn: options.expiresOn,
          contentType: options.contentType,
          enabled: options.enabled,
          abortSignal,
          requestOptions: this.requestOptions,
        }),
      );
      const written = toVersion(s, false);
      this.log.info(`wrote secret '${name}' [version=${written.version}] [enabled=${written.enabled}]`);
      return written;
    } catch (err) {
      throw this.mapped(err, { operation: "setSecret", name, redactor });
    }
  }

  async updateProperties(
    name: string,
    version: string,
    patch: { enabled?: boolean; tags?: Record<string, string> },
    options: VaultCallOptions = {},
  ): Promise<SecretVersion> {
    assertSecretName(name);
    assertVersion(name, version);
    assertTags(name, patch.tags);
    try {
      const p = await this.bounded("updateProperties", name, options.abortSignal, (abortSignal) =>
        this.client.updateSecretProperties(name, version, {
          enabled: patch.enabled,
          tags: patch.tags,
          abortSignal,
          requestOptions: this.requestOptions,
        }),
      );
      const updated = fromProperties(p);
      this.log.info(
        `updated secret '${name}' [version=${version}]` +
          (patch.enabled !== undefined ? ` [enabled=${patch.enabled}]` : "") +
          (patch.tags !== undefined ? ` [tags=${Object.keys(patch.tags).join(",")}]` : ""),
      );
      return updated;
    } catch (err) {
      throw this.mapped(err, { operation: "updateProperties", name, version });
    }
  }

  /**
   * One SDK call, ended within the call budget whatever happens inside it. The per-request timeout
   * covers each HTTP try, not the SDK's challenge handling: a 401 whose WWW-Authenticate names a
   * malformed or foreign authority left getSecret pending forever (no request, no timeout).
   */
  private bounded<T>(operation: string, name: string, callerSignal: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(this.callBudgetMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;
    let onAbort: (() => void) | undefined;
    const ended = new Promise<never>((_, reject) => {
      onAbort = () =>
        reject(
          deadline.aborted
            ? new RotatorError(
                "VAULT_TIMEOUT",
                `Key Vault ${operation} of secret '${name}' in ${this.vaultUrl} did not finish within ${Math.round(this.callBudgetMs / 1000)} s`,
                {
                  hint: "Key Vault (or the sign-in it asked for) did not answer in time; check the vault's health, its networking and that its challenge names your tenant. The next run retries.",
                  retryable: true,
                },
              )
            : new RotatorError("ABORTED", `Key Vault ${operation} of secret '${name}' was cancelled`, {
                hint: "The run was cancelled (shutdown or timeout); the next run resumes where this one stopped.",
              }),
        );
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    return Promise.race([call(signal), ended]).finally(() => signal.removeEventListener("abort", onAbort!));
  }

  private mapped(err: unknown, ctx: Omit<VaultCallContext, "vaultUrl">): RotatorError {
    return mapVaultError(err, { ...ctx, vaultUrl: this.vaultUrl, ...(this.shared ? { shared: this.shared } : {}) });
  }
}

function parseVaultUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RotatorError("VAULT_URL_INVALID", `Key Vault URL ${JSON.stringify(raw)} is not a URL`, {
      hint: "Set keyVault.vaultUrl to the vault's URI, e.g. https://my-vault.vault.azure.net",
    });
  }
  if (u.protocol !== "https:") {
    throw new RotatorError("VAULT_URL_INVALID", `Key Vault URL ${u.origin} must use https`, {
      hint: "Set keyVault.vaultUrl to the vault's https URI, e.g. https://my-vault.vault.azure.net",
    });
  }
  return u.origin;
}

function fromProperties(p: SecretProperties): SecretVersion {
  return {
    name: p.name,
    version: p.version ?? "",
    enabled: p.enabled ?? true,
    tags: { ...(p.tags ?? {}) },
    ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
    ...(p.createdOn ? { createdOn: p.createdOn } : {}),
    ...(p.updatedOn ? { updatedOn: p.updatedOn } : {}),
    ...(p.expiresOn ? { expiresOn: p.expiresOn } : {}),
  };
}

function toVersion(s: KeyVaultSecret, withValue: boolean): SecretVersion {
  const v = fromProperties(s.properties);
  return withValue && s.value !== undefined ? { ...v, value: s.value } : v;
}

/**
 * Newest first by creation time. Key Vault dates have one-second resolution and its listing
 * order is arbitrary, so ties fall back to the last update, then the version id (stable, not
 * meaningful).
 */
function newestFirst(a: SecretVersion, b: SecretVersion): number {
  return (
    (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0) ||
    (b.updatedOn?.getTime() ?? 0) - (a.updatedOn?.getTime() ?? 0) ||
    a.version.localeCompare(b.version)
  );
}
