import { randomUUID } from "node:crypto";
import { RotatorError } from "../../src/errors.js";
import type { SecretStore, SecretVersion, SetSecretOptions, VaultCallOptions } from "../../src/vault/types.js";

/**
 * A stand-in for Key Vault where Key Vault is not the thing under test: the alert channels only
 * read their URL/key through `SecretStore`. `unavailable` makes every call fail as a Key Vault
 * outage would, so the channels' last-known-value fallback can be exercised.
 */
export class MemorySecretStore implements SecretStore {
  unavailable = false;
  private readonly versions = new Map<string, SecretVersion[]>();

  private check(): void {
    if (this.unavailable) {
      throw new RotatorError("VAULT_UNAVAILABLE", "Key Vault is unreachable (simulated outage)", { hint: "test outage", retryable: true });
    }
  }

  async getLatest(name: string, _o?: VaultCallOptions): Promise<SecretVersion | undefined> {
    this.check();
    const v = (this.versions.get(name) ?? []).find((x) => x.enabled);
    return v ? { ...v } : undefined;
  }

  async getVersion(name: string, version: string, _o?: VaultCallOptions): Promise<SecretVersion> {
    this.check();
    const v = (this.versions.get(name) ?? []).find((x) => x.version === version);
    if (!v) throw new RotatorError("VAULT_SECRET_NOT_FOUND", `${name}/${version} not found`, { hint: "test", status: 404 });
    return { ...v };
  }

  async listVersions(name: string, _o?: VaultCallOptions): Promise<SecretVersion[]> {
    this.check();
    return (this.versions.get(name) ?? []).map(({ value: _v, ...rest }) => ({ ...rest }));
  }

  async setSecret(name: string, value: string, o: SetSecretOptions = {}): Promise<SecretVersion> {
    this.check();
    const v: SecretVersion = { name, version: randomUUID().replace(/-/g, ""), value, enabled: o.enabled ?? true, tags: { ...o.tags }, createdOn: new Date() };
    this.versions.set(name, [v, ...(this.versions.get(name) ?? [])]);
    return { ...v };
  }

  async updateProperties(name: string, version: string, patch: { enabled?: boolean; tags?: Record<string, string> }): Promise<SecretVersion> {
    this.check();
    const v = (this.versions.get(name) ?? []).find((x) => x.version === version);
    if (!v) throw new RotatorError("VAULT_SECRET_NOT_FOUND", `${name}/${version} not found`, { hint: "test", status: 404 });
    if (patch.enabled !== undefined) v.enabled = patch.enabled;
    if (patch.tags) v.tags = { ...patch.tags };
    return { ...v };
  }
}
