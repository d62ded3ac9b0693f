export interface SecretVersion {
  name: string;
  version: string;
  /** Present only on reads of a value (getLatest/getVersion), never on listings. */
  value?: string;
  enabled: boolean;
  tags: Record<string, string>;
  contentType?: string;
  createdOn?: Date;
  updatedOn?: Date;
  expiresOn?: Date;
}

export interface VaultCallOptions {
  abortSignal?: AbortSignal;
}

export interface SetSecretOptions extends VaultCallOptions {
  tags?: Record<string, string>;
  expiresOn?: Date;
  contentType?: string;
  enabled?: boolean;
}

/** The Key Vault operations the rotator needs (src/vault/keyVaultStore.ts implements it over @azure/keyvault-secrets). */
export interface SecretStore {
  /** Latest version with its value; undefined when the secret does not exist (or only disabled versions). */
  getLatest(name: string, options?: VaultCallOptions): Promise<SecretVersion | undefined>;
  getVersion(name: string, version: string, options?: VaultCallOptions): Promise<SecretVersion>;
  /** Every version's properties (no values), newest first. Empty when the secret does not exist. */
  listVersions(name: string, options?: VaultCallOptions): Promise<SecretVersion[]>;
  setSecret(name: string, value: string, options?: SetSecretOptions): Promise<SecretVersion>;
  updateProperties(
    name: string,
    version: string,
    patch: { enabled?: boolean; tags?: Record<string, string> },
    options?: VaultCallOptions,
  ): Promise<SecretVersion>;
}
