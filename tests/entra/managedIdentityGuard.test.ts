import { afterEach, describe, expect, it } from "vitest";
import { createAzureCredential } from "../../src/entra/credential.js";
import { systemLoopbackAlias, useConnectionCounter } from "../helpers/hostileNetwork.js";
import { lastJson, runTsx } from "../helpers/runScript.js";

/**
 * Issue 26, defect 5, for the managed identity: its endpoint (App Service's IDENTITY_ENDPOINT here)
 * is resolved through the outbound-address rule like every other call. ManagedIdentityCredential
 * replaces `additionalPolicies` with its own, so the guard reaches it as its HTTP client.
 * MSAL keeps the managed-identity source it detected first for the process, with the HTTP client
 * of the credential that detected it, for every later ManagedIdentityCredential. So one test here
 * runs in this process; the others ask for their token in a fresh process each.
 */
const ENV_KEYS = ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "STORAGE_CLIENT_ID_UNDER_TEST"];
/** What DefaultAzureCredential's EnvironmentCredential would use before the managed identity; another file in this worker may have set them (the CLI tests export an operator's). */
const ENVIRONMENT_CREDENTIAL_KEYS = [
  "AZURE_TENANT_ID",
  "AZURE_CLIENT_ID",
  "AZURE_CLIENT_SECRET",
  "AZURE_CLIENT_CERTIFICATE_PATH",
  "AZURE_USERNAME",
  "AZURE_PASSWORD",
];

/** A fresh process asks identity-based storage's credential for a token and prints the outcome. */
const STORAGE_TOKEN_IN_A_FRESH_PROCESS = `void (async () => {
  const { createStorageCredential } = await import("./src/entra/credential.ts");
  const clientId = process.env["STORAGE_CLIENT_ID_UNDER_TEST"] || undefined;
  const outcome = await createStorageCredential({ clientId }).getToken("https://storage.azure.com/.default").then(() => "token", (e) => String(e));
  console.log(JSON.stringify({ outcome }));
})();`;

describe("issue 26, defect 5: the managed identity's endpoint is resolved before connecting", () => {
  const tcp = useConnectionCounter();
  const saved = Object.fromEntries([...ENV_KEYS, ...ENVIRONMENT_CREDENTIAL_KEYS].map((k) => [k, process.env[k]]));
  afterEach(() => {
    for (const k of [...ENV_KEYS, ...ENVIRONMENT_CREDENTIAL_KEYS]) {
      const v = saved[k];
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

  it.runIf(alias !== undefined).each([
    ["its user-assigned managed identity (AzureWebJobsStorage__clientId)", "00000000-0000-0000-0000-0000000000b1"],
    ["DefaultAzureCredential (no AzureWebJobsStorage__clientId)", ""],
  ])(
    "host names are not resolved before connecting: identity-based storage's credential, %s, gets no connection from an identity endpoint named by a loopback alias",
    async (_, clientId) => {
      process.env["IDENTITY_ENDPOINT"] = `http://${alias}:${tcp.port}/msi/token`;
      process.env["IDENTITY_HEADER"] = "header-from-the-platform";
      process.env["STORAGE_CLIENT_ID_UNDER_TEST"] = clientId;
      for (const k of ENVIRONMENT_CREDENTIAL_KEYS) delete process.env[k];
      const before = tcp.connections;
      const { stdout, stderr } = await runTsx(["-e", STORAGE_TOKEN_IN_A_FRESH_PROCESS]);
      expect(tcp.connections).toBe(before);
      expect(lastJson(stdout), stderr).toMatchObject({ outcome: expect.stringMatching(/ManagedIdentityCredential/) as unknown });
    },
  );
});
