import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { AZURE_SETTING_NAMES, LOCAL_ONLY_SETTINGS, LOCAL_SETTING_NAMES } from "../../src/config/appSettingNames.js";
import type { ArmTemplate } from "../../scripts/infra/bicep.js";
import { allTemplates, compiledTemplate, deployment, resourcesOf, resourcesOfType } from "./helpers.js";

/**
 * Properties of the deployment, read from the ARM template the Bicep CLI compiles from
 * infra/main.bicep (npm run infra:build; built here too when missing). What ARM evaluates at
 * deploy time shows up as "[expression]" strings, so tests compare expressions where they must.
 */
const REPO = path.resolve(import.meta.dirname, "../..");
let main: ArmTemplate;

beforeAll(async () => {
  main = await compiledTemplate();
}, 120_000);

// Built-in role definition IDs, from https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
const BUILT_IN_ROLES: Record<string, string> = {
  "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
};

describe("infra/ had never been compiled", () => {
  it("infra never compiled: npm run infra:build builds and lints main.bicep with zero errors and zero warnings, without public-registry modules", async () => {
    const { buildInfra } = await import("../../scripts/infra/bicep.js");
    const result = await buildInfra();
    expect(result.diagnostics.filter((d) => d.level !== "Info")).toEqual([]);
    expect(result.ok).toBe(true);
    const { readdirSync, readFileSync: read } = await import("node:fs");
    const files = ["main.bicep", ...readdirSync(path.join(REPO, "infra/app")).map((f) => `app/${f}`)];
    for (const f of files) expect(read(path.join(REPO, "infra", f), "utf8"), f).not.toMatch(/'br[/:]/);
  }, 120_000);
});

describe("app settings", () => {
  it("the Function App gets exactly the settings src/config/appSettingNames.ts marks for Azure", () => {
    const settings = deployment(main, "api").params["appSettings"] as Record<string, string>;
    expect(Object.keys(settings).sort()).toEqual([...AZURE_SETTING_NAMES].sort());
  });

  it("local.settings.example.json lists exactly the same list, plus the local-only settings", () => {
    const doc = JSON.parse(readFileSync(path.join(REPO, "local.settings.example.json"), "utf8")) as { Values: Record<string, string> };
    expect(Object.keys(doc.Values).sort()).toEqual([...LOCAL_SETTING_NAMES].sort());
    for (const name of Object.keys(LOCAL_ONLY_SETTINGS)) expect(LOCAL_SETTING_NAMES).toContain(name);
  });

  it("the site writes every setting by name from that one object, and no platform-rejected one", () => {
    const api = deployment(main, "api").template;
    const site = resourcesOfType(api, "Microsoft.Web/sites")[0]!;
    const siteConfig = site.properties!["siteConfig"] as { copy: { name: string; input: unknown }[] };
    expect(siteConfig.copy.find((c) => c.name === "appSettings")?.input).toEqual({
      name: "[items(parameters('appSettings'))[copyIndex('appSettings')].key]",
      value: "[items(parameters('appSettings'))[copyIndex('appSettings')].value]",
    });
    expect(api.parameters!["appSettings"]!.type).toBe("secureObject");
    const settings = deployment(main, "api").params["appSettings"] as Record<string, string>;
    for (const rejected of [
      "FUNCTIONS_WORKER_RUNTIME",
      "FUNCTIONS_EXTENSION_VERSION",
      "WEBSITE_NODE_DEFAULT_VERSION",
      "WEBSITE_RUN_FROM_PACKAGE",
      "AZURE_CLIENT_SECRET",
      "EXTRA_CA_FILE",
    ]) {
      expect(settings).not.toHaveProperty(rejected);
    }
    expect(settings["AZURE_FUNCTIONS_ENVIRONMENT"]).toBe("Production");
    expect(settings["AzureWebJobsStorage__credential"]).toBe("managedidentity");
  });
});

describe("schedules and deliveries come from one parameter each", () => {
  it("ROTATION_SCHEDULE, HEALTH_SCHEDULE and ROTATION_QUEUE_NAME are parameters, which the triggers read as %binding expressions%", () => {
    const settings = deployment(main, "api").params["appSettings"] as Record<string, string>;
    expect(settings["ROTATION_SCHEDULE"]).toContain("parameters('rotationSchedule')");
    expect(settings["HEALTH_SCHEDULE"]).toContain("parameters('healthSchedule')");
    expect(settings["ROTATION_QUEUE_NAME"]).toBe("[parameters('rotationQueueName')]");
    expect(deployment(main, "storage").params["rotationQueueName"]).toBe("[parameters('rotationQueueName')]");
    for (const file of ["rotationTimer", "healthTimer", "queues"]) {
      const source = readFileSync(path.join(REPO, "functions", `${file}.ts`), "utf8");
      expect(source).not.toMatch(/process\.env/);
    }
  });

  it("the host's maxDequeueCount and the worker's ROTATION_MAX_DEQUEUE are one parameter", () => {
    const settings = deployment(main, "api").params["appSettings"] as Record<string, string>;
    expect(settings["ROTATION_MAX_DEQUEUE"]).toBe("[string(parameters('rotationMaxDequeue'))]");
    // host.json cannot hold a binding expression; the documented AzureFunctionsJobHost__ override can.
    expect(settings["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"]).toBe("[string(parameters('rotationMaxDequeue'))]");
    expect(main.parameters!["rotationMaxDequeue"]).toMatchObject({ type: "int", defaultValue: 5 });
    const host = JSON.parse(readFileSync(path.join(REPO, "host.json"), "utf8")) as { extensions: { queues: { maxDequeueCount: number } } };
    expect(host.extensions.queues.maxDequeueCount).toBe(main.parameters!["rotationMaxDequeue"]!.defaultValue);
  });
});

describe("role assignments", () => {
  const expectedScope: Record<string, string[]> = {
    "Storage Blob Data Owner": ["Microsoft.Storage/storageAccounts"],
    "Storage Queue Data Contributor": ["Microsoft.Storage/storageAccounts"],
    "Storage Table Data Contributor": ["Microsoft.Storage/storageAccounts"],
    // Per secret for the app; on the vault for the deployer and the keyVaultRoleScope=vault fallback.
    "Key Vault Secrets Officer": ["Microsoft.KeyVault/vaults/secrets", "Microsoft.KeyVault/vaults"],
    "Key Vault Secrets User": ["Microsoft.KeyVault/vaults/secrets"],
    "Monitoring Metrics Publisher": ["Microsoft.Insights/components"],
  };

  it("use the exact built-in role definition IDs, each scoped to a secret, the vault, the account or the component", () => {
    const rbac = deployment(main, "rbac").template;
    const roles = rbac.variables!["roles"] as Record<string, string>;
    const assignments = resourcesOfType(rbac, "Microsoft.Authorization/roleAssignments");
    const seen = new Set<string>();
    for (const a of assignments) {
      const ref = /variables\('roles'\)\.(\w+)\)\]$/.exec(String(a.properties!["roleDefinitionId"]));
      expect(ref, `roleDefinitionId of ${String(a.name)}`).not.toBeNull();
      const id = roles[ref![1]!]!;
      const role = Object.keys(BUILT_IN_ROLES).find((r) => BUILT_IN_ROLES[r] === id);
      expect(role, `role definition ${id} is one of the built-in roles we grant`).toBeDefined();
      expect(a.properties!["roleDefinitionId"]).toMatch(/^\[subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions'/);
      // Scoped to the resource, never the resource group (no scope = the deployment's group).
      const type = /^\[resourceId\('([^']+)'/.exec(String(a.scope))?.[1];
      expect(expectedScope[role!], `scope of ${role}: ${String(a.scope)}`).toContain(type);
      seen.add(role!);
    }
    expect([...seen].sort()).toEqual(Object.keys(BUILT_IN_ROLES).sort());
  });
});

describe("Key Vault", () => {
  it("uses RBAC, soft delete and purge protection", () => {
    const vault = resourcesOfType(deployment(main, "keyvault").template, "Microsoft.KeyVault/vaults")[0]!;
    expect(vault.properties).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
      softDeleteRetentionInDays: 90,
    });
    expect(vault.properties).not.toHaveProperty("accessPolicies");
  });

  it("sends its audit log to Log Analytics", () => {
    const diag = resourcesOfType(deployment(main, "keyvault").template, "Microsoft.Insights/diagnosticSettings")[0]!;
    expect(JSON.stringify(diag.properties)).toContain('"categoryGroup":"audit"');
  });
});

describe("secrets", () => {
  const secretish = /(secret|password|token|connectionstring|json|key)(base64)?$/i;
  const namesOnly = /(Name|Id|Ids|Uri|Url|Endpoint)$/;

  it("every parameter that can carry a secret is @secure()", () => {
    for (const { module, template } of allTemplates(main)) {
      for (const [name, p] of Object.entries(template.parameters ?? {})) {
        if (!secretish.test(name) || namesOnly.test(name)) continue;
        expect(p.type, `${module}.${name}`).toMatch(/^secure(string|Object)$/);
      }
    }
    expect(main.parameters!["credentialSetsJsonBase64"]!.type).toBe("securestring");
  });

  it("no output carries a secret: no key listing, no secure parameter, no inline credential sets", () => {
    for (const { module, template } of allTemplates(main)) {
      const secure = Object.entries(template.parameters ?? {})
        .filter(([, p]) => p.type.startsWith("secure"))
        .map(([n]) => n);
      for (const [name, o] of Object.entries(template.outputs ?? {})) {
        const value = JSON.stringify(o); // value, or copy for a loop
        expect(value, `${module} output ${name}`).not.toMatch(/list(Keys|Secrets|AccountSas|ServiceSas)\(|InstrumentationKey/i);
        for (const p of secure) expect(value, `${module} output ${name}`).not.toContain(`parameters('${p}')`);
        expect(value).not.toContain("credentialSetsJson");
      }
    }
  });

  it("storage takes no shared keys, so no connection string with a key exists", () => {
    const account = resourcesOfType(deployment(main, "storage").template, "Microsoft.Storage/storageAccounts")[0]!;
    expect(account.properties).toMatchObject({ allowSharedKeyAccess: false, allowBlobPublicAccess: false, minimumTlsVersion: "TLS1_2" });
    const appi = resourcesOfType(deployment(main, "monitoring").template, "Microsoft.Insights/components")[0]!;
    expect(appi.properties).toMatchObject({ DisableLocalAuth: true });
  });
});

describe("Flex Consumption", () => {
  it("runs Node 22 on FC1 with the identity-authenticated deployment container", () => {
    const api = deployment(main, "api").template;
    expect(resourcesOfType(api, "Microsoft.Web/serverfarms")[0]!).toMatchObject({ sku: { name: "FC1", tier: "FlexConsumption" } });
    const site = resourcesOfType(api, "Microsoft.Web/sites")[0]!;
    expect(site.properties).toMatchObject({
      httpsOnly: true,
      functionAppConfig: {
        runtime: { name: "node", version: "22" },
        deployment: { storage: { type: "blobContainer", authentication: { type: "UserAssignedIdentity" } } },
      },
    });
    expect(site["kind"]).toBe("functionapp,linux");
    const policies = resourcesOfType(api, "Microsoft.Web/sites/basicPublishingCredentialsPolicies");
    expect(policies.map((p) => p.properties!["allow"])).toEqual([false, false]);
    expect(resourcesOfType(deployment(main, "storage").template, "Microsoft.Storage/storageAccounts/blobServices/containers")).toHaveLength(2);
  });
});

describe("vnetEnabled", () => {
  it("is a parameter, off by default, as in the azd Functions quickstarts", () => {
    expect(main.parameters!["vnetEnabled"]).toMatchObject({ type: "bool", defaultValue: false });
  });

  it("adds private endpoints for the vault, blobs, queues and tables, with their private DNS zones", () => {
    const network = resourcesOf(main).find((r) => r.name === "network")!;
    expect(network.condition).toBe("[parameters('vnetEnabled')]");
    const t = deployment(main, "network").template;
    const endpoints = t.variables!["endpoints"] as { groupId: string; zone: string }[];
    expect(endpoints.map((e) => e.groupId).sort()).toEqual(["blob", "queue", "table", "vault"]);
    expect(resourcesOfType(t, "Microsoft.Network/privateEndpoints")).toHaveLength(1); // one copy loop over the four
    expect(resourcesOfType(t, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")).toHaveLength(1);
    expect(JSON.stringify(t.resources)).toContain("Microsoft.App/environments");
  });

  it("turns public network access off on Key Vault and Storage, and integrates the app", () => {
    for (const module of ["keyvault", "storage"]) {
      expect(deployment(main, module).params["publicNetworkAccess"], module).toBe(
        "[if(parameters('vnetEnabled'), createObject('value', 'Disabled'), createObject('value', 'Enabled'))]",
      );
    }
    const vault = resourcesOfType(deployment(main, "keyvault").template, "Microsoft.KeyVault/vaults")[0]!;
    expect(vault.properties!["publicNetworkAccess"]).toBe("[parameters('publicNetworkAccess')]");
    const account = resourcesOfType(deployment(main, "storage").template, "Microsoft.Storage/storageAccounts")[0]!;
    expect(account.properties!["publicNetworkAccess"]).toBe("[parameters('publicNetworkAccess')]");
    expect(String(deployment(main, "api").params["virtualNetworkSubnetId"])).toMatch(/^\[if\(parameters\('vnetEnabled'\)/);
  });
});

describe("Key Vault events", () => {
  it("a system topic on the vault, the source of SecretNearExpiry", () => {
    const t = deployment(main, "keyvault-events").template;
    expect(resourcesOfType(t, "Microsoft.EventGrid/systemTopics")[0]!.properties).toMatchObject({ topicType: "Microsoft.KeyVault.vaults" });
    expect(main.outputs!["KEY_VAULT_EVENTS_TOPIC"]).toBeDefined();
  });

  it("re-provisioning after azd down stopped before deploy (KEY_VAULT_EVENTS_ENABLED=true stayed in the environment, so Bicep created the subscription before keyVaultEvents existed): no template declares an Event Grid subscription, and no parameter or azd variable gates one", () => {
    for (const { module, template } of allTemplates(main)) {
      expect(resourcesOfType(template, "Microsoft.EventGrid/systemTopics/eventSubscriptions"), module).toEqual([]);
      expect(resourcesOfType(template, "Microsoft.EventGrid/eventSubscriptions"), module).toEqual([]);
    }
    expect(Object.keys(main.parameters!).filter((p) => /event/i.test(p))).toEqual([]);
    expect(readFileSync(path.join(REPO, "infra/main.parameters.json"), "utf8")).not.toMatch(/KEY_VAULT_EVENTS/);
    // The postdeploy hook creates it instead (tests/scripts/eventSubscription.test.ts), into the topic the output names.
    expect(readFileSync(path.join(REPO, "azure.yaml"), "utf8")).toMatch(/^ {2}postdeploy:\n(?: {4}.*\n)+? {6}run: npm run --silent azd-hook -- postdeploy$/m);
  });
});

describe("Azure Monitor alert rules", () => {
  it("query the rotator's own metrics by the names src/telemetry defines", async () => {
    const { METRICS } = await import("../../src/telemetry/names.js");
    const t = deployment(main, "alerts").template;
    const rules = t.variables!["rules"] as { name: string; query: string; window: string }[];
    const used = new Set(rules.flatMap((r) => [...r.query.matchAll(/name == "([^"]+)"/g)].map((m) => m[1]!)));
    for (const name of used) expect(Object.values(METRICS)).toContain(name);
    const byName = Object.fromEntries(rules.map((r) => [r.name, r.query]));
    expect(byName["no-successful-rotation-pass"]).toContain(METRICS.rotationPasses);
    expect(byName["days-left-below-renewal-window"]).toContain(METRICS.daysUntilExpiry);
    expect(byName["days-left-below-renewal-window"]).toContain("renewal_window_days");
    expect(byName["stale-targets"]).toContain(METRICS.targetsStale);
    expect(byName["check-failing"]).toContain(METRICS.checkResults);
    // Two rotation periods: the window follows the schedule's period parameter.
    expect(rules.find((r) => r.name === "no-successful-rotation-pass")!.window).toBe("[format('PT{0}H', mul(2, parameters('rotationPeriodHours')))]");
  });
});

describe("alert windows against the timer schedules", () => {
  const HOUR = 3_600_000;
  /** Log search alerts look back at most two days. */
  const MAX_WINDOW_MS = 48 * HOUR;
  /** Time for a metric to reach Log Analytics after it is recorded (minutes, typically). */
  const INGESTION_MARGIN_MS = HOUR / 2;

  /** An ARM window: a literal ISO duration, a variable, or two rotation periods; in ms. */
  function windowMs(t: ArmTemplate, expr: string, rotationPeriodHours: number): number {
    const v = /^\[variables\('(\w+)'\)\]$/.exec(expr);
    if (v) return windowMs(t, t.variables![v[1]!] as string, rotationPeriodHours);
    const periods = /^\[format\('PT\{0\}H', mul\((\d+), parameters\('rotationPeriodHours'\)\)\)\]$/.exec(expr);
    if (periods) return Number(periods[1]) * rotationPeriodHours * HOUR;
    const iso = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(expr);
    if (!iso) throw new Error(`window ${expr}: not an expression this test can evaluate`);
    return (Number(iso[1] ?? 0) * 60 + Number(iso[2] ?? 0)) * 60_000;
  }

  /** Longest gap between two firings of an NCRONTAB schedule over 60 days. */
  async function longestGapMs(expr: string): Promise<number> {
    const { parseSchedule } = await import("../../src/schedule.js");
    const s = parseSchedule(expr);
    let at = s.next(new Date("2026-01-01T00:00:00Z"));
    let gap = 0;
    for (let i = 0; i < 2000 && at.getTime() < Date.parse("2026-03-02T00:00:00Z"); i++) {
      const next = s.next(at);
      gap = Math.max(gap, next.getTime() - at.getTime());
      at = next;
    }
    return gap;
  }

  const rulesOf = () => {
    const t = deployment(main, "alerts").template;
    return { t, rules: t.variables!["rules"] as { name: string; query: string; window: string; frequency: string }[] };
  };

  it("rotationPeriodHours covers the default ROTATION_SCHEDULE, and the rotation period never exceeds what two periods of look-back allow", async () => {
    const p = main.parameters!["rotationPeriodHours"] as { defaultValue: number; minValue: number; maxValue: number };
    expect(await longestGapMs(main.parameters!["rotationSchedule"]!.defaultValue as string)).toBeLessThanOrEqual(p.defaultValue * HOUR);
    expect(2 * p.maxValue * HOUR).toBeLessThanOrEqual(MAX_WINDOW_MS);
    expect(deployment(main, "alerts").params["rotationPeriodHours"]).toBe("[parameters('rotationPeriodHours')]");
  });

  it("days-left and stale-targets alerts flapped: a 6 h window over gauges recorded once per daily rotation pass auto-resolved ~6 h after each pass and fired again the next day; every rule over a per-pass gauge now looks back longer than a rotation period (+ ingestion), for every allowed rotationPeriodHours", async () => {
    const { METRICS } = await import("../../src/telemetry/names.js");
    const { t, rules } = rulesOf();
    const perPass = rules.filter((r) => r.query.includes(METRICS.daysUntilExpiry) || r.query.includes(METRICS.targetsStale));
    expect(perPass.map((r) => r.name).sort()).toEqual(["days-left-below-renewal-window", "stale-targets"]);
    const p = main.parameters!["rotationPeriodHours"] as { defaultValue: number; minValue: number; maxValue: number };
    const defaultGap = await longestGapMs(main.parameters!["rotationSchedule"]!.defaultValue as string);
    for (const r of perPass) {
      expect(windowMs(t, r.window, p.defaultValue), `${r.name} with the default ROTATION_SCHEDULE`).toBeGreaterThanOrEqual(defaultGap + INGESTION_MARGIN_MS);
      for (let h = p.minValue; h <= p.maxValue; h++) {
        const w = windowMs(t, r.window, h);
        expect(w, `${r.name}, rotationPeriodHours=${h}`).toBeGreaterThanOrEqual(h * HOUR + INGESTION_MARGIN_MS);
        expect(w, `${r.name}, rotationPeriodHours=${h}`).toBeLessThanOrEqual(MAX_WINDOW_MS);
        expect(w).toBeGreaterThanOrEqual(windowMs(t, r.frequency, h));
      }
    }
  });

  it("the check-failing rule looks back two HEALTH_SCHEDULE periods: one late probe does not resolve it", async () => {
    const { METRICS } = await import("../../src/telemetry/names.js");
    const { t, rules } = rulesOf();
    const rule = rules.find((r) => r.query.includes(METRICS.checkResults))!;
    const healthGap = await longestGapMs(main.parameters!["healthSchedule"]!.defaultValue as string);
    expect(windowMs(t, rule.window, 24)).toBeGreaterThanOrEqual(2 * healthGap);
  });
});

describe("what the azd Functions templates do (issue 22, item 5)", () => {
  it("maximumInstanceCount stays within Flex Consumption's documented range, 40 to 1000", () => {
    for (const t of [main, deployment(main, "api").template]) {
      expect(t.parameters!["maximumInstanceCount"]).toMatchObject({ type: "int", minValue: 40, maxValue: 1000 });
      expect(t.parameters!["maximumInstanceCount"]!.defaultValue).toBeGreaterThanOrEqual(40);
    }
  });

  it("the host keeps its diagnostic events: AzureWebJobsStorage__tableServiceUri is the account's table endpoint, with Storage Table Data Contributor on the account", () => {
    const settings = deployment(main, "api").params["appSettings"] as Record<string, string>;
    expect(settings["AzureWebJobsStorage__tableServiceUri"]).toMatch(/^\[reference\(.*'storage'.*\)\.outputs\.tableEndpoint\.value\]$/);
    expect(deployment(main, "storage").template.outputs!["tableEndpoint"]!.value).toContain("primaryEndpoints.table");
    const rbac = deployment(main, "rbac").template;
    const roles = rbac.variables!["roles"] as Record<string, string>;
    const table = resourcesOfType(rbac, "Microsoft.Authorization/roleAssignments").filter((a) =>
      String(a.properties!["roleDefinitionId"]).includes("storageTableDataContributor"),
    );
    expect(roles["storageTableDataContributor"]).toBe(BUILT_IN_ROLES["Storage Table Data Contributor"]);
    expect(table).toHaveLength(1);
    expect(table[0]!.scope).toMatch(/^\[resourceId\('Microsoft\.Storage\/storageAccounts'/);
  });

  it("sovereign clouds: every private DNS zone and the default PUBLIC_BASE_URL domain come from environment(), none is a public-cloud literal", () => {
    const endpoints = deployment(main, "network").template.variables!["endpoints"] as { groupId: string; zone: string }[];
    for (const e of endpoints) expect(e.zone, e.groupId).toMatch(/^\[format\('privatelink.*environment\(\)\.suffixes\.(storage|keyvaultDns)/);
    expect(endpoints.find((e) => e.groupId === "vault")!.zone).toBe(
      "[format('privatelink{0}', replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.'))]",
    );
    const settings = deployment(main, "api").params["appSettings"] as Record<string, string>;
    expect(settings["PUBLIC_BASE_URL"]).toContain("variables('appServiceDomain')");
    expect(main.variables!["appServiceDomain"]).toContain("environment().name");
    expect(main.variables!["appServiceDomains"]).toEqual({
      AzureCloud: "azurewebsites.net",
      AzureUSGovernment: "azurewebsites.us",
      AzureChinaCloud: "chinacloudsites.cn",
    });
    expect(JSON.stringify(resourcesOf(main)).match(/azurewebsites\.net|vaultcore\.azure\.net/g)).toBeNull();
  });
});

describe("Key Vault roles of the app (issue 22, item 6)", () => {
  const rbacAssignments = () => {
    const rbac = deployment(main, "rbac").template;
    const roles = rbac.variables!["roles"] as Record<string, string>;
    return resourcesOfType(rbac, "Microsoft.Authorization/roleAssignments").map((a) => {
      const key = /variables\('roles'\)\.(\w+)\)\]$/.exec(String(a.properties!["roleDefinitionId"]))![1]!;
      return { a, role: Object.keys(BUILT_IN_ROLES).find((r) => BUILT_IN_ROLES[r] === roles[key])!, principal: String(a.properties!["principalId"]) };
    });
  };

  it("Key Vault Secrets Officer on the whole vault let the app rewrite the gateway token and the alert-channel secrets: by default the app's Officer assignments are per rotated secret, its reads per read-only secret, and vault-wide Officer only under keyVaultRoleScope=vault", () => {
    const app = rbacAssignments().filter((x) => x.principal === "[parameters('identityPrincipalId')]");
    const onVault = app.filter((x) => /^\[resourceId\('Microsoft\.KeyVault\/vaults',/.test(String(x.a.scope)));
    expect(onVault.map((x) => [x.role, x.a.condition])).toEqual([["Key Vault Secrets Officer", "[equals(parameters('keyVaultRoleScope'), 'vault')]"]]);
    const officer = app.find((x) => x.role === "Key Vault Secrets Officer" && String(x.a.scope).startsWith("[resourceId('Microsoft.KeyVault/vaults/secrets'"))!;
    expect(officer.a.scope).toBe(
      "[resourceId('Microsoft.KeyVault/vaults/secrets', parameters('keyVaultName'), parameters('rotatedSecretNames')[copyIndex()])]",
    );
    expect(officer.a.condition).toBe("[equals(parameters('keyVaultRoleScope'), 'secret')]");
    const user = app.find((x) => x.role === "Key Vault Secrets User")!;
    expect(user.a.scope).toBe("[resourceId('Microsoft.KeyVault/vaults/secrets', parameters('keyVaultName'), parameters('readSecretNames')[copyIndex()])]");
    expect(main.parameters!["keyVaultRoleScope"]).toMatchObject({ defaultValue: "secret", allowedValues: ["secret", "vault"] });
    // The deployer still stores every secret: Officer on the vault.
    const deployer = rbacAssignments().filter((x) => x.principal === "[parameters('deployerPrincipalId')]");
    expect(deployer.map((x) => [x.role, /vaults'/.test(String(x.a.scope))])).toEqual([["Key Vault Secrets Officer", true]]);
  });

  it("the rotated names gain their -pending companion, the heartbeat secret is read-only, and a name the app writes is not also granted read", () => {
    const params = deployment(main, "rbac").params;
    expect(params["rotatedSecretNames"]).toBe("[variables('rotatedSecrets')]");
    expect(params["readSecretNames"]).toBe("[variables('readSecrets')]");
    expect(main.variables!["rotatedSecrets"]).toContain("format('{0}-pending', trim(lambdaVariables('n')))");
    expect(main.variables!["readSecrets"]).toContain("parameters('heartbeatUrlSecretName')");
    expect(main.variables!["readSecrets"]).toContain("not(contains(variables('rotatedSecrets')");
    const file = readFileSync(path.join(REPO, "infra/main.parameters.json"), "utf8");
    expect(file).toContain('"value": "${KEY_VAULT_ROTATED_SECRETS}"');
    expect(file).toContain('"value": "${KEY_VAULT_READ_SECRETS}"');
    expect(file).toContain('"value": "${KEY_VAULT_ROLE_SCOPE=secret}"');
  });
});

describe("roles for target groups reached through Resource Manager (issue 24, item 8)", () => {
  // Exactly what each adapter calls (src/gateway/<kind>/adapter.ts); docs/deployment.md says which names are inferred.
  const ACTIONS: Record<string, { role: string; actions: string[]; param: string; type: string; module: string }> = {
    "apim-named-value": {
      role: "apimNamedValue",
      param: "apimNamedValueServiceIds",
      type: "Microsoft.ApiManagement/service",
      module: "namedValueAssignments",
      actions: [
        "Microsoft.ApiManagement/service/namedValues/read",
        "Microsoft.ApiManagement/service/namedValues/write",
        "Microsoft.ApiManagement/service/namedValues/listValue/action",
        "Microsoft.ApiManagement/service/namedValues/refreshSecret/action",
        "Microsoft.ApiManagement/service/tenant/operationResults/read",
      ],
    },
    "apim-credential-manager": {
      role: "apimCredentialManager",
      param: "apimCredentialManagerServiceIds",
      type: "Microsoft.ApiManagement/service",
      module: "credentialManagerAssignments",
      actions: [
        "Microsoft.ApiManagement/service/authorizationProviders/read",
        "Microsoft.ApiManagement/service/authorizationProviders/write",
        "Microsoft.ApiManagement/service/authorizationProviders/authorizations/read",
        "Microsoft.ApiManagement/service/authorizationProviders/authorizations/write",
      ],
    },
    "appservice-keyvault-reference": {
      role: "appServiceKeyVaultReference",
      param: "appServiceSiteIds",
      type: "Microsoft.Web/sites",
      module: "appServiceAssignments",
      actions: [
        "Microsoft.Web/sites/config/read",
        "Microsoft.Web/sites/config/configreferences/appsettings/refresh/action",
        "Microsoft.Web/sites/slots/config/read",
        "Microsoft.Web/sites/slots/config/configreferences/appsettings/refresh/action",
      ],
    },
  };
  const consumerRoles = () => deployment(main, "consumerRoles");

  it("main takes the resource IDs as array parameters, empty by default, and passes them and the app's identity to consumerRoles", () => {
    const d = consumerRoles();
    for (const { param } of Object.values(ACTIONS)) {
      expect(main.parameters![param], param).toMatchObject({ type: "array", defaultValue: [] });
      expect(d.params[param]).toBe(`[parameters('${param}')]`);
    }
    expect(String(d.params["identityPrincipalId"])).toMatch(/'identity'\), '[\d-]+'\)\.outputs\.principalId\.value\]$/);
  });

  it("each kind's custom role grants exactly the actions its adapter needs, no data actions, created only when some resource is listed, assignable in the listed resources' subscriptions", () => {
    const t = consumerRoles().template;
    const actions = t.variables!["roleActions"] as Record<string, string[]>;
    const defs = resourcesOfType(t, "Microsoft.Authorization/roleDefinitions");
    expect(defs).toHaveLength(3);
    for (const [kind, want] of Object.entries(ACTIONS)) {
      expect(actions[want.role], kind).toEqual(want.actions);
      const def = defs.find((r) => JSON.stringify(r.properties).includes(`variables('roleActions').${want.role}]`))!;
      expect(def.condition, kind).toBe(`[not(empty(parameters('${want.param}')))]`);
      expect(def.properties!["type"]).toBe("CustomRole");
      expect(def.properties!["permissions"]).toEqual([
        { actions: `[variables('roleActions').${want.role}]`, notActions: [], dataActions: [], notDataActions: [] },
      ]);
      const scopes = t.variables![String(def.properties!["assignableScopes"]).match(/variables\('(\w+)'\)/)![1]!];
      expect(scopes).toBe(`[union(createArray(subscription().id), __bicep.subscriptionsOf(parameters('${want.param}')))]`);
    }
    // Nothing wider than the resource types the adapters touch.
    for (const a of Object.values(actions).flat()) expect(a).not.toMatch(/\*|\/delete$|Microsoft\.Authorization|Microsoft\.KeyVault/);
  });

  it("each listed resource gets one assignment of its kind's role to the app's identity, scoped to that service or site (never its resource group)", () => {
    const t = consumerRoles().template;
    const modules = resourcesOfType(t, "Microsoft.Resources/deployments");
    expect(modules).toHaveLength(3);
    for (const [kind, want] of Object.entries(ACTIONS)) {
      const m = modules.find((r) => (r as { copy?: { name: string } }).copy?.name === want.module)!;
      expect(m, kind).toBeDefined();
      expect((m as { copy?: { count: string } }).copy!.count).toBe(`[length(parameters('${want.param}'))]`);
      expect(m["subscriptionId"]).toBe(`[split(parameters('${want.param}')[copyIndex()], '/')[2]]`);
      expect(m["resourceGroup"]).toBe(`[split(parameters('${want.param}')[copyIndex()], '/')[4]]`);
      const params = m.properties!.parameters as Record<string, { value: string }>;
      expect(params["principalId"]!.value).toBe("[parameters('identityPrincipalId')]");
      expect(params["roleDefinitionGuid"]!.value).toBe(`[guid(subscription().id, parameters('environmentName'), '${kind}')]`);
      const [assignment, ...rest] = resourcesOfType(m.properties!.template!, "Microsoft.Authorization/roleAssignments");
      expect(rest).toEqual([]);
      expect(assignment!.scope).toMatch(new RegExp(`^\\[resourceId\\('${want.type.replace("/", "\\/")}', parameters\\('\\w+'\\)\\)\\]$`));
      expect(assignment!.properties).toMatchObject({
        roleDefinitionId: "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', parameters('roleDefinitionGuid'))]",
        principalId: "[parameters('principalId')]",
        principalType: "ServicePrincipal",
      });
    }
  });
});
