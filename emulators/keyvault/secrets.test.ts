import type { RestError, SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretScanner } from "../../tests/helpers/secretScan.js";
import { startKeyVaultFixture, type KeyVaultFixture } from "./fixture.js";

/** Versions, reads, listings and property updates, through the real SecretClient. */
describe("Key Vault emulator: secrets and versions", () => {
  let f: KeyVaultFixture;
  let client: SecretClient;
  const scanner = new SecretScanner();

  beforeAll(async () => {
    f = await startKeyVaultFixture();
    client = f.client();
    scanner.addSecrets([f.entra.operator.secret]);
  });
  afterAll(async () => {
    await f?.close();
  });

  const failure = async (p: Promise<unknown>): Promise<RestError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err as RestError,
    );
    if (!e) throw new Error("expected the call to fail");
    scanner.collect(`error ${e.statusCode}`, e);
    return e;
  };

  it("returns a full SecretBundle on set: value, 32-hex version in the id, tags, content type, clock dates, recovery level", async () => {
    const before = Math.floor(f.clock.now().getTime() / 1000) * 1000;
    const expiresOn = new Date(Math.floor((f.clock.now().getTime() + 30 * 86_400_000) / 1000) * 1000);
    const s = await client.setSecret("bundle-shape", "bundle-shape-value-1", { tags: { keyId: "k1" }, contentType: "client-secret", expiresOn });
    expect(s.value).toBe("bundle-shape-value-1");
    expect(s.properties.id).toMatch(new RegExp(`^${f.vaultUrl}/secrets/bundle-shape/[0-9a-f]{32}$`));
    expect(s.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(s.properties.vaultUrl).toBe(f.vaultUrl);
    expect(s.properties.tags).toEqual({ keyId: "k1" });
    expect(s.properties.contentType).toBe("client-secret");
    expect(s.properties.enabled).toBe(true);
    expect(s.properties.expiresOn).toEqual(expiresOn);
    expect(s.properties.createdOn!.getTime()).toBeGreaterThanOrEqual(before);
    expect(s.properties.updatedOn).toEqual(s.properties.createdOn);
    expect(s.properties.recoveryLevel).toBe("Recoverable+Purgeable");
    expect(s.properties.recoverableDays).toBe(90);
  });

  it("creates a new version on every set, reads the latest without a version and any version by id", async () => {
    const v1 = await client.setSecret("versions-read", "versions-read-value-1");
    const v2 = await client.setSecret("versions-read", "versions-read-value-2");
    expect(v2.properties.version).not.toBe(v1.properties.version);
    expect((await client.getSecret("versions-read")).value).toBe("versions-read-value-2");
    expect((await client.getSecret("versions-read", { version: v1.properties.version! })).value).toBe("versions-read-value-1");
  });

  it("looks secret names up case-insensitively", async () => {
    await client.setSecret("Mixed-Case", "mixed-case-value-1");
    expect((await client.getSecret("mixed-case")).value).toBe("mixed-case-value-1");
  });

  it("treats exp and nbf as informational: an expired or not-yet-valid secret is still readable", async () => {
    const past = new Date(Math.floor((f.clock.now().getTime() - 86_400_000) / 1000) * 1000);
    const future = new Date(Math.floor((f.clock.now().getTime() + 86_400_000) / 1000) * 1000);
    await client.setSecret("expired-secret", "expired-secret-value-1", { expiresOn: past, notBefore: future });
    const read = await client.getSecret("expired-secret");
    expect(read.value).toBe("expired-secret-value-1");
    expect(read.properties.expiresOn).toEqual(past);
    expect(read.properties.notBefore).toEqual(future);
  });

  it("answers 404 SecretNotFound for an unknown name and for an unknown version", async () => {
    const byName = await failure(client.getSecret("never-created"));
    expect(byName.statusCode).toBe(404);
    expect(byName.code).toBe("SecretNotFound");
    expect(byName.message).toMatch(/^A secret with \(name\/id\) never-created was not found in this key vault\./);
    await client.setSecret("known-name", "known-name-value-1");
    const byVersion = await failure(client.getSecret("known-name", { version: "0123456789abcdef0123456789abcdef" }));
    expect(byVersion.statusCode).toBe(404);
    expect(byVersion.code).toBe("SecretNotFound");
  });

  it("lists every version's properties without values", async () => {
    const written = [];
    for (let i = 1; i <= 3; i++)
      written.push((await client.setSecret("list-versions", `list-versions-value-${i}`, { tags: { n: String(i) } })).properties.version);
    const listed = [];
    for await (const p of client.listPropertiesOfSecretVersions("list-versions")) listed.push(p);
    expect(listed.map((p) => p.version).sort()).toEqual([...written].sort());
    expect(listed.every((p) => (p as { value?: unknown }).value === undefined)).toBe(true);
    expect(listed.map((p) => p.tags?.["n"]).sort()).toEqual(["1", "2", "3"]);
    const raw = await f.raw("GET", "/secrets/list-versions/versions?api-version=2026-04-01", {
      token: (await f.credential().getToken("https://vault.azure.net/.default"))!.token,
    });
    expect(JSON.stringify(raw.body)).not.toContain("list-versions-value-");
  });

  it("pages version listings with nextLink and maxresults, and the SDK follows every page", async () => {
    for (let i = 1; i <= 5; i++) await client.setSecret("paged-versions", `paged-versions-value-${i}`);
    const before = f.vault.server.count("GET", /^\/secrets\/paged-versions\/versions$/);
    const pages: number[] = [];
    for await (const page of client.listPropertiesOfSecretVersions("paged-versions").byPage({ maxPageSize: 2 })) pages.push(page.length);
    expect(pages).toEqual([2, 2, 1]);
    expect(f.vault.server.count("GET", /^\/secrets\/paged-versions\/versions$/) - before).toBe(3);
  });

  it("rejects maxresults above 25 with 400 BadParameter", async () => {
    const e = await failure(
      (async () => {
        for await (const page of client.listPropertiesOfSecretVersions("paged-versions").byPage({ maxPageSize: 26 })) void page;
      })(),
    );
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("BadParameter");
  });

  it("lists the versions of an unknown secret as empty", async () => {
    const listed = [];
    for await (const p of client.listPropertiesOfSecretVersions("no-such-secret")) listed.push(p);
    expect(listed).toEqual([]);
  });

  it("lists secrets once each by base id, with the latest version's attributes", async () => {
    await client.setSecret("vault-list", "vault-list-value-1", { tags: { gen: "1" } });
    await client.setSecret("vault-list", "vault-list-value-2", { tags: { gen: "2" } });
    const found = [];
    for await (const p of client.listPropertiesOfSecrets()) if (p.name === "vault-list") found.push(p);
    expect(found).toHaveLength(1);
    expect(found[0]!.id).toBe(`${f.vaultUrl}/secrets/vault-list`);
    expect(found[0]!.version).toBeUndefined();
    expect(found[0]!.tags).toEqual({ gen: "2" });
  });

  it("refuses to read a disabled version with 403 Forbidden / SecretDisabled, and reads it again once re-enabled", async () => {
    const v = await client.setSecret("disable-me", "disable-me-value-1");
    const version = v.properties.version!;
    const updated = await client.updateSecretProperties("disable-me", version, { enabled: false });
    expect(updated.enabled).toBe(false);
    const e = await failure(client.getSecret("disable-me", { version }));
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe("Forbidden");
    expect(e.message).toBe("Operation get is not allowed on a disabled secret.");
    expect((e.details as { error: { innerError: { code: string } } }).error.innerError.code).toBe("SecretDisabled");
    await client.updateSecretProperties("disable-me", version, { enabled: true });
    expect((await client.getSecret("disable-me", { version })).value).toBe("disable-me-value-1");
  });

  it("answers 403 for the latest read when the newest version is disabled, even if older versions are enabled", async () => {
    await client.setSecret("latest-disabled", "latest-disabled-value-1");
    const newest = await client.setSecret("latest-disabled", "latest-disabled-value-2");
    await client.updateSecretProperties("latest-disabled", newest.properties.version!, { enabled: false });
    const e = await failure(client.getSecret("latest-disabled"));
    expect(e.statusCode).toBe(403);
    expect(f.vault.heldValues("latest-disabled")).toEqual(["latest-disabled-value-1"]);
  });

  it("replaces tags wholesale on update and keeps them when an update sends none", async () => {
    const v = await client.setSecret("tag-update", "tag-update-value-1", { tags: { a: "1", b: "2" } });
    const version = v.properties.version!;
    const replaced = await client.updateSecretProperties("tag-update", version, { tags: { c: "3" } });
    expect(replaced.tags).toEqual({ c: "3" });
    const kept = await client.updateSecretProperties("tag-update", version, { enabled: false });
    expect(kept.tags).toEqual({ c: "3" });
    expect(kept.enabled).toBe(false);
  });

  it("returns no value from an update, and moves `updated` with the emulator clock", async () => {
    const v = await client.setSecret("update-dates", "update-dates-value-1");
    f.clock.advance(60_000);
    const updated = await client.updateSecretProperties("update-dates", v.properties.version!, { contentType: "text/plain" });
    expect((updated as { value?: unknown }).value).toBeUndefined();
    expect(updated.contentType).toBe("text/plain");
    expect(updated.updatedOn!.getTime() - v.properties.createdOn!.getTime()).toBeGreaterThanOrEqual(60_000);
    expect(updated.createdOn).toEqual(v.properties.createdOn);
  });

  it("keeps every value only inside the emulator: errors and listings scanned clean", () => {
    scanner.addSecrets(f.vault.versions("disable-me").map((v) => v.value));
    scanner.addSecrets(f.vault.versions("list-versions").map((v) => v.value));
    expect(scanner.assertClean()).toBeGreaterThan(0);
  });
});
