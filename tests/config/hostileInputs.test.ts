import { afterAll, describe, expect, it } from "vitest";
import { loadCredentialSets } from "../../src/config/load.js";
import { loadAppSettings } from "../../src/config/settings.js";
import type { ConfigError } from "../../src/errors.js";
import { configErrorOf, pathOf, validCequenceSet, type RawJson } from "./fixtures.js";

/**
 * Hostile configuration, field by field: every input must be refused "clearly" — an issue at that
 * field's path, worded `path: what is wrong — how to fix it`, repeating no more than 40 characters
 * of what was given. The counts are printed for the issue note.
 */
const BIG = "x".repeat(100_000);
const HOSTILE_URLS = [
  "http://169.254.169.254/",
  "https://169.254.169.254/",
  "https://0xa9fea9fe/",
  "https://2852039166/",
  "https://0251.0376.0251.0376/",
  "https://[fe80::1]/",
  "https://[::ffff:169.254.169.254]/",
  "https://metadata.google.internal/",
  "https://168.63.129.16/",
  "https://user:password@host.example.com",
  "https://0.0.0.0/",
  "javascript:alert(1)",
  "file:///etc/passwd",
  `https://${BIG}.example.com`,
  "",
  "https://a.example.com/x\r\nX-Injected: 1",
  "https://a.example.com\t.evil.example",
];

const setFields: Record<string, { set: (s: RawJson, v: unknown) => void; values: unknown[] }> = {
  "gateway.tenant": { set: (s, v) => (s.gateway.tenant = v), values: ["contoso\r\nX-Injected: 1", "a b", "\u0000", "", BIG, 42, null, ["contoso"]] },
  clientId: {
    set: (s, v) => (s.clientId = v),
    values: ["00000000-0000-0000-0000-000000000000", "not-a-guid", BIG, 7, null, "{7c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e}"],
  },
  tenantId: { set: (s, v) => (s.tenantId = v), values: ["00000000-0000-0000-0000-000000000000", "contoso.com", BIG, true] },
  name: { set: (s, v) => (s.name = v), values: ["UPPER", "a\r\nb", BIG, "", 1, "-leading"] },
  "gateway.baseUrl": { set: (s, v) => (s.gateway.baseUrl = v), values: HOSTILE_URLS },
  "keyVault.url": { set: (s, v) => (s.keyVault.url = v), values: HOSTILE_URLS },
  authorityHost: { set: (s, v) => (s.authorityHost = v), values: HOSTILE_URLS },
  graphBaseUrl: { set: (s, v) => (s.graphBaseUrl = v), values: HOSTILE_URLS },
  redirectUri: { set: (s, v) => (s.redirectUri = v), values: HOSTILE_URLS },
  "keyVault.secretName": { set: (s, v) => (s.keyVault.secretName = v), values: ["a_b", "../x", BIG, "", 5] },
  "gateway.apiTokenSecretName": {
    set: (s, v) => (s.gateway.apiTokenSecretName = v),
    values: ["cequence-sso-client-secret", "cequence-sso-client-secret-pending", "a b", BIG],
  },
  "gateway.pageSize": { set: (s, v) => (s.gateway.pageSize = v), values: [0, -1, 1e9, 1.5, "100"] },
  "gateway.maxRequestsPerSecond": { set: (s, v) => (s.gateway.maxRequestsPerSecond = v), values: [0, 0.001, -5, 1e9, "5"] },
};

const settingFields: Record<string, unknown[]> = {
  PUBLIC_BASE_URL: HOSTILE_URLS,
  HEARTBEAT_URL: HOSTILE_URLS,
  AZURE_AUTHORITY_HOST: [...HOSTILE_URLS, "http://127.0.0.1:8443"],
  AzureWebJobsStorage__blobServiceUri: HOSTILE_URLS,
  PROBE_TIMEOUT_MS: ["-1", "1e9", BIG, "ten"],
};

function clearAt(err: ConfigError | undefined, path: string, given: unknown): string | undefined {
  if (!err) return "accepted";
  const line = err.issues.find((i) => pathOf(i) === path);
  if (!line) return `no issue at ${path}: ${err.issues.join(" | ").slice(0, 200)}`;
  if (!/^\S+: .+ — .+/s.test(line)) return `no fix: ${line.slice(0, 200)}`;
  if (typeof given === "string" && given.length > 40) {
    for (let i = 0; i + 41 <= given.length; i += 997) if (line.includes(given.slice(i, i + 41))) return "reflects the input";
  }
  if ([...line].some((ch) => ch.charCodeAt(0) < 0x20)) return "raw control characters in the message";
  return undefined;
}

const counts: Record<string, { tried: number; refusedClearly: number }> = {};
afterAll(() => {
  const total = Object.values(counts).reduce((a, c) => ({ tried: a.tried + c.tried, refusedClearly: a.refusedClearly + c.refusedClearly }), {
    tried: 0,
    refusedClearly: 0,
  });
  console.log(`config hostile-input counts: ${JSON.stringify({ ...counts, total })}`);
});

function attempt(fn: () => unknown): ConfigError | undefined {
  try {
    fn();
    return undefined;
  } catch {
    return configErrorOf(fn);
  }
}

describe("hostile configuration, field by field", () => {
  it.each(Object.entries(setFields))("request validation: credential-set field %s refuses every hostile value clearly", (field, { set, values }) => {
    const bad: [unknown, string][] = [];
    for (const v of values) {
      const s = validCequenceSet();
      set(s, v);
      const why = clearAt(
        attempt(() => loadCredentialSets({ json: JSON.stringify({ sets: [s] }) })),
        `sets[0].${field}`,
        v,
      );
      if (why) bad.push([typeof v === "string" ? v.slice(0, 40) : v, why]);
    }
    counts[`sets[].${field}`] = { tried: values.length, refusedClearly: values.length - bad.length };
    expect(bad).toEqual([]);
  });

  it.each(Object.entries(settingFields))("request validation: app setting %s refuses every hostile value clearly", (name, values) => {
    const bad: [unknown, string][] = [];
    for (const v of values) {
      if (v === "") continue; // empty means unset for app settings
      const why = clearAt(
        attempt(() => loadAppSettings({ AzureWebJobsStorage: "UseDevelopmentStorage=true", CREDENTIAL_SETS_FILE: "x.json", [name]: v as string })),
        name,
        v,
      );
      if (why) bad.push([typeof v === "string" ? v.slice(0, 40) : v, why]);
    }
    const tried = values.filter((v) => v !== "").length;
    counts[name] = { tried, refusedClearly: tried - bad.length };
    expect(bad).toEqual([]);
  });
});
