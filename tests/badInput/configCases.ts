/**
 * Malformed credential-set files (`credential-sets.json`, or CREDENTIAL_SETS_JSON) as a table: each
 * case breaks one valid file in one way and names the JSON path the loader's error must point at.
 * Pure data: config.test.ts loads each through the real loader, `npm run badinput:counts` counts them.
 */
import type { RawJson } from "../config/fixtures.js";

export type { RawJson };

export interface ConfigCase {
  name: string;
  /** Breaks a valid file `{ sets: [set0, set1] }` in place (set1 is a valid second set). */
  mutate?: (file: RawJson) => void;
  /** The file's whole text instead (syntax-level cases). */
  text?: () => string;
  /** The path of the issue that must name the problem, as the loader renders it. */
  path: string | RegExp;
}

const BIG = "x".repeat(100_000);
const s0 = (f: RawJson): RawJson => f.sets[0] as RawJson;
const s1 = (f: RawJson): RawJson => f.sets[1] as RawJson;
const del = (o: RawJson, k: string) => () => void delete o[k];

const WRONG_TYPES: [string, string | RegExp, (f: RawJson) => void][] = [
  ["name as a number", "sets[0].name", (f) => (s0(f).name = 5)],
  ["tenantId as true", "sets[0].tenantId", (f) => (s0(f).tenantId = true)],
  ["clientId as a list", "sets[0].clientId", (f) => (s0(f).clientId = [s0(f).clientId])],
  ["keyVault as a string", "sets[0].keyVault", (f) => (s0(f).keyVault = "https://kv.vault.azure.net/secrets/x")],
  ["keyVault.url as a number", "sets[0].keyVault.url", (f) => (s0(f).keyVault.url = 443)],
  ["secret as a string", "sets[0].secret", (f) => (s0(f).secret = "365d")],
  ["secret.lifetimeDays as a string", "sets[0].secret.lifetimeDays", (f) => (s0(f).secret = { lifetimeDays: "365" })],
  ["secret.lifetimeDays as a duration", "sets[0].secret.lifetimeDays", (f) => (s0(f).secret = { lifetimeDays: "P1Y" })],
  ["secret.renewBeforeDays as null", "sets[0].secret.renewBeforeDays", (f) => (s0(f).secret = { renewBeforeDays: null })],
  ["secret.renewAtFraction as a percentage string", "sets[0].secret.renewAtFraction", (f) => (s0(f).secret = { renewAtFraction: "20%" })],
  ["secret.gracePeriodHours as a list", "sets[0].secret.gracePeriodHours", (f) => (s0(f).secret = { gracePeriodHours: [24] })],
  ["verification as a number", "sets[0].verification", (f) => (s0(f).verification = 3)],
  ["scopes as one string", "sets[0].scopes", (f) => (s0(f).scopes = "openid profile")],
  ["a scope as a number", "sets[0].scopes[0]", (f) => (s0(f).scopes = [1])],
  ["gateway as a string", "sets[0].gateway", (f) => (s0(f).gateway = "cequence")],
  ["gateway.maxConcurrency as a string", "sets[0].gateway.maxConcurrency", (f) => (s0(f).gateway.maxConcurrency = "4")],
  ["gateway.testConnection as yes", "sets[0].gateway.testConnection", (f) => (s0(f).gateway.testConnection = "yes")],
  ["alerts as an object", "sets[0].alerts", (f) => (s0(f).alerts = { kind: "teams" })],
  ["an alert as a string", "sets[0].alerts[0]", (f) => (s0(f).alerts = ["teams"])],
  ["multiTenant as a string", "sets[0].multiTenant", (f) => (s0(f).multiTenant = "false")],
  ["signInEvidence.enabled as a string", "sets[0].signInEvidence.enabled", (f) => (s0(f).signInEvidence = { enabled: "true" })],
  ["manual targets as a string", "sets[1].gateway.targets", (f) => (s1(f).gateway.targets = "hr-knowledge-mcp")],
];

const MISSING: [string, string | RegExp, (f: RawJson) => void][] = [
  ["name", "sets[0].name", (f) => del(s0(f), "name")()],
  ["tenantId", "sets[0].tenantId", (f) => del(s0(f), "tenantId")()],
  ["clientId", "sets[0].clientId", (f) => del(s0(f), "clientId")()],
  ["keyVault", "sets[0].keyVault", (f) => del(s0(f), "keyVault")()],
  ["keyVault.url", "sets[0].keyVault.url", (f) => del(s0(f).keyVault, "url")()],
  ["keyVault.secretName", "sets[0].keyVault.secretName", (f) => del(s0(f).keyVault, "secretName")()],
  ["gateway", "sets[0].gateway", (f) => del(s0(f), "gateway")()],
  ["gateway.kind", "sets[0].gateway.kind", (f) => del(s0(f).gateway, "kind")()],
  ["gateway.baseUrl", "sets[0].gateway.baseUrl", (f) => del(s0(f).gateway, "baseUrl")()],
  ["gateway.tenant", "sets[0].gateway.tenant", (f) => del(s0(f).gateway, "tenant")()],
  ["gateway.apiTokenSecretName", "sets[0].gateway.apiTokenSecretName", (f) => del(s0(f).gateway, "apiTokenSecretName")()],
  ["an alert's kind", "sets[0].alerts[0].kind", (f) => del(s0(f).alerts[0] as RawJson, "kind")()],
  ["an alert's urlSecretName", "sets[0].alerts[0].urlSecretName", (f) => del(s0(f).alerts[0] as RawJson, "urlSecretName")()],
  ["sets", "sets", (f) => del(f, "sets")()],
];

const UNKNOWN: [string, string | RegExp, (f: RawJson) => void][] = [
  ["a top-level typo", "set", (f) => (f.set = [])],
  ["a file version field", "version", (f) => (f.version = 2)],
  ["secrets (typo of secret)", "sets[0].secrets", (f) => (s0(f).secrets = { lifetimeDays: 180 })],
  ["gateway.base_url", "sets[0].gateway.base_url", (f) => (s0(f).gateway.base_url = "https://api.example.com")],
  ["keyVault.secretname", "sets[0].keyVault.secretname", (f) => (s0(f).keyVault.secretname = "x")],
  ["secret.lifetime", "sets[0].secret.lifetime", (f) => (s0(f).secret = { lifetime: 180 })],
  [
    "an alert's raw url instead of a Key Vault secret name",
    "sets[0].alerts[0].url",
    (f) => ((s0(f).alerts[0] as RawJson).url = "https://contoso.webhook.office.com/x"),
  ],
  ["a clientSecret in the file", "sets[0].clientSecret", (f) => (s0(f).clientSecret = "abc~DEF_not-a-real-secret-1234567890")],
  [
    "__proto__ in a set",
    "sets[0].__proto__",
    (f) => Object.defineProperty(s0(f), "__proto__", { value: { polluted: true }, enumerable: true, configurable: true, writable: true }),
  ],
  [
    "constructor in a set",
    "sets[0].constructor",
    (f) => Object.defineProperty(s0(f), "constructor", { value: { prototype: { polluted: true } }, enumerable: true, configurable: true, writable: true }),
  ],
  ["prototype in the gateway", "sets[0].gateway.prototype", (f) => (s0(f).gateway.prototype = { polluted: true })],
];

const BAD_URLS: [string, string | RegExp, (f: RawJson) => void][] = [
  ["keyVault.url over http", "sets[0].keyVault.url", (f) => (s0(f).keyVault.url = "http://kv-mcp-sso.vault.azure.net")],
  ["keyVault.url with the secret's path", "sets[0].keyVault.url", (f) => (s0(f).keyVault.url = "https://kv-mcp-sso.vault.azure.net/secrets/x")],
  ["keyVault.url with credentials", "sets[0].keyVault.url", (f) => (s0(f).keyVault.url = "https://user:pass@kv-mcp-sso.vault.azure.net")],
  ["keyVault.url not a URL", "sets[0].keyVault.url", (f) => (s0(f).keyVault.url = "kv-mcp-sso")],
  ["gateway.baseUrl javascript:", "sets[0].gateway.baseUrl", (f) => (s0(f).gateway.baseUrl = "javascript:alert(1)")],
  ["gateway.baseUrl at the metadata address", "sets[0].gateway.baseUrl", (f) => (s0(f).gateway.baseUrl = "https://169.254.169.254/metadata")],
  ["gateway.baseUrl as a hex IP", "sets[0].gateway.baseUrl", (f) => (s0(f).gateway.baseUrl = "https://0xa9fea9fe/")],
  ["authorityHost with a tenant path", "sets[0].authorityHost", (f) => (s0(f).authorityHost = "https://login.microsoftonline.com/contoso.onmicrosoft.com")],
  ["graphBaseUrl with /v1.0", "sets[0].graphBaseUrl", (f) => (s0(f).graphBaseUrl = "https://graph.microsoft.com/v1.0")],
  ["redirectUri over ftp", "sets[0].redirectUri", (f) => (s0(f).redirectUri = "ftp://auth.example.com/callback")],
  [
    "a PagerDuty eventsUrl over http",
    "sets[0].alerts[0].eventsUrl",
    (f) => (s0(f).alerts = [{ kind: "pagerduty", routingKeySecretName: "pd-key", eventsUrl: "http://events.example.com/v2/enqueue" }]),
  ],
  [
    "an Opsgenie apiUrl at link-local IPv6",
    "sets[0].alerts[0].apiUrl",
    (f) => (s0(f).alerts = [{ kind: "opsgenie", apiKeySecretName: "og-key", apiUrl: "https://[fe80::1]/" }]),
  ],
  ["a URL with a CRLF", "sets[0].gateway.baseUrl", (f) => (s0(f).gateway.baseUrl = "https://api.example.com/v1\r\nX-Injected: 1")],
  ["national cloud mismatch (US Gov sign-in, global Graph)", "sets[0].graphBaseUrl", (f) => (s0(f).authorityHost = "https://login.microsoftonline.us")],
];

const BAD_DURATIONS: [string, string | RegExp, (f: RawJson) => void][] = [
  ["lifetimeDays 0", "sets[0].secret.lifetimeDays", (f) => (s0(f).secret = { lifetimeDays: 0 })],
  ["lifetimeDays beyond Entra's 24 months", "sets[0].secret.lifetimeDays", (f) => (s0(f).secret = { lifetimeDays: 731 })],
  ["lifetimeDays 1.5", "sets[0].secret.lifetimeDays", (f) => (s0(f).secret = { lifetimeDays: 1.5 })],
  ["lifetimeDays 1e309 (Infinity once parsed)", "sets[0].secret.lifetimeDays", (f) => (s0(f).secret = { lifetimeDays: Number.POSITIVE_INFINITY })],
  ["renewBeforeDays longer than the lifetime", "sets[0].secret.renewBeforeDays", (f) => (s0(f).secret = { lifetimeDays: 30, renewBeforeDays: 45 })],
  ["gracePeriodHours over 30 days", "sets[0].secret.gracePeriodHours", (f) => (s0(f).secret = { gracePeriodHours: 721 })],
  ["gracePeriodHours negative", "sets[0].secret.gracePeriodHours", (f) => (s0(f).secret = { gracePeriodHours: -1 })],
  [
    "a grace period longer than the renewal window",
    "sets[0].secret.gracePeriodHours",
    (f) => (s0(f).secret = { lifetimeDays: 180, renewBeforeDays: 5, renewAtFraction: 0.01, gracePeriodHours: 200 }),
  ],
  ["renewAtFraction 1", "sets[0].secret.renewAtFraction", (f) => (s0(f).secret = { renewAtFraction: 1 })],
  ["verification.budgetSeconds 0", "sets[0].verification.budgetSeconds", (f) => (s0(f).verification = { budgetSeconds: 0 })],
  ["verification.intervalMs negative", "sets[0].verification.intervalMs", (f) => (s0(f).verification = { intervalMs: -1 })],
  ["signInEvidence.quietPeriodHours of a year", "sets[0].signInEvidence.quietPeriodHours", (f) => (s0(f).signInEvidence = { quietPeriodHours: 8760 })],
  ["gateway.maxRequestsPerSecond 0", "sets[0].gateway.maxRequestsPerSecond", (f) => (s0(f).gateway.maxRequestsPerSecond = 0)],
  ["gateway.pageSize 1e9", "sets[0].gateway.pageSize", (f) => (s0(f).gateway.pageSize = 1e9)],
];

const DUPLICATES: [string, string | RegExp, (f: RawJson) => void][] = [
  ["two sets with one name", "sets[1].name", (f) => (s1(f).name = s0(f).name)],
  ["one app registration in two sets", "sets[1].clientId", (f) => (s1(f).clientId = s0(f).clientId)],
  ["one Key Vault secret for two sets", "sets[1].keyVault.secretName", (f) => (s1(f).keyVault.secretName = s0(f).keyVault.secretName)],
  [
    "the same secret through a differently written vault URL",
    "sets[1].keyVault.secretName",
    (f) => ((s1(f).keyVault.url = "https://KV-MCP-SSO.vault.azure.net:443/"), (s1(f).keyVault.secretName = s0(f).keyVault.secretName)),
  ],
  [
    "the gateway token stored under the client secret's name",
    "sets[0].gateway.apiTokenSecretName",
    (f) => (s0(f).gateway.apiTokenSecretName = s0(f).keyVault.secretName),
  ],
  [
    "a channel URL stored under the -pending companion",
    "sets[0].alerts[0].urlSecretName",
    (f) => ((s0(f).alerts[0] as RawJson).urlSecretName = `${s0(f).keyVault.secretName as string}-pending`),
  ],
  [
    "two channels with one name",
    "sets[0].alerts[1].name",
    (f) =>
      (s0(f).alerts = [
        { kind: "teams", name: "oncall", urlSecretName: "t-url" },
        { kind: "slack", name: "oncall", urlSecretName: "s-url" },
      ]),
  ],
];

const HOSTILE_NAMES: [string, string | RegExp, (f: RawJson) => void][] = [
  ["a traversal as the set name", "sets[0].name", (f) => (s0(f).name = "../state")],
  ["a right-to-left override in the set name", "sets[0].name", (f) => (s0(f).name = "sso\u202Eevil")],
  ["a NUL in the set name", "sets[0].name", (f) => (s0(f).name = "sso\u0000")],
  ["a zero-width space in the set name", "sets[0].name", (f) => (s0(f).name = "sso\u200Bsso")],
  ["a lone surrogate in the set name", "sets[0].name", (f) => (s0(f).name = "sso\uD800")],
  ["a 41-character set name", "sets[0].name", (f) => (s0(f).name = "a".repeat(41))],
  ["an empty set name", "sets[0].name", (f) => (s0(f).name = "")],
  ["a Key Vault secret name with an underscore", "sets[0].keyVault.secretName", (f) => (s0(f).keyVault.secretName = "client_secret")],
  ["a Key Vault secret name with a slash", "sets[0].keyVault.secretName", (f) => (s0(f).keyVault.secretName = "x/../y")],
  ["a gateway tenant with CRLF", "sets[0].gateway.tenant", (f) => (s0(f).gateway.tenant = "contoso\r\nX-Injected: 1")],
  ["an update path without {id}", "sets[0].gateway.paths.update", (f) => (s0(f).gateway.paths = { update: "/mcp-servers/authentication" })],
  ["a list path that is a full URL", "sets[0].gateway.paths.list", (f) => (s0(f).gateway.paths = { list: "https://evil.example/mcp-servers" })],
  ["an empty manual target", "sets[1].gateway.targets[0]", (f) => (s1(f).gateway.targets = [""])],
  ["an unknown gateway kind", "sets[0].gateway.kind", (f) => (s0(f).gateway.kind = "kong")],
  ["a gateway kind of 10,000 characters", "sets[0].gateway.kind", (f) => (s0(f).gateway.kind = "k".repeat(10_000))],
  [
    "an alert kind with a line break and a right-to-left override",
    "sets[0].alerts[0].kind",
    (f) => ((s0(f).alerts[0] as RawJson).kind = "teams\nERROR forged\u202E"),
  ],
  ["an unknown alert kind", "sets[0].alerts[0].kind", (f) => ((s0(f).alerts[0] as RawJson).kind = "email")],
  ["an unknown severity", "sets[0].alerts[0].minSeverity", (f) => ((s0(f).alerts[0] as RawJson).minSeverity = "urgent")],
  ["a severity with a right-to-left override", "sets[0].alerts[0].minSeverity", (f) => ((s0(f).alerts[0] as RawJson).minSeverity = "crit\u202Eical")],
  ["a severity with a line break", "sets[0].alerts[0].minSeverity", (f) => ((s0(f).alerts[0] as RawJson).minSeverity = "warning\nERROR forged line")],
  ["an all-zero clientId", "sets[0].clientId", (f) => (s0(f).clientId = "00000000-0000-0000-0000-000000000000")],
  ["a tenant domain instead of a tenant ID", "sets[0].tenantId", (f) => (s0(f).tenantId = "contoso.onmicrosoft.com")],
  ["a scope with a space", "sets[0].scopes[0]", (f) => (s0(f).scopes = ["openid profile"])],
  ["an unknown key with a right-to-left override", /^sets\[0\]\[".*"\]$/, (f) => (s0(f)["evil\u202Ekey"] = 1)],
  ["an unknown key of 100,000 characters", /^sets\[0\]\[".*"\]$/, (f) => (s0(f)[BIG] = 1)],
];

const HUGE: [string, string | RegExp, (f: RawJson) => void][] = [
  ["a 100,000-character set name", "sets[0].name", (f) => (s0(f).name = BIG)],
  ["a 100,000-character gateway tenant", "sets[0].gateway.tenant", (f) => (s0(f).gateway.tenant = BIG)],
  ["a 100,000-character vault URL", "sets[0].keyVault.url", (f) => (s0(f).keyVault.url = `https://${BIG}.vault.azure.net`)],
  ["100,000 scopes of which one is bad", "sets[0].scopes[99999]", (f) => (s0(f).scopes = [...Array.from({ length: 99_999 }, () => "openid"), ""])],
  [
    "5,000 alert channels of which one is bad",
    "sets[0].alerts[4999].urlSecretName",
    (f) =>
      (s0(f).alerts = [
        ...Array.from({ length: 4999 }, (_, i) => ({ kind: "teams", name: `t${i}`, urlSecretName: `t-url-${i}` })),
        { kind: "teams", urlSecretName: "bad_name" },
      ]),
  ],
  ["no sets at all", "sets", (f) => (f.sets = [])],
];

const TEXT: [string, string, () => string][] = [
  ["not JSON", "CREDENTIAL_SETS_JSON", () => "sets: [ cequence-sso ]"],
  ["a trailing comma", "CREDENTIAL_SETS_JSON", () => '{ "sets": [], }'],
  ["a comment", "CREDENTIAL_SETS_JSON", () => '{ // sets\n "sets": [] }'],
  ["truncated", "CREDENTIAL_SETS_JSON", () => '{ "sets": [ { "name": "cequence-sso", '],
  ["a list at the top", "(root)", () => "[]"],
  ["null", "(root)", () => "null"],
  ["10,000 levels of nesting", "CREDENTIAL_SETS_JSON", () => `{"sets":${"[".repeat(10_000)}${"]".repeat(10_000)}}`],
  ["2 MB of padding", "CREDENTIAL_SETS_JSON", () => `{"sets":[],"pad":"${"x".repeat(2 * 1024 * 1024)}"}`],
  // Blank counts as not set: the answer names both settings.
  ["an empty text", "CREDENTIAL_SETS_FILE", () => "   "],
  ["a NUL byte", "CREDENTIAL_SETS_JSON", () => '{"sets":[]}\u0000'],
];

const groups: [string, [string, string | RegExp, (f: RawJson) => void][]][] = [
  ["wrong type", WRONG_TYPES],
  ["missing", MISSING],
  ["unknown field", UNKNOWN],
  ["bad URL", BAD_URLS],
  ["bad duration or limit", BAD_DURATIONS],
  ["duplicate", DUPLICATES],
  ["hostile name", HOSTILE_NAMES],
  ["huge value", HUGE],
];

export const CONFIG_CASES: ConfigCase[] = [
  ...groups.flatMap(([group, rows]) => rows.map(([name, path, mutate]) => ({ name: `${group}: ${name}`, path, mutate }))),
  ...TEXT.map(([name, path, text]) => ({ name: `file text: ${name}`, path, text })),
];

export const CONFIG_CASE_COUNTS: Record<string, number> = {
  ...Object.fromEntries(groups.map(([g, rows]) => [g, rows.length])),
  "file text": TEXT.length,
  total: CONFIG_CASES.length,
};
