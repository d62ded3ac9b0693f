import { afterEach, describe, expect, it } from "vitest";
import { createAzureCredential } from "../../src/entra/credential.js";
import { systemLoopbackAlias, useConnectionCounter } from "../helpers/hostileNetwork.js";

/**
 * Issue 26, defect 5, for the managed identity: its endpoint (App Service's IDENTITY_ENDPOINT here)
 * is resolved through the outbound-address rule like every other call. ManagedIdentityCredential
 * replaces `additionalPolicies` with its own, so the guard reaches it as its HTTP client.
 * One test per file: MSAL keeps the managed-identity endpoint it detected first for the process.
 */
describe("issue 26, defect 5: the managed identity's endpoint is resolved before connecting", () => {
  const tcp = useConnectionCounter();
  const saved = { endpoint: process.env["IDENTITY_ENDPOINT"], header: process.env["IDENTITY_HEADER"] };
  afterEach(() => {
    for (const [k, v] of [
      ["IDENTITY_ENDPOINT", saved.endpoint],
      ["IDENTITY_HEADER", saved.header],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const alias = systemLoopbackAlias();
  it.runIf(alias !== undefined)(
    "host names are not resolved before connecting: an App Service identity endpoint named by a loopback alias (not localhost) gets no connection",
    async () => {
      process.env["IDENTITY_ENDPOINT"] = `http://${alias}:${tcp.port}/msi/token`;
      process.env["IDENTITY_HEADER"] = "header-from-the-platform";
      const before = tcp.connections;
      const err = await createAzureCredential({ retryOptions: { maxRetries: 0 } })
        .getToken("https://vault.azure.net/.default")
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(String(err)).toMatch(/ManagedIdentityCredential/);
      expect(tcp.connections).toBe(before);
    },
  );
});
