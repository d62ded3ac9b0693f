import { describe, expect, inject, it } from "vitest";
import { APP_SETTING_DEFAULTS, describeAppSettings, loadAppSettings } from "../../src/config/settings.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { configErrorOf, issueAt, pathOf } from "./fixtures.js";

const BASE = { AzureWebJobsStorage: "UseDevelopmentStorage=true", CREDENTIAL_SETS_FILE: "credential-sets.json" };
const TENANT = "3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c";
const CLIENT = "7c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e";
const FAKE_ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5LWZvci10ZXN0cw==";
const FAKE_CLIENT_SECRET = "Xy8Q~fake.client-secret_value-0123456789";

describe("app settings: defaults", () => {
  it("applies every default to the minimum settings", () => {
    const s = loadAppSettings(BASE);
    expect(s).toEqual({
      credentialSetsSource: { file: "credential-sets.json" },
      storage: { kind: "connectionString", connectionString: "UseDevelopmentStorage=true", development: true },
      rotationSchedule: "0 0 3 * * *",
      healthSchedule: "0 */15 * * * *",
      rotationQueueName: "rotation-requests",
      rotationMaxDequeue: 5,
      storageContainer: "mcp-sso-rotator",
      alertRepeatMinutes: 240,
      alertResolveAfterProbes: 2,
      probeTimeoutInMs: 10_000,
      identity: { kind: "managedIdentity" },
      isProduction: false,
    });
    expect(APP_SETTING_DEFAULTS.ROTATION_SCHEDULE).toBe(s.rotationSchedule);
  });

  it("treats empty and blank values as unset, as Bicep and the portal write them", () => {
    const s = loadAppSettings({ ...BASE, CREDENTIAL_SETS_JSON: "", ROTATION_SCHEDULE: "  ", PUBLIC_BASE_URL: "", AZURE_CLIENT_SECRET: "" });
    expect(s.rotationSchedule).toBe("0 0 3 * * *");
    expect(s.publicBaseUrl).toBeUndefined();
    expect(s.identity.kind).toBe("managedIdentity");
  });

  it("ignores unrelated environment variables", () => {
    expect(() => loadAppSettings({ ...BASE, PATH: "/usr/bin", FUNCTIONS_WORKER_RUNTIME: "node", ROTATION: "x" })).not.toThrow();
  });

  it("parses numbers and normalises schedule spacing", () => {
    const s = loadAppSettings({
      ...BASE,
      ROTATION_MAX_DEQUEUE: "3",
      ALERT_REPEAT_MINUTES: "60",
      ALERT_RESOLVE_AFTER_PROBES: "4",
      PROBE_TIMEOUT_MS: "2500",
      ROTATION_SCHEDULE: " 0  30 2 * * Mon-Fri ",
      HEALTH_SCHEDULE: "0 */5 9-17 * Jan,Jul 1-5",
    });
    expect([s.rotationMaxDequeue, s.alertRepeatMinutes, s.alertResolveAfterProbes, s.probeTimeoutInMs]).toEqual([3, 60, 4, 2500]);
    expect(s.rotationSchedule).toBe("0 30 2 * * Mon-Fri");
    expect(s.healthSchedule).toBe("0 */5 9-17 * Jan,Jul 1-5");
  });

  it("accepts the real Azurite connection string of the test run", () => {
    const s = loadAppSettings({ ...BASE, AzureWebJobsStorage: inject("storageConnectionString") });
    expect(s.storage).toMatchObject({ kind: "connectionString", development: false });
  });
});

describe("app settings: storage and identity", () => {
  it("derives blob and queue endpoints from an identity-based account name", () => {
    const s = loadAppSettings({ CREDENTIAL_SETS_FILE: "x.json", AzureWebJobsStorage__accountName: "strotator01", AzureWebJobsStorage__clientId: CLIENT });
    expect(s.storage).toEqual({
      kind: "identity",
      blobServiceUri: "https://strotator01.blob.core.windows.net",
      queueServiceUri: "https://strotator01.queue.core.windows.net",
      clientId: CLIENT,
    });
  });

  it("accepts explicit service URIs (sovereign clouds)", () => {
    const s = loadAppSettings({
      CREDENTIAL_SETS_FILE: "x.json",
      AzureWebJobsStorage__blobServiceUri: "https://strotator01.blob.core.usgovcloudapi.net/",
      AzureWebJobsStorage__queueServiceUri: "https://strotator01.queue.core.usgovcloudapi.net",
      AzureWebJobsStorage__credential: "managedidentity",
    });
    expect(s.storage).toEqual({
      kind: "identity",
      blobServiceUri: "https://strotator01.blob.core.usgovcloudapi.net",
      queueServiceUri: "https://strotator01.queue.core.usgovcloudapi.net",
    });
  });

  it("prefers the connection string when both forms are present, like the Functions host", () => {
    const s = loadAppSettings({ ...BASE, AzureWebJobsStorage__accountName: "strotator01" });
    expect(s.storage.kind).toBe("connectionString");
  });

  it("uses a client-secret identity when AZURE_CLIENT_SECRET is set", () => {
    const s = loadAppSettings({
      ...BASE,
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: FAKE_CLIENT_SECRET,
      AZURE_AUTHORITY_HOST: "https://login.microsoftonline.us/",
    });
    expect(s.identity).toEqual({
      kind: "clientSecret",
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: FAKE_CLIENT_SECRET,
      authorityHost: "https://login.microsoftonline.us",
    });
  });

  it("uses a user-assigned managed identity when only AZURE_CLIENT_ID is set", () => {
    expect(loadAppSettings({ ...BASE, AZURE_CLIENT_ID: CLIENT }).identity).toEqual({ kind: "managedIdentity", clientId: CLIENT });
  });

  it("accepts EXTRA_CA_FILE outside Production", () => {
    const s = loadAppSettings({ ...BASE, EXTRA_CA_FILE: ".emulators/ca.pem", AZURE_FUNCTIONS_ENVIRONMENT: "Development" });
    expect(s.extraCaFile).toBe(".emulators/ca.pem");
    expect(s.isProduction).toBe(false);
  });

  it("treats an Azure instance without AZURE_FUNCTIONS_ENVIRONMENT as Production", () => {
    expect(loadAppSettings({ ...BASE, WEBSITE_INSTANCE_ID: "abc123" }).isProduction).toBe(true);
  });
});

interface SettingCase {
  name: string;
  env: Record<string, string>;
  paths: string[];
  fix: string;
}

const bad: SettingCase[] = [
  {
    name: "no credential-set source",
    env: { AzureWebJobsStorage: "UseDevelopmentStorage=true" },
    paths: ["CREDENTIAL_SETS_FILE"],
    fix: "set CREDENTIAL_SETS_FILE to the path",
  },
  {
    name: "both credential-set sources",
    env: { ...BASE, CREDENTIAL_SETS_JSON: '{"sets":[]}' },
    paths: ["CREDENTIAL_SETS_JSON"],
    fix: "keep exactly one of them",
  },
  { name: "no storage at all", env: { CREDENTIAL_SETS_FILE: "x.json" }, paths: ["AzureWebJobsStorage"], fix: "UseDevelopmentStorage=true for Azurite" },
  {
    name: "a connection string that is not Key=Value pairs",
    env: { ...BASE, AzureWebJobsStorage: "strotator01" },
    paths: ["AzureWebJobsStorage"],
    fix: "Access keys page",
  },
  {
    name: "a connection string without an account",
    env: { ...BASE, AzureWebJobsStorage: "DefaultEndpointsProtocol=https;EndpointSuffix=core.windows.net" },
    paths: ["AzureWebJobsStorage"],
    fix: "names neither AccountName nor BlobEndpoint",
  },
  {
    name: "a connection string without credentials",
    env: { ...BASE, AzureWebJobsStorage: "DefaultEndpointsProtocol=https;AccountName=strotator01" },
    paths: ["AzureWebJobsStorage"],
    fix: "neither AccountKey nor SharedAccessSignature",
  },
  {
    name: "a blob service URI without a queue service URI",
    env: { CREDENTIAL_SETS_FILE: "x.json", AzureWebJobsStorage__blobServiceUri: "https://st.blob.core.windows.net" },
    paths: ["AzureWebJobsStorage__queueServiceUri"],
    fix: "the rotation queue needs it",
  },
  {
    name: "an account name with capitals",
    env: { CREDENTIAL_SETS_FILE: "x.json", AzureWebJobsStorage__accountName: "St_Rotator" },
    paths: ["AzureWebJobsStorage__accountName"],
    fix: "3–24 lowercase letters and digits",
  },
  {
    name: "a storage credential other than managedidentity",
    env: { ...BASE, AzureWebJobsStorage__credential: "clientsecret" },
    paths: ["AzureWebJobsStorage__credential"],
    fix: "must be managedidentity",
  },
  {
    name: "a 5-field Unix cron rotation schedule",
    env: { ...BASE, ROTATION_SCHEDULE: "0 3 * * *" },
    paths: ["ROTATION_SCHEDULE"],
    fix: 'put the seconds first, e.g. "0 0 3 * * *"',
  },
  {
    name: "a 7-field Quartz schedule with a year",
    env: { ...BASE, ROTATION_SCHEDULE: "0 0 3 * * * 2030" },
    paths: ["ROTATION_SCHEDULE"],
    fix: "remove the last field",
  },
  {
    name: "a health schedule firing every 5 seconds",
    env: { ...BASE, HEALTH_SCHEDULE: "*/5 * * * * *" },
    paths: ["HEALTH_SCHEDULE"],
    fix: "use a single second such as 0",
  },
  { name: "a TimeSpan health schedule", env: { ...BASE, HEALTH_SCHEDULE: "00:15:00" }, paths: ["HEALTH_SCHEDULE"], fix: 'e.g. "0 */15 * * * *"' },
  { name: "an hour of 25", env: { ...BASE, ROTATION_SCHEDULE: "0 0 25 * * *" }, paths: ["ROTATION_SCHEDULE"], fix: 'the hour field "25" must use values 0–23' },
  { name: "Quartz ? in a schedule", env: { ...BASE, ROTATION_SCHEDULE: "0 0 3 ? * MON" }, paths: ["ROTATION_SCHEDULE"], fix: "Quartz syntax" },
  {
    name: "a backwards day-of-week range",
    env: { ...BASE, ROTATION_SCHEDULE: "0 0 3 * * Fri-Mon" },
    paths: ["ROTATION_SCHEDULE"],
    fix: "write the smaller value first",
  },
  {
    name: "a queue name with capitals and underscores",
    env: { ...BASE, ROTATION_QUEUE_NAME: "Rotation_Requests" },
    paths: ["ROTATION_QUEUE_NAME"],
    fix: "Azure Storage queue naming rules",
  },
  { name: "a two-letter container name", env: { ...BASE, STORAGE_CONTAINER: "ab" }, paths: ["STORAGE_CONTAINER"], fix: "Azure Storage container naming rules" },
  { name: "a container name with a double dash", env: { ...BASE, STORAGE_CONTAINER: "mcp--rotator" }, paths: ["STORAGE_CONTAINER"], fix: "single dashes" },
  {
    name: "a max dequeue count written in words",
    env: { ...BASE, ROTATION_MAX_DEQUEUE: "five" },
    paths: ["ROTATION_MAX_DEQUEUE"],
    fix: "set a whole number of attempts from 1 to 100",
  },
  { name: "a probe timeout with a unit", env: { ...BASE, PROBE_TIMEOUT_MS: "10s" }, paths: ["PROBE_TIMEOUT_MS"], fix: "whole number of milliseconds" },
  { name: "a fractional resolve count", env: { ...BASE, ALERT_RESOLVE_AFTER_PROBES: "1.5" }, paths: ["ALERT_RESOLVE_AFTER_PROBES"], fix: "from 1 to 20" },
  {
    name: "an alert repeat interval of 0",
    env: { ...BASE, ALERT_REPEAT_MINUTES: "0" },
    paths: ["ALERT_REPEAT_MINUTES"],
    fix: "remove the setting to use the default 240",
  },
  {
    name: "an http public base URL",
    env: { ...BASE, PUBLIC_BASE_URL: "http://rotator.example.com" },
    paths: ["PUBLIC_BASE_URL"],
    fix: "must be an https:// URL",
  },
  { name: "a heartbeat that is not a URL", env: { ...BASE, HEARTBEAT_URL: "hc-ping/abc" }, paths: ["HEARTBEAT_URL"], fix: "write a full https:// URL" },
  {
    name: "a client secret without tenant and client IDs",
    env: { ...BASE, AZURE_CLIENT_SECRET: FAKE_CLIENT_SECRET },
    paths: ["AZURE_CLIENT_ID", "AZURE_TENANT_ID"],
    fix: "remove AZURE_CLIENT_SECRET to use the managed identity",
  },
  {
    name: "a secret ID pasted instead of the secret value",
    env: { ...BASE, AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a" },
    paths: ["AZURE_CLIENT_SECRET"],
    fix: "copy the Value column",
  },
  { name: "a tenant name instead of a tenant ID", env: { ...BASE, AZURE_TENANT_ID: "contoso" }, paths: ["AZURE_TENANT_ID"], fix: "must be a GUID" },
  {
    name: "an http authority host, even on loopback",
    env: { ...BASE, AZURE_AUTHORITY_HOST: "http://127.0.0.1:8443" },
    paths: ["AZURE_AUTHORITY_HOST"],
    fix: "must be an https:// URL",
  },
  {
    name: "an authority host with a tenant path",
    env: { ...BASE, AZURE_AUTHORITY_HOST: "https://login.microsoftonline.us/contoso" },
    paths: ["AZURE_AUTHORITY_HOST"],
    fix: "must be the host only",
  },
  {
    name: "EXTRA_CA_FILE in Production",
    env: { ...BASE, EXTRA_CA_FILE: "ca.pem", AZURE_FUNCTIONS_ENVIRONMENT: "Production" },
    paths: ["EXTRA_CA_FILE"],
    fix: "for the local emulators only",
  },
  {
    name: "EXTRA_CA_FILE on an Azure instance with no environment set",
    env: { ...BASE, EXTRA_CA_FILE: "ca.pem", WEBSITE_INSTANCE_ID: "abc" },
    paths: ["EXTRA_CA_FILE"],
    fix: "Production by default on Azure",
  },
  {
    name: "an unresolved Key Vault reference",
    env: {
      ...BASE,
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/rotator/)",
    },
    paths: ["AZURE_CLIENT_SECRET"],
    fix: "Key Vault Secrets User",
  },
];

describe("app settings: each bad setting is reported by name with its fix", () => {
  it.each(bad)("refuses $name", ({ env, paths, fix }) => {
    const err = configErrorOf(() => loadAppSettings(env));
    expect(err.message).toMatch(/^app settings is invalid/);
    expect(err.issues.map(pathOf).sort()).toEqual([...paths].sort());
    expect(issueAt(err, paths[0]!)).toContain(fix);
    for (const line of err.issues) expect(line).toMatch(/^\S+: .+ — .+/);
  });

  it("lists every bad setting at once", () => {
    const err = configErrorOf(() =>
      loadAppSettings({ ROTATION_SCHEDULE: "0 3 * * *", PROBE_TIMEOUT_MS: "fast", STORAGE_CONTAINER: "A", HEARTBEAT_URL: "http://hb.example.com" }),
    );
    expect(err.issues.map(pathOf).sort()).toEqual(
      ["AzureWebJobsStorage", "CREDENTIAL_SETS_FILE", "HEARTBEAT_URL", "PROBE_TIMEOUT_MS", "ROTATION_SCHEDULE", "STORAGE_CONTAINER"].sort(),
    );
  });
});

describe("app settings: credentials in app-setting URLs", () => {
  it.each(["PUBLIC_BASE_URL", "HEARTBEAT_URL", "AzureWebJobsStorage__blobServiceUri", "AZURE_AUTHORITY_HOST"])(
    "credentials in app-setting URLs: refuses user:password@ in %s without repeating the password",
    (name) => {
      const err = configErrorOf(() => loadAppSettings({ ...BASE, [name]: "https://ops:hunter2-pass@host.example.com" }));
      expect(issueAt(err, name)).toContain('remove the "user:password@" part');
      expect(err.message).not.toContain("hunter2-pass");
    },
  );
});

describe("app settings: secrecy", () => {
  it("never repeats the account key or the client secret in errors or the settings summary", () => {
    const badStorage = `DefaultEndpointsProtocol=https;AccountKey=${FAKE_ACCOUNT_KEY}`;
    const scanner = new SecretScanner().addSecrets([FAKE_ACCOUNT_KEY, badStorage, FAKE_CLIENT_SECRET]);
    const err = configErrorOf(() =>
      loadAppSettings({ AzureWebJobsStorage: badStorage, CREDENTIAL_SETS_FILE: "x.json", AZURE_CLIENT_SECRET: FAKE_CLIENT_SECRET }),
    );
    expect(err.issues.map(pathOf).sort()).toEqual(["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AzureWebJobsStorage"]);
    scanner.collect("config error", err).collect("config error json", err.toJSON());

    const ok = loadAppSettings({
      AzureWebJobsStorage: `DefaultEndpointsProtocol=https;AccountName=strotator01;AccountKey=${FAKE_ACCOUNT_KEY}`,
      CREDENTIAL_SETS_FILE: "x.json",
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: FAKE_CLIENT_SECRET,
    });
    const summary = describeAppSettings(ok);
    expect(summary.storage).toBe("connection string for account strotator01");
    scanner.collect("settings summary", summary);
    expect(scanner.assertClean()).toBe(3);
  });
});
