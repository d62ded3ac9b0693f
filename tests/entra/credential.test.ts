import { ClientSecretCredential, ManagedIdentityCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { createAzureCredential } from "../../src/entra/credential.js";
import { ConfigError } from "../../src/errors.js";
import { Redactor } from "../../src/redact.js";
import { SecretScanner } from "../helpers/secretScan.js";

let fx: EntraFixture;
const outputs: unknown[] = [];

beforeAll(async () => {
  fx = await startEntraFixture();
});
afterAll(async () => {
  await fx.close();
  new SecretScanner().addSecrets(fx.emulator.issuedSecrets()).collectAll("output", outputs).assertClean();
});

describe("createAzureCredential", () => {
  it("builds a ClientSecretCredential that gets tokens from the emulator when given its CA", async () => {
    const redactor = new Redactor();
    const credential = createAzureCredential({
      tenantId: fx.tenantId,
      clientId: fx.operator.app.appId,
      clientSecret: fx.operator.secret,
      authorityHost: fx.url,
      ca: fx.emulator.caCertPem,
      retryOptions: { maxRetries: 0 },
      redactor,
    });
    expect(credential).toBeInstanceOf(ClientSecretCredential);
    const token = await credential.getToken("https://graph.microsoft.com/.default");
    expect(fx.emulator.validateAccessToken(token!.token)).toMatchObject({ appId: fx.operator.app.appId, tenantId: fx.tenantId });
    expect(redactor.has(fx.operator.secret)).toBe(true);
  });

  it("cannot reach the emulator without its CA (the trust from http/tls.ts is what makes it trusted)", async () => {
    const before = fx.emulator.server.requests.length;
    const credential = createAzureCredential({
      tenantId: fx.tenantId,
      clientId: fx.operator.app.appId,
      clientSecret: fx.operator.secret,
      authorityHost: fx.url,
      retryOptions: { maxRetries: 0 },
    });
    const err = await credential.getToken("https://graph.microsoft.com/.default").then(
      () => undefined,
      (e: Error) => e,
    );
    outputs.push(err);
    expect(String(err)).toContain("endpoints_resolution_error");
    // The TLS handshake failed: no request reached the emulator.
    expect(fx.emulator.server.requests.length).toBe(before);
  });

  it("falls back to the managed identity when no secret is configured", () => {
    expect(createAzureCredential()).toBeInstanceOf(ManagedIdentityCredential);
    expect(createAzureCredential({ managedIdentityClientId: "5f5f5f5f-0000-4000-8000-000000000000" })).toBeInstanceOf(ManagedIdentityCredential);
  });

  it("refuses a partial client-secret configuration, naming every missing field and never the secret", () => {
    const secret = "partial-config-secret-0001";
    let err: unknown;
    try {
      createAzureCredential({ clientSecret: secret });
    } catch (e) {
      err = e;
    }
    outputs.push(err);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([expect.stringMatching(/^tenantId: required/), expect.stringMatching(/^clientId: required/)]);
    expect(String((err as Error).message)).not.toContain(secret);
    expect(() => createAzureCredential({ tenantId: fx.tenantId, clientId: "c", clientSecret: "s", authorityHost: "http://127.0.0.1:1" })).toThrow(
      /must be https/,
    );
  });
});
