import type { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll } from "vitest";
import { startKeyVaultFixture, type KeyVaultFixture } from "./fixture.js";

/**
 * For a fidelity test's describe block: one Key Vault fixture and its SecretClient, started before
 * the block's tests and closed after them. Read `fixture` and `client` inside the tests.
 */
export function keyVaultSuite(): { readonly fixture: KeyVaultFixture; readonly client: SecretClient } {
  let fixture: KeyVaultFixture | undefined;
  let client: SecretClient | undefined;
  beforeAll(async () => {
    fixture = await startKeyVaultFixture();
    client = fixture.client();
  });
  afterAll(async () => {
    await fixture?.close();
  });
  return {
    get fixture() {
      return fixture!;
    },
    get client() {
      return client!;
    },
  };
}
