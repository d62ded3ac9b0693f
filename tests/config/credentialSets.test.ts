import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadCredentialSets } from "../../src/config/load.js";
import { DEFAULT_AUTHORITY_HOST, DEFAULT_GRAPH_BASE_URL, DEFAULT_REDIRECT_URI, DEFAULT_SCOPES } from "../../src/config/schema.js";
import { ConfigError } from "../../src/errors.js";
import { configErrorOf, issueAt, pathOf, validCequenceSet, validManualSet, type RawJson } from "./fixtures.js";

type Set = RawJson;

interface Case {
  name: string;
  /** Breaks a valid set in place; `manual` starts from the manual-gateway set. */
  breakIt: (set: Set) => void;
  manual?: boolean;
  /** Every field path the error must list — no more, no fewer. */
  paths: string[];
  /** Text of the fix that the issue at paths[0] must contain. */
  fix: string;
}

const cases: Case[] = [
  { name: "a set without a name", breakIt: (s) => delete s.name, paths: ["sets[0].name"], fix: "is required — a short identifier such as cequence-sso" },
  { name: "a name with capitals and a space", breakIt: (s) => (s.name = "Cequence SSO"), paths: ["sets[0].name"], fix: "lowercase letters, digits or dashes" },
  { name: "a name that is a number", breakIt: (s) => (s.name = 42), paths: ["sets[0].name"], fix: "put the value in double quotes" },
  {
    name: "a tenant domain instead of a tenant ID",
    breakIt: (s) => (s.tenantId = "contoso.onmicrosoft.com"),
    paths: ["sets[0].tenantId"],
    fix: "Directory (tenant) ID",
  },
  {
    name: "the all-zero placeholder tenant ID",
    breakIt: (s) => (s.tenantId = "00000000-0000-0000-0000-000000000000"),
    paths: ["sets[0].tenantId"],
    fix: "put your Directory (tenant) ID here",
  },
  { name: "a set without a client ID", breakIt: (s) => delete s.clientId, paths: ["sets[0].clientId"], fix: "Application (client) ID" },
  {
    name: "an application object ID that is not a GUID",
    breakIt: (s) => (s.applicationObjectId = "abc"),
    paths: ["sets[0].applicationObjectId"],
    fix: "Object ID",
  },
  {
    name: "an http authority host",
    breakIt: (s) => (s.authorityHost = "http://login.microsoftonline.com"),
    paths: ["sets[0].authorityHost"],
    fix: "fix the scheme",
  },
  {
    name: "an authority host with the tenant in its path",
    breakIt: (s) => (s.authorityHost = "https://login.microsoftonline.com/contoso.onmicrosoft.com"),
    paths: ["sets[0].authorityHost"],
    fix: "the tenant comes from tenantId",
  },
  {
    name: "a Graph URL that includes /v1.0",
    breakIt: (s) => (s.graphBaseUrl = "https://graph.microsoft.com/v1.0"),
    paths: ["sets[0].graphBaseUrl"],
    fix: "the client adds /v1.0 itself",
  },
  {
    name: "a US Government authority with the global Graph",
    breakIt: (s) => (s.authorityHost = "https://login.microsoftonline.us"),
    paths: ["sets[0].graphBaseUrl"],
    fix: "set graphBaseUrl to https://graph.microsoft.us or https://dod-graph.microsoft.us",
  },
  {
    name: "a China authority with the US Government Graph",
    breakIt: (s) => {
      s.authorityHost = "https://login.chinacloudapi.cn";
      s.graphBaseUrl = "https://graph.microsoft.us";
    },
    paths: ["sets[0].graphBaseUrl"],
    fix: "https://microsoftgraph.chinacloudapi.cn",
  },
  { name: "multiTenant written as a quoted string", breakIt: (s) => (s.multiTenant = "true"), paths: ["sets[0].multiTenant"], fix: "remove the quotes" },
  { name: "a set without keyVault", breakIt: (s) => delete s.keyVault, paths: ["sets[0].keyVault"], fix: '"secretName": "<secret>"' },
  {
    name: "a vault name instead of a vault URL",
    breakIt: (s) => (s.keyVault.url = "kv-mcp-sso"),
    paths: ["sets[0].keyVault.url"],
    fix: "write a full https:// URL",
  },
  {
    name: "a vault URL that points at the secret",
    breakIt: (s) => (s.keyVault.url = "https://kv-mcp-sso.vault.azure.net/secrets/cequence-sso"),
    paths: ["sets[0].keyVault.url"],
    fix: "give the vault's base URL",
  },
  {
    name: "a Key Vault secret name with an underscore",
    breakIt: (s) => (s.keyVault.secretName = "client_secret"),
    paths: ["sets[0].keyVault.secretName"],
    fix: "rename the secret",
  },
  {
    name: "a secret value pasted into keyVault",
    breakIt: (s) => (s.keyVault.secretValue = "abc~def"),
    paths: ["sets[0].keyVault.secretValue"],
    fix: "it lives in Key Vault under keyVault.secretName",
  },
  {
    name: "a client secret pasted into the set",
    breakIt: (s) => (s.clientSecret = "abc~def"),
    paths: ["sets[0].clientSecret"],
    fix: "the client secret never goes in this file",
  },
  {
    name: "a lifetime of 0 days",
    breakIt: (s) => (s.secret = { lifetimeDays: 0 }),
    paths: ["sets[0].secret.lifetimeDays"],
    fix: "the setup guide recommends 6–24 months",
  },
  {
    name: "a lifetime of 731 days",
    breakIt: (s) => (s.secret = { lifetimeDays: 731 }),
    paths: ["sets[0].secret.lifetimeDays"],
    fix: "the setup guide recommends 6–24 months",
  },
  {
    name: "a lifetime written as a quoted number",
    breakIt: (s) => (s.secret = { lifetimeDays: "365" }),
    paths: ["sets[0].secret.lifetimeDays"],
    fix: "remove the quotes",
  },
  {
    name: "a fractional lifetime",
    breakIt: (s) => (s.secret = { lifetimeDays: 90.5 }),
    paths: ["sets[0].secret.lifetimeDays"],
    fix: "must be a whole number of days",
  },
  {
    name: "a renewal window longer than the lifetime",
    breakIt: (s) => (s.secret = { lifetimeDays: 365, renewBeforeDays: 400 }),
    paths: ["sets[0].secret.renewBeforeDays"],
    fix: "raise lifetimeDays",
  },
  { name: "a renewal fraction of 1", breakIt: (s) => (s.secret = { renewAtFraction: 1 }), paths: ["sets[0].secret.renewAtFraction"], fix: "e.g. 0.2" },
  {
    name: "a negative grace period",
    breakIt: (s) => (s.secret = { gracePeriodHours: -1 }),
    paths: ["sets[0].secret.gracePeriodHours"],
    fix: "must be 0 or more",
  },
  {
    name: "a grace period over 30 days",
    breakIt: (s) => (s.secret = { gracePeriodHours: 721 }),
    paths: ["sets[0].secret.gracePeriodHours"],
    fix: "an old secret kept longer is a liability",
  },
  {
    name: "a grace period that outlasts the renewal window",
    breakIt: (s) => (s.secret = { lifetimeDays: 30, renewBeforeDays: 2, renewAtFraction: 0.05, gracePeriodHours: 72 }),
    paths: ["sets[0].secret.gracePeriodHours"],
    fix: "shorten gracePeriodHours",
  },
  {
    name: "an adoptKeyId that is not a GUID",
    breakIt: (s) => (s.secret = { adoptKeyId: "secret-1" }),
    paths: ["sets[0].secret.adoptKeyId"],
    fix: "Certificates & secrets",
  },
  { name: "a misspelt secret field", breakIt: (s) => (s.secret = { lifetime: 365 }), paths: ["sets[0].secret.lifetime"], fix: 'did you mean "lifetimeDays"?' },
  {
    name: "zero consecutive verification successes",
    breakIt: (s) => (s.verification = { consecutiveSuccesses: 0 }),
    paths: ["sets[0].verification.consecutiveSuccesses"],
    fix: "use a value from 1 to 20",
  },
  {
    name: "a verification budget over an hour",
    breakIt: (s) => (s.verification = { budgetSeconds: 7200 }),
    paths: ["sets[0].verification.budgetSeconds"],
    fix: "use a value from 1 to 3600",
  },
  {
    name: "an http redirect URI",
    breakIt: (s) => (s.redirectUri = "http://gateway.example.com/callback"),
    paths: ["sets[0].redirectUri"],
    fix: "fix the scheme",
  },
  { name: "an empty scope list", breakIt: (s) => (s.scopes = []), paths: ["sets[0].scopes"], fix: '["openid", "profile", "email", "User.Read"]' },
  { name: "scopes written as one space-separated text", breakIt: (s) => (s.scopes = "openid profile"), paths: ["sets[0].scopes"], fix: "wrap it in brackets" },
  {
    name: "two scopes in one list item",
    breakIt: (s) => (s.scopes = ["openid profile", "email"]),
    paths: ["sets[0].scopes[0]"],
    fix: 'split "openid profile" into ["openid", "profile"]',
  },
  { name: "a set without a gateway", breakIt: (s) => delete s.gateway, paths: ["sets[0].gateway"], fix: '{ "kind": "manual" }' },
  {
    name: "a misspelt gateway kind",
    breakIt: (s) => (s.gateway.kind = "cequnce"),
    paths: ["sets[0].gateway.kind"],
    fix: "use cequence, manual (no admin API)",
  },
  {
    name: "a gateway without a kind",
    breakIt: (s) => delete s.gateway.kind,
    paths: ["sets[0].gateway.kind"],
    fix: "set the gateway's kind to cequence or manual",
  },
  { name: "a cequence gateway without a base URL", breakIt: (s) => delete s.gateway.baseUrl, paths: ["sets[0].gateway.baseUrl"], fix: "give an https:// URL" },
  {
    name: "a gateway URL with credentials in it",
    breakIt: (s) => (s.gateway.baseUrl = "https://admin:pw@gw.example.com"),
    paths: ["sets[0].gateway.baseUrl"],
    fix: 'remove the "user:password@" part',
  },
  {
    name: "an empty gateway tenant",
    breakIt: (s) => (s.gateway.tenant = ""),
    paths: ["sets[0].gateway.tenant"],
    fix: "give the gateway tenant (organisation) name",
  },
  {
    name: "the gateway API token pasted instead of its secret name",
    breakIt: (s) => {
      delete s.gateway.apiTokenSecretName;
      s.gateway.apiToken = "tok";
    },
    paths: ["sets[0].gateway.apiToken", "sets[0].gateway.apiTokenSecretName"],
    fix: 'set "apiTokenSecretName" to the secret\'s name',
  },
  {
    name: "a concurrency above 64",
    breakIt: (s) => (s.gateway.maxConcurrency = 100),
    paths: ["sets[0].gateway.maxConcurrency"],
    fix: "the gateway throttles beyond that",
  },
  {
    name: "a misspelt maxConcurrency",
    breakIt: (s) => (s.gateway.maxConcurency = 8),
    paths: ["sets[0].gateway.maxConcurency"],
    fix: 'did you mean "maxConcurrency"?',
  },
  { name: "a page size of 0", breakIt: (s) => (s.gateway.pageSize = 0), paths: ["sets[0].gateway.pageSize"], fix: "use a value from 1 to 500" },
  {
    name: "a request rate of 0",
    breakIt: (s) => (s.gateway.maxRequestsPerSecond = 0),
    paths: ["sets[0].gateway.maxRequestsPerSecond"],
    fix: "fractions such as 0.5 are allowed",
  },
  {
    name: "an update path without {id}",
    breakIt: (s) => (s.gateway.paths = { update: "/mcp-servers/authentication" }),
    paths: ["sets[0].gateway.paths.update"],
    fix: "where the MCP server ID goes",
  },
  {
    name: "a list path without a leading slash",
    breakIt: (s) => (s.gateway.paths = { list: "mcp-servers" }),
    paths: ["sets[0].gateway.paths.list"],
    fix: "must start with /",
  },
  {
    name: "testConnection written as yes",
    breakIt: (s) => (s.gateway.testConnection = "yes"),
    paths: ["sets[0].gateway.testConnection"],
    fix: "write true or false without quotes",
  },
  {
    name: "the gateway token stored under the client secret's name",
    breakIt: (s) => (s.gateway.apiTokenSecretName = "cequence-sso-client-secret"),
    paths: ["sets[0].gateway.apiTokenSecretName"],
    fix: "use a separate secret",
  },
  {
    name: "a manual gateway with a base URL",
    manual: true,
    breakIt: (s) => (s.gateway.baseUrl = "https://gw.example.com"),
    paths: ["sets[0].gateway.baseUrl"],
    fix: "known fields: kind, targets",
  },
  {
    name: "a manual gateway with an empty target name",
    manual: true,
    breakIt: (s) => (s.gateway.targets = [""]),
    paths: ["sets[0].gateway.targets[0]"],
    fix: "give the MCP server's name",
  },
  {
    name: "manual targets written as one text",
    manual: true,
    breakIt: (s) => (s.gateway.targets = "hr-knowledge-mcp"),
    paths: ["sets[0].gateway.targets"],
    fix: "wrap it in brackets",
  },
  { name: "alerts written as an object", breakIt: (s) => (s.alerts = { kind: "teams" }), paths: ["sets[0].alerts"], fix: "write it as [ … ]" },
  {
    name: "an alert channel of an unknown kind",
    breakIt: (s) => (s.alerts = [{ kind: "email", urlSecretName: "x" }]),
    paths: ["sets[0].alerts[0].kind"],
    fix: "use one of teams, slack, pagerduty, opsgenie, webhook",
  },
  {
    name: "a Teams webhook URL pasted instead of its secret name",
    breakIt: (s) => (s.alerts = [{ kind: "teams", url: "https://x" }]),
    paths: ["sets[0].alerts[0].url", "sets[0].alerts[0].urlSecretName"],
    fix: 'set "urlSecretName" to the secret\'s name',
  },
  {
    name: "a severity spelt warn",
    breakIt: (s) => (s.alerts = [{ kind: "slack", urlSecretName: "slack-url", minSeverity: "warn" }]),
    paths: ["sets[0].alerts[0].minSeverity"],
    fix: 'did you mean "warning"?',
  },
  {
    name: "an http PagerDuty events URL",
    breakIt: (s) => (s.alerts = [{ kind: "pagerduty", routingKeySecretName: "pd-key", eventsUrl: "http://events.pagerduty.com/v2/enqueue" }]),
    paths: ["sets[0].alerts[0].eventsUrl"],
    fix: "fix the scheme",
  },
  {
    name: "an Opsgenie channel without its API key secret",
    breakIt: (s) => (s.alerts = [{ kind: "opsgenie" }]),
    paths: ["sets[0].alerts[0].apiKeySecretName"],
    fix: "give the name of the Key Vault secret",
  },
  {
    name: "a webhook channel without a signing key",
    breakIt: (s) => (s.alerts = [{ kind: "webhook", urlSecretName: "hook-url" }]),
    paths: ["sets[0].alerts[0].signingKeySecretName"],
    fix: "give the name of the Key Vault secret",
  },
  {
    name: "two channels with one name",
    breakIt: (s) =>
      (s.alerts = [
        { kind: "teams", name: "oncall", urlSecretName: "a-url" },
        { kind: "slack", name: "oncall", urlSecretName: "b-url" },
      ]),
    paths: ["sets[0].alerts[1].name"],
    fix: "give every channel of a set a unique name",
  },
  {
    name: "a channel secret that is the client secret's pending companion",
    breakIt: (s) => (s.alerts = [{ kind: "slack", urlSecretName: "cequence-sso-client-secret-pending" }]),
    paths: ["sets[0].alerts[0].urlSecretName"],
    fix: "store the channel's value in a separate secret",
  },
  {
    name: "an alert channel written as a text",
    breakIt: (s) => (s.alerts = ["teams"]),
    paths: ["sets[0].alerts[0]"],
    fix: '{ "kind": "teams", "urlSecretName": "teams-webhook-url" }',
  },
];

function load(sets: unknown[]) {
  return loadCredentialSets({ json: JSON.stringify({ sets }) });
}

describe("credential-set validation: each malformed set is reported at its exact field with its fix", () => {
  it("covers at least 35 malformed configurations", () => {
    expect(cases.length).toBeGreaterThanOrEqual(35);
  });

  it.each(cases)("refuses $name", ({ breakIt, manual, paths, fix }) => {
    const set = manual ? validManualSet() : validCequenceSet();
    breakIt(set);
    const err = configErrorOf(() => load([set]));
    expect(err.code).toBe("CONFIG_INVALID");
    expect([...new Set(err.issues.map(pathOf))].sort()).toEqual([...paths].sort());
    const issue = issueAt(err, paths[0]!);
    expect(issue).toContain(fix);
    // Every line reads "path: what is wrong — how to fix it".
    for (const line of err.issues) expect(line).toMatch(/^\S+: .+ — .+/);
    expect(err.message).toContain(`  - ${issue}`);
  });
});

describe("credential-set file shape", () => {
  it.each([
    { name: "an empty list of sets", json: { sets: [] }, paths: ["sets"], fix: "must contain at least one credential set" },
    { name: "a bare list instead of { sets }", json: [validCequenceSet()], paths: ["(root)"], fix: 'wrap your list of sets as { "sets": [ … ] }' },
    { name: "an object without sets", json: {}, paths: ["sets"], fix: 'the file must look like { "sets": [ { … }, … ] }' },
    { name: "a misspelt top-level field", json: { set: [validCequenceSet()] }, paths: ["set", "sets"], fix: 'did you mean "sets"?' },
    { name: "sets written as an object", json: { sets: validCequenceSet() }, paths: ["sets"], fix: 'write "sets": [ { … }, … ]' },
  ])("refuses $name", ({ json, paths, fix }) => {
    const err = configErrorOf(() => loadCredentialSets({ json: JSON.stringify(json) }));
    expect([...new Set(err.issues.map(pathOf))].sort()).toEqual([...paths].sort());
    expect(issueAt(err, paths[0]!)).toContain(fix);
  });

  it("refuses two sets with the same name, naming the second", () => {
    const other = validManualSet();
    other.name = "cequence-sso";
    const err = configErrorOf(() => load([validCequenceSet(), other]));
    expect(err.issues).toEqual(['sets[1].name: duplicates sets[0].name ("cequence-sso") — give every set a unique name']);
  });

  it("refuses two sets for the same app registration", () => {
    const other = validManualSet();
    other.clientId = validCequenceSet().clientId.toUpperCase();
    const err = configErrorOf(() => load([validCequenceSet(), other]));
    expect(err.issues.map(pathOf)).toEqual(["sets[1].clientId"]);
    expect(err.issues[0]).toContain("merge them into one set");
  });

  it("refuses two sets that share one Key Vault secret", () => {
    const other = validManualSet();
    other.keyVault = { url: "https://kv-mcp-sso.vault.azure.net/", secretName: "cequence-sso-client-secret" };
    const err = configErrorOf(() => load([validCequenceSet(), other]));
    expect(err.issues.map(pathOf)).toEqual(["sets[1].keyVault.secretName"]);
    expect(err.issues[0]).toContain("each set needs its own secret");
  });

  it.each([
    ["its client secret", (b: Set) => (b.keyVault.secretName = "cequence-sso-client-secret"), "sets[1].keyVault.secretName"],
    ["its -pending companion as a client secret", (b: Set) => (b.keyVault.secretName = "cequence-sso-client-secret-pending"), "sets[1].keyVault.secretName"],
    [
      "its client secret as a gateway token",
      (b: Set) => (b.gateway = { ...validCequenceSet().gateway, apiTokenSecretName: "Cequence-SSO-Client-Secret" }),
      "sets[1].gateway.apiTokenSecretName",
    ],
    [
      "its -pending companion as a channel key",
      (b: Set) => (b.alerts = [{ kind: "slack", urlSecretName: "cequence-sso-client-secret-pending" }]),
      "sets[1].alerts[0].urlSecretName",
    ],
    [
      "its gateway token as a channel URL",
      (b: Set) => (b.alerts = [{ kind: "webhook", urlSecretName: "cequence-gateway-api-token", signingKeySecretName: "wh-key" }]),
      "sets[1].alerts[0].urlSecretName",
    ],
  ])("cross-set Key Vault clashes: refuses a set naming another set's %s, after normalising the vault URL", (_what, clash, path) => {
    const other = validManualSet();
    // The same vault written differently: case, default port, trailing dot and slash.
    other.keyVault = { url: "https://KV-MCP-SSO.vault.azure.net.:443/", secretName: "legacy-sso-client-secret" };
    clash(other);
    const err = configErrorOf(() => load([validCequenceSet(), other]));
    expect(err.issues.map(pathOf)).toEqual([path]);
    expect(err.issues[0]).toMatch(/sets\[0\]/);
  });

  it("cross-set Key Vault clashes: allows two sets to share one read-only channel secret", () => {
    const other = validManualSet();
    other.alerts = [{ kind: "teams", urlSecretName: "alert-teams-url" }];
    expect(load([validCequenceSet(), other])).toHaveLength(2);
  });

  it("still reports a duplicate name when another set has a non-integer field", () => {
    const dup = validManualSet();
    dup.name = "cequence-sso";
    const broken = validManualSet();
    broken.name = "third";
    broken.clientId = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
    broken.keyVault.secretName = "third-secret";
    broken.verification = { intervalMs: 1.5 };
    const err = configErrorOf(() => load([validCequenceSet(), dup, broken]));
    expect(err.issues.map(pathOf).sort()).toEqual(["sets[1].name", "sets[2].verification.intervalMs"]);
  });
});

describe("several problems at once", () => {
  it("lists every bad field of every set in one ConfigError", () => {
    const a = validCequenceSet();
    a.secret = { lifetimeDays: 1000 };
    a.gateway.maxConcurrency = 0;
    a.alerts = [{ kind: "teams", url: "https://example.invalid/hook" }];
    const b = validManualSet();
    b.tenantId = "not-a-guid";
    b.name = "cequence-sso";
    b.scopes = [];

    const err = configErrorOf(() => loadCredentialSets({ json: JSON.stringify({ sets: [a, b], version: 2 }) }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues.map(pathOf).sort()).toEqual(
      [
        "sets[0].secret.lifetimeDays",
        "sets[0].gateway.maxConcurrency",
        "sets[0].alerts[0].url",
        "sets[0].alerts[0].urlSecretName",
        "sets[1].tenantId",
        "sets[1].scopes",
        "sets[1].name",
        "version",
      ].sort(),
    );
    expect(err.message).toContain("CREDENTIAL_SETS_JSON is invalid (8 problems)");
    for (const issue of err.issues) expect(err.message).toContain(issue);
    expect(err.hint).toContain("Nothing was written");
  });
});

describe("accepted configurations", () => {
  it("applies every default to a minimal set", () => {
    const [set] = load([
      {
        name: "minimal",
        tenantId: "3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c",
        clientId: "7c2e9b4a-1f3d-4a6e-8b5c-2d4f6a8b0c1e",
        keyVault: { url: "https://kv.vault.azure.net", secretName: "minimal-secret" },
        gateway: { kind: "cequence", baseUrl: "https://gw.example.com", tenant: "contoso", apiTokenSecretName: "gw-token" },
        alerts: [
          { kind: "pagerduty", routingKeySecretName: "pd-key" },
          { kind: "opsgenie", apiKeySecretName: "og-key" },
        ],
      },
    ]);
    expect(set).toMatchObject({
      authorityHost: DEFAULT_AUTHORITY_HOST,
      graphBaseUrl: DEFAULT_GRAPH_BASE_URL,
      multiTenant: false,
      secret: { lifetimeDays: 365, renewBeforeDays: 30, renewAtFraction: 0.2, gracePeriodHours: 24 },
      verification: { consecutiveSuccesses: 3, budgetSeconds: 600, intervalMs: 5000, minStableSeconds: 30 },
      redirectUri: DEFAULT_REDIRECT_URI,
      scopes: [...DEFAULT_SCOPES],
      gateway: {
        paths: { list: "/mcp-servers", update: "/mcp-servers/{id}/authentication", test: "/mcp-servers/{id}/authentication/test" },
        pageSize: 100,
        maxConcurrency: 4,
        maxRequestsPerSecond: 5,
        testConnection: true,
      },
      alerts: [
        { kind: "pagerduty", minSeverity: "warning", eventsUrl: "https://events.pagerduty.com/v2/enqueue" },
        { kind: "opsgenie", minSeverity: "warning", apiUrl: "https://api.opsgenie.com" },
      ],
    });
    expect(set!.secret.adoptKeyId).toBeUndefined();
  });

  it("defaults a manual gateway's targets to an empty list and a set's alerts to none", () => {
    const manual = validManualSet();
    manual.gateway = { kind: "manual" };
    const [set] = load([manual]);
    expect(set!.gateway).toEqual({ kind: "manual", targets: [] });
    expect(set!.alerts).toEqual([]);
  });

  it("loads several sets in file order", () => {
    const sets = load([validCequenceSet(), validManualSet()]);
    expect(sets.map((s) => s.name)).toEqual(["cequence-sso", "legacy-sso"]);
    expect(sets.map((s) => s.gateway.kind)).toEqual(["cequence", "manual"]);
  });

  it.each([
    { cloud: "Azure US Government (GCC High)", authorityHost: "https://login.microsoftonline.us", graphBaseUrl: "https://graph.microsoft.us" },
    { cloud: "Azure US Government (DoD)", authorityHost: "https://login.microsoftonline.us", graphBaseUrl: "https://dod-graph.microsoft.us" },
    { cloud: "Azure China (21Vianet)", authorityHost: "https://login.chinacloudapi.cn", graphBaseUrl: "https://microsoftgraph.chinacloudapi.cn" },
    { cloud: "a custom sign-in domain", authorityHost: "https://login.standard.example", graphBaseUrl: undefined },
    { cloud: "a local emulator", authorityHost: "https://127.0.0.1:8443", graphBaseUrl: "https://127.0.0.1:8444" },
  ])("accepts the authority host of $cloud", ({ authorityHost, graphBaseUrl }) => {
    const set = validCequenceSet();
    set.authorityHost = authorityHost;
    if (graphBaseUrl !== undefined) set.graphBaseUrl = graphBaseUrl;
    const [loaded] = load([set]);
    expect(loaded!.authorityHost).toBe(authorityHost);
    expect(loaded!.graphBaseUrl).toBe(graphBaseUrl ?? DEFAULT_GRAPH_BASE_URL);
  });

  it.each([2, 180, 730])("accepts a lifetime of %i days", (lifetimeDays) => {
    const set = validCequenceSet();
    set.secret = { lifetimeDays, renewBeforeDays: 1, renewAtFraction: 0.1, gracePeriodHours: 0 };
    expect(load([set])[0]!.secret.lifetimeDays).toBe(lifetimeDays);
  });

  it.each([0, 731, -30])("refuses a lifetime of %i days with the 6–24 month recommendation", (lifetimeDays) => {
    const set = validCequenceSet();
    set.secret = { lifetimeDays };
    const err = configErrorOf(() => load([set]));
    expect(err.issues).toHaveLength(1);
    expect(issueAt(err, "sets[0].secret.lifetimeDays")).toMatch(/must be at (least 1 day|most 730 days).* — the setup guide recommends 6–24 months/);
  });
});

describe("generic wording", () => {
  // Every field of the complete example, replaced in turn by every JSON type, must produce only
  // "path: what is wrong — how to fix it" lines — never a zod default such as "Invalid input".
  const example = (
    JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../docs/examples/credential-sets.example.json"), "utf8")) as {
      sets: Set[];
    }
  ).sets[0]!;
  const replacements: unknown[] = [null, 1.5, -1, "x", true, [], {}, ["x"], [{}]];

  function fieldPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...fieldPaths(v, [...prefix, i])]);
    if (value && typeof value === "object") {
      return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...fieldPaths(v, [...prefix, k])]);
    }
    return [];
  }

  function withReplaced(set: Set, at: (string | number)[], value: unknown): Set {
    const copy = structuredClone(set);
    let node: RawJson = copy;
    for (const key of at.slice(0, -1)) node = node[key] as RawJson;
    node[at[at.length - 1]!] = value;
    return copy;
  }

  it("words every type error in every field as what is wrong and how to fix it", () => {
    const paths = fieldPaths(example);
    expect(paths.length).toBeGreaterThan(50);
    let checked = 0;
    for (const at of paths) {
      for (const value of replacements) {
        let issues: string[] = [];
        try {
          load([withReplaced(example, at, value)]);
          continue; // e.g. a number where any number is fine
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          issues = [...err.issues];
        }
        for (const line of issues) {
          checked++;
          expect(line, `replacing ${at.join(".")} with ${JSON.stringify(value)}`).toMatch(/^(sets|\(root\))\S*: .+ — .+/);
          expect(line).not.toMatch(/Invalid input|Invalid option|Too (big|small)|Unrecognized key|expected \w+, received/);
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });
});
