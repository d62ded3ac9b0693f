import { ClientSecretCredential } from "@azure/identity";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EmulatorServer } from "../../emulators/common/server.js";
import { sharedCertificateAuthority } from "../../emulators/common/tls.js";
import { VaultAuth } from "../../emulators/keyvault/auth.js";
import { startKeyVaultFixture, type KeyVaultFixture } from "../../emulators/keyvault/fixture.js";
import { registerSecretRoutes } from "../../emulators/keyvault/routes.js";
import { VaultState } from "../../emulators/keyvault/state.js";
import { RotatorError } from "../../src/errors.js";
import { memoryLogger } from "../../src/logging.js";
import { createKeyVaultStore, type KeyVaultStoreOptions } from "../../src/vault/keyVaultStore.js";
import type { SecretStore } from "../../src/vault/types.js";
import { SecretScanner } from "../helpers/secretScan.js";

/** Every Key Vault failure reaches the rotator as one RotatorError with a code, a hint and no secret. */
describe("KeyVaultSecretStore errors", () => {
  let f: KeyVaultFixture;
  let store: SecretStore;
  const { logger, lines } = memoryLogger();
  const scanner = new SecretScanner();

  const storeWith = (options: Partial<KeyVaultStoreOptions> = {}): SecretStore =>
    createKeyVaultStore({ vaultUrl: f.vaultUrl, credential: f.credential(), ca: f.caCertPem, retryOptions: { maxRetries: 0 }, logger, ...options });

  /** Runs a call that must fail, checks it failed as a RotatorError and hands it to the secret scan. */
  const rejection = async (p: Promise<unknown>): Promise<RotatorError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(RotatorError);
    const err = e as RotatorError;
    scanner.collect(`error ${err.code}`, err).collect(`error ${err.code} json`, err.toJSON());
    return err;
  };

  beforeAll(async () => {
    f = await startKeyVaultFixture();
    store = storeWith();
    scanner.addSecrets([f.entra.operator.secret]);
  });
  afterEach(() => {
    f.vault.server.faults.clear();
    f.vault.auth.clearRoles();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("maps an unknown version to VAULT_SECRET_NOT_FOUND with a hint naming the secret", async () => {
    f.vault.seedSecret("known", "errors-value-0001");
    scanner.addSecrets(["errors-value-0001"]);
    const e = await rejection(store.getVersion("known", "0123456789abcdef0123456789abcdef"));
    expect(e.code).toBe("VAULT_SECRET_NOT_FOUND");
    expect(e.status).toBe(404);
    expect(e.upstreamCode).toBe("SecretNotFound");
    expect(e.hint).toContain("'known'");
  });

  it("maps reading a disabled version to VAULT_DISABLED_VERSION", async () => {
    const { version } = f.vault.seedSecret("disabled-one", "errors-value-0002", { enabled: false });
    scanner.addSecrets(["errors-value-0002"]);
    const e = await rejection(store.getVersion("disabled-one", version));
    expect(e.code).toBe("VAULT_DISABLED_VERSION");
    expect(e.status).toBe(403);
    expect(e.upstreamCode).toBe("SecretDisabled");
  });

  it("maps a role without write rights to VAULT_FORBIDDEN with the Key Vault Secrets Officer hint", async () => {
    f.vault.assignRole("Key Vault Secrets User");
    const e = await rejection(storeWith().setSecret("forbidden", "errors-value-0003"));
    scanner.addSecrets(["errors-value-0003"]);
    expect(e.code).toBe("VAULT_FORBIDDEN");
    expect(e.upstreamCode).toBe("ForbiddenByRbac");
    expect(e.hint).toContain('"Key Vault Secrets Officer"');
    expect(e.hint).toContain("managed identity");
  });

  it("maps writing a soft-deleted name to VAULT_DELETED_RECOVERABLE with recover-or-purge advice", async () => {
    const client = f.client();
    await client.setSecret("was-deleted", "errors-value-0004");
    await (await client.beginDeleteSecret("was-deleted")).pollUntilDone();
    const e = await rejection(store.setSecret("was-deleted", "errors-value-0005"));
    scanner.addSecrets(["errors-value-0004", "errors-value-0005"]);
    expect(e.code).toBe("VAULT_DELETED_RECOVERABLE");
    expect(e.status).toBe(409);
    expect(e.upstreamCode).toBe("ObjectIsDeletedButRecoverable");
    expect(e.hint).toMatch(/recover/i);
    expect(e.hint).toMatch(/purge/i);
  });

  it("maps throttling beyond the retries to retryable VAULT_THROTTLED", async () => {
    await store.listVersions("known"); // the challenge is done; only the throttled call remains
    f.vault.throttle({ retryAfterSeconds: 0 });
    const e = await rejection(store.getLatest("known"));
    expect(e.code).toBe("VAULT_THROTTLED");
    expect(e.status).toBe(429);
    expect(e.retryable).toBe(true);
  });

  it("rides out a brief throttle with the SDK's retries, honouring Retry-After", async () => {
    const patient = storeWith({ retryOptions: { maxRetries: 3 } });
    await patient.listVersions("known");
    f.vault.throttle({ times: 2, retryAfterSeconds: 0 });
    expect((await patient.getLatest("known"))?.value).toBe("errors-value-0001");
  });

  it("maps a service error to retryable VAULT_UNAVAILABLE", async () => {
    f.vault.server.faults.add({ route: "^GET /secrets/known/$", status: 503, times: 1 });
    const e = await rejection(store.getLatest("known"));
    expect(e.code).toBe("VAULT_UNAVAILABLE");
    expect(e.retryable).toBe(true);
  });

  it("rejects invalid input before any call, naming the field: name, value size, tag count, tag length", async () => {
    const before = f.vault.server.requests.length;
    const badName = await rejection(store.setSecret("client_secret", "errors-value-0006"));
    expect(badName.code).toBe("VAULT_INVALID_REQUEST");
    expect(badName.message).toContain('secret name "client_secret"');
    const big = "B".repeat(25 * 1024 + 1);
    const tooBig = await rejection(store.setSecret("big", big));
    expect(tooBig.message).toContain("value of secret 'big' is 25601 bytes");
    const manyTags = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, "v"]));
    expect((await rejection(store.setSecret("tagged", "errors-value-0007", { tags: manyTags }))).message).toContain("16 given");
    expect((await rejection(store.updateProperties("tagged", "0123456789abcdef0123456789abcdef", { tags: { note: "x".repeat(257) } }))).message).toContain(
      'value of tag "note"',
    );
    expect((await rejection(store.getVersion("tagged", "../secrets"))).code).toBe("VAULT_INVALID_REQUEST");
    expect(f.vault.server.requests.length).toBe(before);
    scanner.addSecrets(["errors-value-0006", big, "errors-value-0007"]);
  });

  it("maps a 400 from the service to VAULT_INVALID_REQUEST and redacts the value if the service echoes it", async () => {
    const value = "errors-value-echoed-0008";
    scanner.addSecrets([value]);
    f.vault.server.faults.add({
      route: "^PUT /secrets/echo$",
      status: 400,
      times: 1,
      body: { error: { code: "BadParameter", message: `Value '${value}' is not acceptable.` } },
    });
    const e = await rejection(store.setSecret("echo", value));
    expect(e.code).toBe("VAULT_INVALID_REQUEST");
    expect(e.message).not.toContain(value);
    expect(e.message).toContain("[REDACTED]");
  });

  it("maps a credential that cannot get a token to VAULT_AUTH_FAILED with the AADSTS code", async () => {
    const wrong = new ClientSecretCredential(f.entra.tenantId, f.entra.operator.app.appId, "not-the-operator-secret-000", {
      authorityHost: f.entra.url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: f.caCertPem },
      retryOptions: { maxRetries: 0 },
    });
    const e = await rejection(storeWith({ credential: wrong }).getLatest("known"));
    expect(e.code).toBe("VAULT_AUTH_FAILED");
    expect(e.aadsts).toBe(7000215);
    scanner.addSecrets(["not-the-operator-secret-000"]);
  });

  it("maps an untrusted certificate to VAULT_UNREACHABLE with the CA hint, not retryable", async () => {
    const e = await rejection(storeWith({ ca: undefined }).getLatest("known"));
    expect(e.code).toBe("VAULT_UNREACHABLE");
    expect(e.hint).toContain("CA");
    expect(e.retryable).toBe(false);
  });

  it("maps a vault that does not answer to retryable VAULT_UNREACHABLE", async () => {
    const gone = new EmulatorServer({ name: "gone" });
    const url = await gone.start();
    await gone.close();
    const e = await rejection(storeWith({ vaultUrl: url.replace("http:", "https:") }).getLatest("known"));
    expect(e.code).toBe("VAULT_UNREACHABLE");
    expect(e.retryable).toBe(true);
  });

  it("keeps challenge verification on for a non-loopback host: VAULT_CHALLENGE_MISMATCH", async () => {
    // A second vault on another loopback address (127.0.0.2) stands in for a host that is not 127.0.0.1/localhost.
    const ca = sharedCertificateAuthority();
    const other = new EmulatorServer({ name: "kv-127-0-0-2", tls: await ca.issueFor(["127.0.0.2"]) });
    const state = new VaultState({ clock: f.clock, vaultUrl: () => other.url });
    registerSecretRoutes(
      other,
      state,
      new VaultAuth(
        () => `${f.entra.url}/${f.entra.tenantId}`,
        (t) => f.entra.emulator.validateAccessToken(t),
      ),
    );
    const url = await other.start(0, "127.0.0.2");
    try {
      const e = await rejection(storeWith({ vaultUrl: url }).getLatest("known"));
      expect(e.code).toBe("VAULT_CHALLENGE_MISMATCH");
      // The SDK stopped at the challenge: no token was sent to the foreign host.
      expect(other.requests.map((r) => r.status)).toEqual([401]);
    } finally {
      await other.close();
    }
  });

  it("maps a cancelled call to ABORTED", async () => {
    const controller = new AbortController();
    controller.abort();
    const e = await rejection(store.getLatest("known", { abortSignal: controller.signal }));
    expect(e.code).toBe("ABORTED");
  });

  it("refuses a vault URL that is not https", () => {
    expect(() => createKeyVaultStore({ vaultUrl: "http://my-vault.vault.azure.net", credential: f.credential() })).toThrow(
      expect.objectContaining({ code: "VAULT_URL_INVALID" }),
    );
  });

  it("puts no secret value in any error, error summary or log line", () => {
    scanner.collectAll("log", lines);
    expect(scanner.assertClean()).toBeGreaterThan(10);
  });
});
