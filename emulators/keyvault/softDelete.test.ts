import type { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, startKeyVaultFixture, type KeyVaultFixture } from "./fixture.js";

/** Soft delete, recovery, purge and the retention period (Recoverable+Purgeable, 90 days). */
describe("Key Vault emulator: soft delete", () => {
  let f: KeyVaultFixture;
  let client: SecretClient;

  beforeAll(async () => {
    f = await startKeyVaultFixture();
    client = f.client();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("soft-deletes a secret: DeletedSecret with recoveryId, deletedOn and a purge date 90 days later, and no value", async () => {
    await client.setSecret("to-delete", "to-delete-value-1");
    const poller = await client.beginDeleteSecret("to-delete");
    const deleted = await poller.pollUntilDone();
    expect(deleted.properties.recoveryId).toBe(`${f.vaultUrl}/deletedsecrets/to-delete`);
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date);
    expect(deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime()).toBe(90 * 86_400_000);
    expect(deleted.value).toBeUndefined();
    expect((await client.getDeletedSecret("to-delete")).name).toBe("to-delete");
    expect((await failure(client.getSecret("to-delete"))).statusCode).toBe(404);
  });

  it("refuses to set a soft-deleted name with 409 Conflict / ObjectIsDeletedButRecoverable", async () => {
    await client.setSecret("deleted-name", "deleted-name-value-1");
    await (await client.beginDeleteSecret("deleted-name")).pollUntilDone();
    const e = await failure(client.setSecret("deleted-name", "deleted-name-value-2"));
    expect(e.statusCode).toBe(409);
    expect(e.code).toBe("Conflict");
    expect(e.message).toBe(
      "Secret deleted-name is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
    );
    expect((e.details as { error: { innerError: { code: string } } }).error.innerError.code).toBe("ObjectIsDeletedButRecoverable");
  });

  it("recovers a deleted secret with all its versions", async () => {
    await client.setSecret("recover-me", "recover-me-value-1");
    await client.setSecret("recover-me", "recover-me-value-2");
    await (await client.beginDeleteSecret("recover-me")).pollUntilDone();
    const recovered = await (await client.beginRecoverDeletedSecret("recover-me")).pollUntilDone();
    expect(recovered.name).toBe("recover-me");
    expect((await client.getSecret("recover-me")).value).toBe("recover-me-value-2");
    expect(f.vault.heldValues("recover-me")).toEqual(["recover-me-value-1", "recover-me-value-2"]);
    expect((await failure(client.getDeletedSecret("recover-me"))).statusCode).toBe(404);
  });

  it("purges a deleted secret so the name can be created afresh", async () => {
    await client.setSecret("purge-me", "purge-me-value-1");
    await (await client.beginDeleteSecret("purge-me")).pollUntilDone();
    await client.purgeDeletedSecret("purge-me");
    const e = await failure(client.getDeletedSecret("purge-me"));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe("SecretNotFound");
    const fresh = await client.setSecret("purge-me", "purge-me-value-2");
    expect(f.vault.versions("purge-me").map((v) => v.version)).toEqual([fresh.properties.version]);
  });

  it("lists deleted secrets", async () => {
    await client.setSecret("listed-deleted", "listed-deleted-value-1");
    await (await client.beginDeleteSecret("listed-deleted")).pollUntilDone();
    const names = [];
    for await (const d of client.listDeletedSecrets()) names.push(d.name);
    expect(names).toContain("listed-deleted");
  });

  it("purges a deleted secret by itself once the clock passes its scheduled purge date", async () => {
    await client.setSecret("retention", "retention-value-1");
    await (await client.beginDeleteSecret("retention")).pollUntilDone();
    f.clock.advanceDays(91);
    expect((await failure(client.getDeletedSecret("retention"))).statusCode).toBe(404);
    await expect(client.setSecret("retention", "retention-value-2")).resolves.toBeDefined();
  });

  it("holds no usable value for a soft-deleted secret", async () => {
    await client.setSecret("held-while-deleted", "held-while-deleted-value-1");
    await (await client.beginDeleteSecret("held-while-deleted")).pollUntilDone();
    expect(f.vault.heldValues("held-while-deleted")).toEqual([]);
    expect(f.vault.versions("held-while-deleted")[0]!.deleted).toBe(true);
  });
});
