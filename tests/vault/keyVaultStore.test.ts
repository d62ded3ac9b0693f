import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeyVaultFixture, type KeyVaultFixture } from "../../emulators/keyvault/fixture.js";
import { memoryLogger } from "../../src/logging.js";
import { createKeyVaultStore } from "../../src/vault/keyVaultStore.js";
import type { SecretStore } from "../../src/vault/types.js";
import { SecretScanner } from "../helpers/secretScan.js";

/** The rotator's SecretStore over the real SecretClient, against the Key Vault + Entra emulators. */
describe("KeyVaultSecretStore", () => {
  let f: KeyVaultFixture;
  let store: SecretStore;
  const { logger, lines } = memoryLogger();
  const scanner = new SecretScanner();
  const written: string[] = [];

  const write = async (name: string, value: string, options?: Parameters<SecretStore["setSecret"]>[2]) => {
    written.push(value);
    const v = await store.setSecret(name, value, options);
    scanner.collect(`setSecret result ${name}`, v);
    return v;
  };

  beforeAll(async () => {
    f = await startKeyVaultFixture();
    store = createKeyVaultStore({ vaultUrl: f.vaultUrl, credential: f.credential(), ca: f.caCertPem, retryOptions: { maxRetries: 0 }, logger });
    scanner.addSecrets([f.entra.operator.secret]);
  });
  afterAll(async () => {
    await f?.close();
  });

  it("writes a version with tags, expiry and content type, and returns it without the value", async () => {
    const expiresOn = new Date(Math.floor((f.clock.now().getTime() + 90 * 86_400_000) / 1000) * 1000);
    const v = await write("client-secret", "store-value-0001", { tags: { keyId: "k-1", state: "current" }, expiresOn, contentType: "client-secret" });
    expect(v).toMatchObject({ name: "client-secret", enabled: true, tags: { keyId: "k-1", state: "current" }, contentType: "client-secret", expiresOn });
    expect(v.version).toMatch(/^[0-9a-f]{32}$/);
    expect(v.value).toBeUndefined();
    expect(f.vault.versions("client-secret")[0]).toMatchObject({ version: v.version, value: "store-value-0001" });
  });

  it("reads the latest version and a given version with their values", async () => {
    const first = await write("read-back", "store-value-0002");
    await write("read-back", "store-value-0003", { tags: { n: "2" } });
    const latest = await store.getLatest("read-back");
    expect(latest).toMatchObject({ value: "store-value-0003", tags: { n: "2" }, enabled: true });
    expect((await store.getVersion("read-back", first.version)).value).toBe("store-value-0002");
  });

  it("returns undefined from getLatest for a secret that does not exist", async () => {
    await expect(store.getLatest("does-not-exist")).resolves.toBeUndefined();
  });

  it("falls back to the newest enabled version when the latest is disabled, and to undefined when none is enabled", async () => {
    const older = await write("rolled-back", "store-value-0004");
    f.clock.advance(2_000);
    const newer = await write("rolled-back", "store-value-0005");
    await store.updateProperties("rolled-back", newer.version, { enabled: false });
    const current = await store.getLatest("rolled-back");
    expect(current).toMatchObject({ version: older.version, value: "store-value-0004", enabled: true });
    expect(lines.some((l) => l.includes("latest version of secret 'rolled-back' is disabled"))).toBe(true);
    await store.updateProperties("rolled-back", older.version, { enabled: false });
    await expect(store.getLatest("rolled-back")).resolves.toBeUndefined();
  });

  it("lists every version newest first, with properties and no values", async () => {
    const versions: string[] = [];
    for (let i = 0; i < 3; i++) {
      versions.push((await write("history", `store-value-00${10 + i}`, { tags: { n: String(i) } })).version);
      f.clock.advance(1_500);
    }
    const listed = await store.listVersions("history");
    expect(listed.map((v) => v.version)).toEqual([...versions].reverse());
    expect(listed.map((v) => v.tags["n"])).toEqual(["2", "1", "0"]);
    expect(listed.every((v) => v.value === undefined && v.createdOn instanceof Date)).toBe(true);
  });

  it("lists the versions of an unknown secret as empty", async () => {
    await expect(store.listVersions("never-written")).resolves.toEqual([]);
  });

  it("follows every page of a long version history", async () => {
    for (let i = 0; i < 27; i++) f.vault.seedSecret("long-history", `seeded-long-history-${i}`);
    written.push(...f.vault.versions("long-history").map((v) => v.value));
    expect(await store.listVersions("long-history")).toHaveLength(27);
    expect(f.vault.server.count("GET", /^\/secrets\/long-history\/versions$/)).toBe(2);
  });

  it("disables a version and keeps its tags, or replaces its tags", async () => {
    const v = await write("retire-me", "store-value-0020", { tags: { keyId: "k-old" } });
    const disabled = await store.updateProperties("retire-me", v.version, { enabled: false });
    expect(disabled).toMatchObject({ enabled: false, tags: { keyId: "k-old" } });
    expect(disabled.value).toBeUndefined();
    const retagged = await store.updateProperties("retire-me", v.version, { tags: { keyId: "k-old", state: "consumed" } });
    expect(retagged.tags).toEqual({ keyId: "k-old", state: "consumed" });
    expect(f.vault.heldValues("retire-me")).toEqual([]);
  });

  it("answers concurrent first calls of a fresh store (reads and a write racing through the challenge)", async () => {
    const fresh = createKeyVaultStore({ vaultUrl: f.vaultUrl, credential: f.credential(), ca: f.caCertPem, retryOptions: { maxRetries: 0 } });
    written.push("store-value-0030");
    const [versions, latest, set] = await Promise.all([
      fresh.listVersions("read-back"),
      fresh.getLatest("read-back"),
      fresh.setSecret("concurrent-write", "store-value-0030"),
    ]);
    expect(versions).toHaveLength(2);
    expect(latest?.value).toBe("store-value-0003");
    expect(f.vault.versions("concurrent-write").map((v) => v.version)).toEqual([set.version]);
    expect(f.vault.versions("concurrent-write")[0]!.value).toBe("store-value-0030");
  });

  it("works through a localhost vault URL too (loopback: challenge verification off)", async () => {
    const port = new URL(f.vaultUrl).port;
    const viaLocalhost = createKeyVaultStore({
      vaultUrl: `https://localhost:${port}`,
      credential: f.credential(),
      ca: f.caCertPem,
      retryOptions: { maxRetries: 0 },
    });
    expect((await viaLocalhost.getLatest("read-back"))?.value).toBe("store-value-0003");
  });

  it("logs writes with identifiers only, and no value appears in any log line or result", () => {
    expect(lines.some((l) => /wrote secret 'client-secret' \[version=[0-9a-f]{32}\]/.test(l))).toBe(true);
    scanner.addSecrets(written).collectAll("log", lines);
    expect(scanner.assertClean()).toBeGreaterThan(0);
  });
});
