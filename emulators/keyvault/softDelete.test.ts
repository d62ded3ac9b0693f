import { describe, expect, it } from "vitest";
import { failure } from "./fixture.js";
import { keyVaultSuite } from "./suite.js";

/** Soft delete, recovery, purge and the retention period (Recoverable+Purgeable, 90 days). */
describe("Key Vault emulator: soft delete", () => {
  const kv = keyVaultSuite();

  it("soft-deletes a secret: DeletedSecret with recoveryId, deletedOn and a purge date 90 days later, and no value", async () => {
    await kv.client.setSecret("to-delete", "to-delete-value-1");
    const poller = await kv.client.beginDeleteSecret("to-delete");
    const deleted = await poller.pollUntilDone();
    expect(deleted.properties.recoveryId).toBe(`${kv.fixture.vaultUrl}/deletedsecrets/to-delete`);
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date);
    expect(deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime()).toBe(90 * 86_400_000);
    expect(deleted.value).toBeUndefined();
    expect((await kv.client.getDeletedSecret("to-delete")).name).toBe("to-delete");
    expect((await failure(kv.client.getSecret("to-delete"))).statusCode).toBe(404);
  });

  it("refuses to set a soft-deleted name with 409 Conflict / ObjectIsDeletedButRecoverable", async () => {
    await kv.client.setSecret("deleted-name", "deleted-name-value-1");
    await (await kv.client.beginDeleteSecret("deleted-name")).pollUntilDone();
    const e = await failure(kv.client.setSecret("deleted-name", "deleted-name-value-2"));
    expect(e.statusCode).toBe(409);
    expect(e.code).toBe("Conflict");
    expect(e.message).toBe(
      "Secret deleted-name is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
    );
    expect((e.details as { error: { innerError: { code: string } } }).error.innerError.code).toBe("ObjectIsDeletedButRecoverable");
  });

  it("recovers a deleted secret with all its versions", async () => {
    await kv.client.setSecret("recover-me", "recover-me-value-1");
    await kv.client.setSecret("recover-me", "recover-me-value-2");
    await (await kv.client.beginDeleteSecret("recover-me")).pollUntilDone();
    const recovered = await (await kv.client.beginRecoverDeletedSecret("recover-me")).pollUntilDone();
    expect(recovered.name).toBe("recover-me");
    expect((await kv.client.getSecret("recover-me")).value).toBe("recover-me-value-2");
    expect(kv.fixture.vault.heldValues("recover-me")).toEqual(["recover-me-value-1", "recover-me-value-2"]);
    expect((await failure(kv.client.getDeletedSecret("recover-me"))).statusCode).toBe(404);
  });

  it("purges a deleted secret so the name can be created afresh", async () => {
    await kv.client.setSecret("purge-me", "purge-me-value-1");
    await (await kv.client.beginDeleteSecret("purge-me")).pollUntilDone();
    await kv.client.purgeDeletedSecret("purge-me");
    const e = await failure(kv.client.getDeletedSecret("purge-me"));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe("SecretNotFound");
    const fresh = await kv.client.setSecret("purge-me", "purge-me-value-2");
    expect(kv.fixture.vault.versions("purge-me").map((v) => v.version)).toEqual([fresh.properties.version]);
  });

  it("lists deleted secrets", async () => {
    await kv.client.setSecret("listed-deleted", "listed-deleted-value-1");
    await (await kv.client.beginDeleteSecret("listed-deleted")).pollUntilDone();
    const names = [];
    for await (const d of kv.client.listDeletedSecrets()) names.push(d.name);
    expect(names).toContain("listed-deleted");
  });

  it("purges a deleted secret by itself once the clock passes its scheduled purge date", async () => {
    await kv.client.setSecret("retention", "retention-value-1");
    await (await kv.client.beginDeleteSecret("retention")).pollUntilDone();
    kv.fixture.clock.advanceDays(91);
    expect((await failure(kv.client.getDeletedSecret("retention"))).statusCode).toBe(404);
    await expect(kv.client.setSecret("retention", "retention-value-2")).resolves.toBeDefined();
  });

  it("holds no usable value for a soft-deleted secret", async () => {
    await kv.client.setSecret("held-while-deleted", "held-while-deleted-value-1");
    await (await kv.client.beginDeleteSecret("held-while-deleted")).pollUntilDone();
    expect(kv.fixture.vault.heldValues("held-while-deleted")).toEqual([]);
    expect(kv.fixture.vault.versions("held-while-deleted")[0]!.deleted).toBe(true);
  });
});
