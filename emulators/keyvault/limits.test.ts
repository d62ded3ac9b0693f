import { describe, expect, it } from "vitest";
import { failure } from "./fixture.js";
import { keyVaultSuite } from "./suite.js";

/** Key Vault's documented limits: names, value size, tag count and lengths. */
describe("Key Vault emulator: limits", () => {
  const kv = keyVaultSuite();

  it("rejects a name outside ^[0-9a-zA-Z-]{1,127}$ with 400 BadParameter naming it", async () => {
    const e = await failure(kv.client.setSecret("bad_name", "bad-name-value-1"));
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("BadParameter");
    expect(e.message).toBe("The request URI contains an invalid name: bad_name");
    expect((await failure(kv.client.getSecret("a".repeat(128)))).statusCode).toBe(400);
    await expect(kv.client.setSecret("a".repeat(127), "longest-name-value-1")).resolves.toBeDefined();
  });

  it("accepts a value of exactly 25 KB and rejects one byte more with 400", async () => {
    await expect(kv.client.setSecret("big-value", "x".repeat(25 * 1024))).resolves.toBeDefined();
    const e = await failure(kv.client.setSecret("big-value", "x".repeat(25 * 1024 + 1)));
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("BadParameter");
    expect(kv.fixture.vault.versions("big-value")).toHaveLength(1);
  });

  it("accepts 15 tags and rejects a 16th with 400", async () => {
    const tags = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, "v"]));
    await expect(kv.client.setSecret("many-tags", "many-tags-value-1", { tags: tags(15) })).resolves.toBeDefined();
    const e = await failure(kv.client.setSecret("many-tags", "many-tags-value-2", { tags: tags(16) }));
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("BadParameter");
  });

  it("accepts tag names and values of 256 characters and rejects 257", async () => {
    await expect(kv.client.setSecret("long-tags", "long-tags-value-1", { tags: { ["n".repeat(256)]: "v".repeat(256) } })).resolves.toBeDefined();
    expect((await failure(kv.client.setSecret("long-tags", "long-tags-value-2", { tags: { ["n".repeat(257)]: "v" } }))).statusCode).toBe(400);
    expect((await failure(kv.client.setSecret("long-tags", "long-tags-value-3", { tags: { n: "v".repeat(257) } }))).statusCode).toBe(400);
  });

  it("applies the tag limits to updates as well", async () => {
    const v = await kv.client.setSecret("update-tags-limit", "update-tags-limit-value-1");
    const e = await failure(kv.client.updateSecretProperties("update-tags-limit", v.properties.version!, { tags: { n: "v".repeat(257) } }));
    expect(e.statusCode).toBe(400);
  });

  /**
   * Microsoft Learn, "About Azure Key Vault secrets" (https://learn.microsoft.com/azure/key-vault/secrets/about-secrets):
   * "Key Vault also supports a contentType field for secrets. … The maximum length of this field is
   * 255 characters." Refused as the service refuses malformed input: 400 BadParameter
   * (https://learn.microsoft.com/azure/key-vault/general/rest-error-codes); the message is the emulator's wording.
   */
  it("accepts a contentType of 255 characters and refuses 256 with 400 BadParameter, on set and on update, changing nothing", async () => {
    const ok = await kv.client.setSecret("content-type", "content-type-value-1", { contentType: "c".repeat(255) });
    expect(ok.properties.contentType).toHaveLength(255);
    const e = await failure(kv.client.setSecret("content-type", "content-type-value-2", { contentType: "c".repeat(256) }));
    expect([e.statusCode, e.code]).toEqual([400, "BadParameter"]);
    expect(e.message).toContain("contentType");
    const u = await failure(kv.client.updateSecretProperties("content-type", ok.properties.version!, { contentType: "x".repeat(256) }));
    expect([u.statusCode, u.code]).toEqual([400, "BadParameter"]);
    expect(kv.fixture.vault.versions("content-type").map((v) => [v.value, v.contentType?.length])).toEqual([["content-type-value-1", 255]]);
  });
});
