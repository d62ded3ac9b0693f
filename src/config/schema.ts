import { z } from "zod";
import { GUID_PATTERN } from "../entra/ids.js";
import { SEVERITIES } from "../severity.js";
import { closest, quoted } from "./issues.js";
import { checkOutboundUrl } from "./outbound.js";

/**
 * The credential-set file: one or many sets, each one Entra app registration shared by the MCP
 * servers of one gateway. Every message says what is wrong AND how to fix it, because it is read
 * by an operator at deploy time, not by a developer. Messages do not repeat the field name: the
 * loader prints the full path in front (`sets[0].secret.lifetimeDays: must be at most 730 — …`).
 * Wrong types, unknown fields and missing fields without a specific message here are worded by
 * the generic map in ./issues.ts.
 */
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";
export const DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com";
/** The gateway callback from the Cequence setup guide. */
export const DEFAULT_REDIRECT_URI = "https://auth.aigateway.cequence.ai/v1/outbound/oauth/callback";
export const DEFAULT_SCOPES = ["openid", "profile", "email", "User.Read"] as const;

/**
 * Entra sign-in hosts of the clouds we know, with the Microsoft Graph hosts that belong to them.
 * A set must not mix clouds: a US Government app is invisible to the global Graph and vice versa.
 */
const KNOWN_CLOUDS: readonly { name: string; authorityHosts: readonly string[]; graphHosts: readonly string[] }[] = [
  { name: "the global Azure cloud", authorityHosts: ["login.microsoftonline.com"], graphHosts: ["graph.microsoft.com"] },
  {
    name: "Azure US Government",
    authorityHosts: ["login.microsoftonline.us"],
    graphHosts: ["graph.microsoft.us", "dod-graph.microsoft.us"],
  },
  {
    name: "Azure operated by 21Vianet (China)",
    authorityHosts: ["login.chinacloudapi.cn", "login.partner.microsoftonline.cn"],
    graphHosts: ["microsoftgraph.chinacloudapi.cn"],
  },
];

type IssueLike = { code?: string; input?: unknown };

/** An `error` option that words only the "field missing" case and leaves the rest to the generic map. */
const whenMissing = (message: string) => (iss: IssueLike) => (iss.code === "invalid_type" && iss.input === undefined ? message : undefined);

const guid = (where: string) =>
  z
    .string({ error: whenMissing(`is required — copy it from ${where}`) })
    .regex(GUID_PATTERN, { error: `must be a GUID like 8f1c2a3b-0000-4000-8000-1234567890ab — copy it from ${where}` });

interface UrlRules {
  /** Plain http is accepted for a 127.0.0.1/localhost emulator only. */
  allowHttpLoopback?: boolean;
  /** The URL names a host, not a resource: no path beyond "/", no query. */
  originOnly?: string;
}

const httpsUrl = (example: string, rules: UrlRules = {}) =>
  z.string({ error: whenMissing(`is required — give an https:// URL such as ${example}`) }).superRefine((v, ctx) => {
    const problem = urlProblem(v, example, rules);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

function urlProblem(v: string, example: string, rules: UrlRules): string | undefined {
  const verdict = checkOutboundUrl(v, { example, allowHttpLoopback: rules.allowHttpLoopback ?? true });
  if (!verdict.ok) return verdict.problem;
  const u = verdict.url;
  if (rules.originOnly !== undefined && ((u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "")) {
    return `must be the host only, without "${u.pathname}${u.search}" — ${rules.originOnly}, e.g. ${example}`;
  }
  return undefined;
}

/** Key Vault secret names: the service's own limit. */
const secretName = () =>
  z.string({ error: whenMissing(`is required — give the name of the Key Vault secret that holds the value`) }).regex(/^[0-9a-zA-Z-]{1,119}$/, {
    // 127 is Key Vault's limit; we keep room for the "-pending" companion.
    error: `must be 1–119 letters, digits or dashes (Key Vault's rule, less room for "-pending") — rename the secret, e.g. gateway-api-token`,
  });

const count = (what: string, min: number, max: number, example: number) =>
  z
    .number()
    .int({ error: `must be a whole number of ${what} — e.g. ${example}` })
    .min(min, { error: `must be at least ${min} — use a value from ${min} to ${max}, e.g. ${example}` })
    .max(max, { error: `must be at most ${max} — use a value from ${min} to ${max}, e.g. ${example}` });

export const severitySchema = z.enum(SEVERITIES, {
  error: (iss) => {
    if (iss.code !== "invalid_value") return undefined;
    const guess = typeof iss.input === "string" ? closest(iss.input, SEVERITIES) : undefined;
    return `must be one of info, warning, error, critical${guess ? ` (did you mean "${guess}"?)` : ""} — pick the lowest severity this channel should receive`;
  },
});
export type { Severity } from "../severity.js";

const channelBase = {
  name: z
    .string()
    .min(1, { error: "must not be empty — give the channel a short name such as oncall-teams, or leave the field out" })
    .max(64, { error: "must be at most 64 characters — shorten it" })
    .optional(),
  minSeverity: severitySchema.default("warning"),
};

const CHANNEL_KINDS = "teams, slack, pagerduty, opsgenie, webhook";

export const alertChannelSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({ kind: z.literal("teams"), urlSecretName: secretName(), ...channelBase }),
    z.strictObject({ kind: z.literal("slack"), urlSecretName: secretName(), ...channelBase }),
    z.strictObject({
      kind: z.literal("pagerduty"),
      routingKeySecretName: secretName(),
      eventsUrl: httpsUrl("https://events.pagerduty.com/v2/enqueue").default("https://events.pagerduty.com/v2/enqueue"),
      ...channelBase,
    }),
    z.strictObject({
      kind: z.literal("opsgenie"),
      apiKeySecretName: secretName(),
      apiUrl: httpsUrl("https://api.opsgenie.com (or https://api.eu.opsgenie.com)").default("https://api.opsgenie.com"),
      ...channelBase,
    }),
    z.strictObject({
      kind: z.literal("webhook"),
      urlSecretName: secretName(),
      signingKeySecretName: secretName(),
      ...channelBase,
    }),
  ],
  {
    error: (iss: IssueLike) => {
      if (iss.code === "invalid_type") {
        return iss.input === undefined
          ? `is required — give { "kind": …, … } with kind one of ${CHANNEL_KINDS}`
          : `must be an object like { "kind": "teams", "urlSecretName": "teams-webhook-url" } — one per channel`;
      }
      if (iss.code === "invalid_union") {
        const kind = (iss.input as { kind?: unknown } | undefined)?.kind;
        return kind === undefined
          ? `is required — set the channel's kind to one of ${CHANNEL_KINDS}`
          : `${typeof kind === "string" ? quoted(kind) : "this value"} is not a channel kind — use one of ${CHANNEL_KINDS}`;
      }
      return undefined;
    },
  },
);
export type AlertChannelConfig = z.infer<typeof alertChannelSchema>;

const pathTemplate = (example: string, needsId: boolean) => {
  const base = z.string().startsWith("/", { error: `must start with / — e.g. ${example}` });
  return needsId ? base.includes("{id}", { error: `must contain {id} where the MCP server ID goes — e.g. ${example}` }) : base;
};

const gatewayPathsSchema = z.strictObject({
  list: pathTemplate("/mcp-servers", false).default("/mcp-servers"),
  update: pathTemplate("/mcp-servers/{id}/authentication", true).default("/mcp-servers/{id}/authentication"),
  test: pathTemplate("/mcp-servers/{id}/authentication/test", true).default("/mcp-servers/{id}/authentication/test"),
});

/** Targets a gateway group writes at once; `why` explains the cap where the gateway has a reason. */
const maxConcurrency = (why = "") =>
  z
    .number()
    .int({ error: "must be a whole number — e.g. 4" })
    .min(1, { error: "must be at least 1 — e.g. 4" })
    .max(64, { error: `must be at most 64 — ${why}e.g. 4` })
    .default(4);

/** Kong's settings shared by the self-hosted Admin API and Konnect. */
const kongCommon = {
  kind: z.literal("kong-openid-connect"),
  pageSize: count("plugins", 1, 1000, 100).default(100),
  maxConcurrency: maxConcurrency(),
  maxRequestsPerSecond: z.number().min(0.5, { error: "must be at least 0.5 — e.g. 10" }).max(1000, { error: "must be at most 1000 — e.g. 10" }).default(10),
};

/** A field of the other Kong API: named with the fix, rather than as an unknown field. */
const otherKongApiField = (fix: string) => z.never({ error: fix }).optional();
const KONNECT_FIELD = `is a Konnect field — add "api": "konnect" to this group (with konnectUrl, controlPlaneId and accessTokenSecretName), or remove it`;
const ADMIN_API_FIELD = `is a field of the self-hosted Kong Admin API — remove it: a "konnect" group needs konnectUrl, controlPlaneId and accessTokenSecretName`;

/** Kong workspace names (Enterprise): they go into paths (`/{workspace}/plugins`) and target IDs (`{workspace}:{plugin id}`). */
const kongWorkspace = z.string().regex(/^[A-Za-z0-9._~-]{1,64}$/, {
  error: "must be a Kong workspace name: 1–64 letters, digits, dots, dashes, underscores or tildes — e.g. default or team-sales",
});

/**
 * `kong-openid-connect` (../shared/specs/kong-openid-connect.md). `api` picks the API: the
 * self-hosted Admin API (the default, so files written before Konnect keep their meaning) or a
 * Konnect control plane (§ Konnect equivalent).
 */
const kongGatewaySchema = z.discriminatedUnion(
  "api",
  [
    z.strictObject({
      ...kongCommon,
      api: z.literal("admin-api").default("admin-api"),
      /** The Kong Admin API (self-hosted; port 8444 for HTTPS). */
      adminUrl: httpsUrl("https://kong-admin.example.com:8444"),
      /** The Key Vault secret holding the RBAC admin token; omit only when RBAC is off. */
      adminTokenSecretName: secretName().optional(),
      /** Kong's `rbac_auth_header`. */
      adminTokenHeader: z
        .string()
        .regex(/^[A-Za-z0-9-]{1,64}$/, { error: "must be an HTTP header name such as Kong-Admin-Token (letters, digits, dashes)" })
        .default("Kong-Admin-Token"),
      /** Enterprise workspaces to search (`/{workspace}/plugins`); omitted: the unprefixed paths (the default workspace). */
      workspaces: z
        .array(kongWorkspace, {
          error: (iss) => (iss.code === "invalid_type" ? `must be a list of workspace names — e.g. ["default", "team-sales"]` : undefined),
        })
        .min(1, { error: `must name at least one workspace — e.g. ["default"], or leave the field out for the default workspace` })
        .refine((ws) => new Set(ws).size === ws.length, { error: "names a workspace twice — list each workspace once" })
        .optional(),
      konnectUrl: otherKongApiField(KONNECT_FIELD),
      controlPlaneId: otherKongApiField(KONNECT_FIELD),
      accessTokenSecretName: otherKongApiField(KONNECT_FIELD),
    }),
    z.strictObject({
      ...kongCommon,
      api: z.literal("konnect"),
      /** The regional Konnect API, `https://{us|eu|au|…}.api.konghq.com/v2` (§ Konnect equivalent). */
      konnectUrl: httpsUrl("https://us.api.konghq.com/v2").refine((v) => /^https?:\/\/[^/?#]+\/v2\/?$/.test(v), {
        error: "must be the Konnect API base URL ending in /v2 — e.g. https://eu.api.konghq.com/v2 for the EU region",
      }),
      controlPlaneId: guid("Konnect: Gateway Manager → your control plane → its ID"),
      /** The Key Vault secret holding a Konnect personal access token or system-account token (sent as a Bearer token). */
      accessTokenSecretName: secretName(),
      adminUrl: otherKongApiField(ADMIN_API_FIELD),
      adminTokenSecretName: otherKongApiField(ADMIN_API_FIELD),
      adminTokenHeader: otherKongApiField(ADMIN_API_FIELD),
      workspaces: otherKongApiField(`${ADMIN_API_FIELD} (a Konnect control plane has no workspaces: name one group per control plane)`),
    }),
  ],
  {
    error: (iss: IssueLike) => {
      if (iss.code !== "invalid_union") return undefined;
      const api = (iss.input as { api?: unknown } | undefined)?.api;
      return `${typeof api === "string" ? quoted(api) : "this value"} is not a Kong API — use "admin-api" (the self-hosted Kong Admin API, the default) or "konnect" (a Kong Konnect control plane)`;
    },
  },
);

/** The field naming a group's admin API token in Key Vault, when its kind has an API to call. */
export function gatewayTokenSecretField(group: GatewayConfig): { field: string; name: string } | undefined {
  if (group.kind === "cequence") return { field: "apiTokenSecretName", name: group.apiTokenSecretName };
  if (group.kind !== "kong-openid-connect") return undefined;
  if (group.api === "konnect") return { field: "accessTokenSecretName", name: group.accessTokenSecretName };
  return group.adminTokenSecretName === undefined ? undefined : { field: "adminTokenSecretName", name: group.adminTokenSecretName };
}

/** An API Management service's resource ID, as its Properties page shows it. */
const APIM_SERVICE_ID =
  /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[-\w._()]{1,90}\/providers\/Microsoft\.ApiManagement\/service\/[a-zA-Z][a-zA-Z0-9-]{0,49}$/i;
const apimServices = () =>
  z
    .array(
      z.string().regex(APIM_SERVICE_ID, {
        error:
          "must be an API Management service resource ID like /subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.ApiManagement/service/<name> — copy it from the service's Properties page (Resource ID)",
      }),
      {
        error: whenMissing(
          'is required — list the API Management services to search, e.g. ["/subscriptions/…/providers/Microsoft.ApiManagement/service/my-apim"]',
        ),
      },
    )
    .min(1, { error: "must list at least one API Management service resource ID" });
/**
 * The fields every kind reached through Resource Manager shares: its endpoint (only for Azure Stack
 * or a proxy; the cloud is taken from authorityHost) and how many targets are written at once.
 */
const armFields = () => ({
  armEndpoint: httpsUrl("https://management.azure.com").optional(),
  maxConcurrency: z
    .number()
    .int({ error: "must be a whole number — e.g. 4" })
    .min(1, { error: "must be at least 1 — e.g. 4" })
    .max(16, { error: "must be at most 16 — Resource Manager throttles writes per subscription; e.g. 4" })
    .default(4),
});

/** An App Service or Function app (site) resource ID, or one of its deployment slots. */
const APPSERVICE_SITE_ID =
  /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[-\w._()]{1,90}\/providers\/Microsoft\.Web\/sites\/[a-zA-Z0-9][a-zA-Z0-9-]{0,59}(\/slots\/[a-zA-Z0-9][a-zA-Z0-9-]{0,59})?$/i;

export const gatewaySchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("cequence"),
      baseUrl: httpsUrl("https://api.aigateway.example.com/v1"),
      tenant: z
        .string({ error: whenMissing("is required — give the gateway tenant (organisation) name") })
        .min(1, { error: "must not be empty — give the gateway tenant (organisation) name" })
        // It travels in a header (X-Gateway-Tenant) and in paths: CR/LF would split the header.
        .regex(/^[\x21-\x7e]{1,128}$/, {
          error: "must be 1–128 printable characters without spaces, line breaks or control characters — copy the tenant name from the gateway console",
        }),
      apiTokenSecretName: secretName(),
      paths: gatewayPathsSchema.default({
        list: "/mcp-servers",
        update: "/mcp-servers/{id}/authentication",
        test: "/mcp-servers/{id}/authentication/test",
      }),
      pageSize: count("items", 1, 500, 100).default(100),
      maxConcurrency: maxConcurrency("the gateway throttles beyond that anyway; "),
      maxRequestsPerSecond: z
        .number()
        // Below one request every two seconds a listing of a few hundred servers outlasts any run.
        .min(0.5, { error: "must be at least 0.5 — e.g. 5 (fractions such as 0.5 are allowed)" })
        .max(1000, { error: "must be at most 1000 — e.g. 5" })
        .default(5),
      testConnection: z.boolean().default(true),
    }),
    kongGatewaySchema,
    z.strictObject({
      kind: z.literal("apim-named-value"),
      /** The services whose named values are searched; Key Vault-backed ones naming the set's secret are refreshed. */
      services: apimServices(),
      /**
       * Plain secret named values (by name) that hold the client secret itself: this group then
       * writes those (PATCH) and proves them by salted hash, instead of refreshing Key Vault-backed ones.
       */
      plainNamedValues: z
        .array(
          z.string().regex(/^[A-Za-z0-9-._]{1,256}$/, {
            error: "must be a named value's name (letters, digits, '-', '.', '_'; up to 256) — copy it from the service's Named values page",
          }),
        )
        .min(1, { error: "must list at least one named value, or be left out to refresh the Key Vault-backed ones — use two groups for both" })
        .optional(),
      ...armFields(),
    }),
    z.strictObject({
      kind: z.literal("apim-credential-manager"),
      /** The services whose credential providers (authorization code) and client-credentials connections hold the set's client ID. */
      services: apimServices(),
      ...armFields(),
    }),
    z.strictObject({
      kind: z.literal("appservice-keyvault-reference"),
      /** The sites and slots (a Function app is a site) whose app settings are searched for Key Vault references to the set's secret. */
      sites: z
        .array(
          z.string().regex(APPSERVICE_SITE_ID, {
            error:
              "must be an App Service or Function app resource ID like /subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.Web/sites/<name>, with /slots/<slot> for a slot — copy it from the app's Properties page (Resource ID)",
          }),
          { error: whenMissing('is required — list the sites and slots to search, e.g. ["/subscriptions/…/providers/Microsoft.Web/sites/my-func"]') },
        )
        .min(1, { error: "must list at least one site or slot resource ID" }),
      /** The vault's name as the references' VaultName= writes it; default the first label of the set's vault URL host. */
      vaultName: z
        .string()
        .regex(/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, {
          error: "must be a Key Vault name (3-24 letters, digits and '-', starting with a letter) — e.g. corp-vault",
        })
        .optional(),
      ...armFields(),
    }),
    z.strictObject({
      kind: z.literal("manual"),
      /** Names of the MCP servers an operator must update by hand; listed in the incident. */
      targets: z.array(z.string().min(1, { error: "must not be empty — give the MCP server's name as the gateway shows it" })).default([]),
    }),
  ],
  {
    error: (iss: IssueLike) => {
      if (iss.code === "invalid_type") {
        return iss.input === undefined
          ? `is required — give { "kind": "cequence", … } or { "kind": "manual" } for the gateway whose MCP servers use this app`
          : `must be an object like { "kind": "manual" } — see ${"docs/configuration.md"}`;
      }
      if (iss.code === "invalid_union") {
        const kind = (iss.input as { kind?: unknown } | undefined)?.kind;
        const shown = typeof kind === "string" ? quoted(kind) : "this value";
        return kind === undefined
          ? `is required — set the gateway's kind to cequence or manual (manual for a gateway without an admin API)`
          : `${shown} is not a target kind — use cequence, manual (no admin API), kong-openid-connect, apim-named-value, apim-credential-manager or appservice-keyvault-reference (docs/configuration.md says what each is for)`;
      }
      return undefined;
    },
  },
);
export type GatewayConfig = z.infer<typeof gatewaySchema>;

const LIFETIME_HINT = "the setup guide recommends 6–24 months (180–730 days)";

export const credentialSetSchema = z
  .strictObject({
    name: z.string({ error: whenMissing("is required — a short identifier such as cequence-sso") }).regex(/^[a-z0-9][a-z0-9-]{0,39}$/, {
      error: "must be 1–40 lowercase letters, digits or dashes, starting with a letter or digit — e.g. cequence-sso",
    }),
    tenantId: guid("the app registration's Overview page (Directory (tenant) ID)").refine((v) => v !== "00000000-0000-0000-0000-000000000000", {
      error: "is the all-zero placeholder — put your Directory (tenant) ID here, from the app registration's Overview page",
    }),
    clientId: guid("the app registration's Overview page (Application (client) ID)").refine((v) => v !== "00000000-0000-0000-0000-000000000000", {
      error: "is the all-zero placeholder — put your Application (client) ID here, from the app registration's Overview page",
    }),
    applicationObjectId: guid("the app registration's Overview page (Object ID — not the enterprise application's)").optional(),
    authorityHost: httpsUrl(DEFAULT_AUTHORITY_HOST, {
      originOnly: "the tenant comes from tenantId, so give only the sign-in host",
    }).default(DEFAULT_AUTHORITY_HOST),
    graphBaseUrl: httpsUrl(DEFAULT_GRAPH_BASE_URL, {
      originOnly: "the client adds /v1.0 itself, so give only the Graph host",
    }).default(DEFAULT_GRAPH_BASE_URL),
    /** The token/authorize URLs use `common` (multi-tenant apps); client credentials still use the tenant. */
    multiTenant: z.boolean().default(false),
    keyVault: z.strictObject(
      {
        url: httpsUrl("https://my-vault.vault.azure.net", {
          originOnly: "give the vault's base URL (the secret is named in keyVault.secretName)",
        }),
        secretName: secretName(),
      },
      {
        error: (iss) =>
          iss.code === "invalid_type"
            ? iss.input === undefined
              ? `is required — give { "url": "https://<vault>.vault.azure.net", "secretName": "<secret>" } of the vault that holds the client secret`
              : `must be an object, not a single value — write it as { "url": "https://<vault>.vault.azure.net", "secretName": "<secret>" }`
            : undefined,
      },
    ),
    secret: z
      .strictObject({
        lifetimeDays: z
          .number()
          .int({ error: `must be a whole number of days — ${LIFETIME_HINT}` })
          .min(1, { error: `must be at least 1 day — ${LIFETIME_HINT}` })
          .max(730, { error: `must be at most 730 days (Entra's 24-month limit) — ${LIFETIME_HINT}` })
          .default(365),
        renewBeforeDays: z
          .number()
          .int({ error: "must be a whole number of days — e.g. 30" })
          .min(1, { error: "must be at least 1 day — e.g. 30" })
          .default(30),
        renewAtFraction: z
          .number()
          .gt(0, { error: "must be above 0 — e.g. 0.2 renews with a fifth of the lifetime left" })
          .lt(1, { error: "must be below 1 — e.g. 0.2 renews with a fifth of the lifetime left" })
          .default(0.2),
        gracePeriodHours: z
          .number()
          .min(0, { error: "must be 0 or more — e.g. 24" })
          .max(24 * 30, { error: "must be at most 720 (30 days) — an old secret kept longer is a liability; e.g. 24" })
          .default(24),
        /** keyId of the hand-made secret to adopt when its hint and end date are ambiguous. */
        adoptKeyId: guid("the app registration's Certificates & secrets page (the secret's ID column)").optional(),
      })
      .default({ lifetimeDays: 365, renewBeforeDays: 30, renewAtFraction: 0.2, gracePeriodHours: 24 }),
    verification: z
      .strictObject({
        consecutiveSuccesses: count("successes", 1, 20, 3).default(3),
        budgetSeconds: count("seconds", 1, 3600, 600).default(600),
        intervalMs: count("milliseconds", 0, 60_000, 5000).default(5_000),
        /**
         * The successes must also span this long: while Entra replicates, one replica may accept the
         * new secret and the next refuse it, so K quick successes alone prove little (chaos found a
         * secret promoted and pushed inside such a flap).
         */
        minStableSeconds: count("seconds", 0, 3600, 30).default(30),
      })
      .default({ consecutiveSuccesses: 3, budgetSeconds: 600, intervalMs: 5_000, minStableSeconds: 30 }),
    /** Entra's own sign-in evidence (needs AuditLog.Read.All + P1/P2; optional). Defaults: src/rotation/retirementEvidence.ts. */
    signInEvidence: z
      .strictObject({
        enabled: z.boolean().optional(),
        quietPeriodHours: count("hours", 0, 24 * 30, 24).optional(),
        reportLatencyHours: count("hours", 0, 72, 4).optional(),
        monitorLookbackHours: count("hours", 1, 24 * 7, 24).optional(),
      })
      .optional(),
    redirectUri: httpsUrl(DEFAULT_REDIRECT_URI).default(DEFAULT_REDIRECT_URI),
    scopes: z
      .array(
        z
          .string()
          .min(1, { error: "must not be empty — give a scope such as openid" })
          .regex(/^\S+$/, { error: 'must be one scope per item — split "openid profile" into ["openid", "profile"]' }),
      )
      .min(1, { error: 'must not be empty — e.g. ["openid", "profile", "email", "User.Read"]' })
      .default([...DEFAULT_SCOPES]),
    /** The old form: one gateway. It becomes the set's first (only) target group. */
    gateway: gatewaySchema.optional(),
    /** Everywhere the secret lives (DESIGN.md § Target groups): one or more groups of any kind, canary first in each. */
    groups: z
      .array(gatewaySchema, {
        error: (iss) =>
          iss.code === "invalid_type" ? `must be a list of target groups — write "groups": [ { "kind": "cequence", … }, { "kind": "manual", … } ]` : undefined,
      })
      .min(1, { error: `must list at least one target group — e.g. [ { "kind": "manual", "targets": ["my-mcp-server"] } ]` })
      .optional(),
    alerts: z.array(alertChannelSchema).default([]),
  })
  .superRefine((set, ctx) => {
    // Exactly one of the two forms. Both are accepted when `gateway` is the first group: that is
    // what a parsed new-form set looks like, and sets are re-parsed after a JSON round-trip.
    if (set.gateway === undefined && set.groups === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["gateway"],
        message: `is required — give { "kind": "cequence", … } or { "kind": "manual" } for the gateway whose MCP servers use this app, or list every place the secret lives as "groups": [ { "kind": … }, … ]`,
      });
    } else if (set.gateway !== undefined && set.groups !== undefined && JSON.stringify(set.gateway) !== JSON.stringify(set.groups[0])) {
      ctx.addIssue({
        code: "custom",
        path: ["gateway"],
        message: `cannot be given with "groups" — move this gateway into "groups" as its first entry and delete "gateway"`,
      });
    }
    // Range issues do not stop refinements in zod, so only judge a policy whose fields are valid:
    // a lifetime of 0 is one problem, not three.
    if (policyFieldsValid(set.secret)) {
      const { lifetimeDays, renewBeforeDays, renewAtFraction, gracePeriodHours } = set.secret;
      const renewAt = renewAtDays(renewBeforeDays, renewAtFraction, lifetimeDays);
      if (renewAt >= lifetimeDays) {
        ctx.addIssue({
          code: "custom",
          path: ["secret", "renewBeforeDays"],
          message: `renews ${round(renewAt)} days before expiry but the lifetime is only ${lifetimeDays} days — lower renewBeforeDays/renewAtFraction or raise lifetimeDays`,
        });
      } else if (gracePeriodHours / 24 >= renewAt) {
        ctx.addIssue({
          code: "custom",
          path: ["secret", "gracePeriodHours"],
          message: `the grace period (${gracePeriodHours} h) outlasts the renewal window (${round(renewAt)} days) — shorten gracePeriodHours or raise renewBeforeDays`,
        });
      }
    }

    const cloudProblem = cloudMismatch(set.authorityHost, set.graphBaseUrl);
    if (cloudProblem) ctx.addIssue({ code: "custom", path: ["graphBaseUrl"], message: cloudProblem });

    // A channel or gateway secret stored under the client secret's name would be overwritten by
    // the first rotation (and the client secret would be sent to a webhook).
    const reserved = new Set([set.keyVault.secretName.toLowerCase(), `${set.keyVault.secretName.toLowerCase()}-pending`]);
    const clash = (name: string) => reserved.has(name.toLowerCase());
    const groups = set.groups ?? (set.gateway ? [set.gateway] : []);
    groups.forEach((group, i) => {
      const token = gatewayTokenSecretField(group);
      if (token !== undefined && clash(token.name)) {
        ctx.addIssue({
          code: "custom",
          path: [...(set.groups ? ["groups", i] : ["gateway"]), token.field],
          message: `is the client secret's own Key Vault name — the rotation would overwrite it; use a separate secret for the gateway API token`,
        });
      }
    });
    const channelNames = new Map<string, number>();
    set.alerts.forEach((ch, i) => {
      for (const [field, value] of Object.entries(ch)) {
        if (field.endsWith("SecretName") && typeof value === "string" && clash(value)) {
          ctx.addIssue({
            code: "custom",
            path: ["alerts", i, field],
            message: `is the client secret's own Key Vault name — the rotation would overwrite it; store the channel's value in a separate secret`,
          });
        }
      }
      if (ch.name !== undefined) {
        const prev = channelNames.get(ch.name);
        if (prev !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["alerts", i, "name"],
            message: `duplicates alerts[${prev}].name ("${ch.name}") — give every channel of a set a unique name`,
          });
        } else channelNames.set(ch.name, i);
      }
    });
  })
  // Every reader may keep using `gateway` (the first group); `groups` is present only when the file
  // used the new form, so check-config can tell the old form's writer how to move on.
  .transform(({ gateway, groups, ...rest }) => ({ ...rest, gateway: (groups?.[0] ?? gateway)!, ...(groups ? { groups } : {}) }));
export type CredentialSet = z.infer<typeof credentialSetSchema>;

export const credentialSetFileSchema = z
  .strictObject(
    {
      sets: z
        .array(credentialSetSchema, {
          error: (iss) =>
            iss.code === "invalid_type"
              ? iss.input === undefined
                ? `is required — the file must look like { "sets": [ { … }, … ] } (see docs/configuration.md)`
                : `must be a list of credential sets — write "sets": [ { … }, … ]`
              : undefined,
        })
        .min(1, { error: "must contain at least one credential set — see docs/configuration.md and docs/examples/credential-sets.example.json" }),
    },
    {
      error: (iss) =>
        iss.code === "invalid_type"
          ? Array.isArray(iss.input)
            ? `must be an object, not a list — wrap your list of sets as { "sets": [ … ] }`
            : `must be a JSON object like { "sets": [ … ] } — see docs/examples/credential-sets.example.json`
          : undefined,
    },
  )
  .superRefine(
    (file, ctx) => {
      const sets = (file as { sets?: unknown }).sets;
      if (!Array.isArray(sets)) return;
      for (const p of crossSetProblems(sets)) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
    },
    // Run even when some sets are invalid, so duplicates are reported with everything else.
    // (An aborting issue such as a non-integer still skips this; the loader calls
    // crossSetProblems itself in that case.)
    { when: (payload) => Array.isArray((payload.value as { sets?: unknown } | undefined)?.sets) },
  );

/**
 * Problems between sets: duplicate names, one app registration in two sets, one Key Vault secret
 * in two sets. Reads defensively: `sets` may be raw JSON or a partially parsed value.
 */
export function crossSetProblems(sets: readonly unknown[]): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const firstIndex = new Map<string, number>();
  const checkUnique = (i: number, key: string | undefined, path: (string | number)[], message: (prev: number) => string) => {
    if (key === undefined) return;
    const prev = firstIndex.get(key);
    if (prev !== undefined) out.push({ path: ["sets", i, ...path], message: message(prev) });
    else firstIndex.set(key, i);
  };
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  sets.forEach((raw, i) => {
    if (typeof raw !== "object" || raw === null) return;
    const s = raw as { name?: unknown; tenantId?: unknown; clientId?: unknown; keyVault?: { url?: unknown; secretName?: unknown } };
    const name = str(s.name);
    checkUnique(i, name === undefined ? undefined : `name:${name}`, ["name"], (p) => `duplicates sets[${p}].name ("${name}") — give every set a unique name`);
    const tenant = str(s.tenantId)?.toLowerCase();
    const client = str(s.clientId)?.toLowerCase();
    checkUnique(
      i,
      tenant && client ? `app:${tenant}/${client}` : undefined,
      ["clientId"],
      (p) => `is the same app registration as sets[${p}] — two sets rotating one app would fight over its secrets; merge them into one set`,
    );
  });
  out.push(...vaultSecretClashes(sets));
  return out;
}

/** One place a set uses a Key Vault secret. */
interface VaultSecretUse {
  set: number;
  path: (string | number)[];
  key: string;
  /** What the secret is used as, e.g. "the client secret" or "a teams channel's urlSecretName". */
  role: string;
  /** The rotation writes it (the client secret and its -pending companion). */
  written: boolean;
}

/**
 * Uses of one Key Vault secret by two sets. Refused when either use is written by a rotation (a
 * client secret or its -pending companion: set A's rotation would overwrite what B reads) or when
 * the two uses are different roles (a gateway token read as a webhook URL is sent to the webhook).
 * The same read-only role may be shared — one Teams channel for every set is common. Clashes within
 * one set are the set schema's job. Vault URLs are compared after normalising case, a default
 * port, a trailing dot and slashes.
 */
function vaultSecretClashes(sets: readonly unknown[]): { path: (string | number)[]; message: string }[] {
  const uses: VaultSecretUse[] = [];
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  sets.forEach((raw, i) => {
    if (typeof raw !== "object" || raw === null) return;
    const s = raw as { keyVault?: { url?: unknown; secretName?: unknown }; gateway?: Record<string, unknown>; alerts?: unknown };
    const vault = normaliseVaultUrl(str(s.keyVault?.url));
    if (vault === undefined) return;
    const add = (name: string | undefined, path: (string | number)[], role: string, written: boolean) => {
      if (name !== undefined) uses.push({ set: i, path, key: `${vault}/${name.toLowerCase()}`, role, written });
    };
    const secretName = str(s.keyVault?.secretName);
    add(secretName, ["keyVault", "secretName"], "the client secret", true);
    add(secretName === undefined ? undefined : `${secretName}-pending`, ["keyVault", "secretName"], "the client secret's -pending companion", true);
    if (s.gateway && typeof s.gateway === "object") add(str(s.gateway.apiTokenSecretName), ["gateway", "apiTokenSecretName"], "the gateway API token", false);
    if (Array.isArray(s.alerts)) {
      s.alerts.forEach((ch: unknown, j) => {
        if (typeof ch !== "object" || ch === null) return;
        for (const [field, value] of Object.entries(ch)) {
          const kind = str((ch as { kind?: unknown }).kind) ?? "channel";
          if (field.endsWith("SecretName")) add(str(value), ["alerts", j, field], `a ${kind} channel's ${field}`, false);
        }
      });
    }
  });
  const out: { path: (string | number)[]; message: string }[] = [];
  const first = new Map<string, VaultSecretUse>();
  const reported = new Set<string>();
  for (const use of uses) {
    const prev = first.get(use.key);
    if (prev === undefined) {
      first.set(use.key, use);
      continue;
    }
    if (prev.set === use.set || (!prev.written && !use.written && prev.role === use.role)) continue;
    // A secret and its -pending companion clash together: one problem per field is enough.
    const where = `${use.set}:${use.path.join(".")}`;
    if (reported.has(where)) continue;
    reported.add(where);
    const message =
      prev.written && use.written && use.role === "the client secret" && prev.role === "the client secret"
        ? `is the same Key Vault secret as sets[${prev.set}] — each set needs its own secret; rename one of them`
        : `names the Key Vault secret that sets[${prev.set}] uses as ${prev.role}, here as ${use.role} — ${
            prev.written || use.written ? "a rotation would overwrite it or send it where it does not belong" : "one value cannot serve both"
          }; give each use its own secret`;
    out.push({ path: ["sets", use.set, ...use.path], message });
  }
  return out;
}

/** `https://KV.vault.azure.net.:443/` and `https://kv.vault.azure.net` are one vault. */
function normaliseVaultUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url.trim());
    const host = u.hostname.toLowerCase().replace(/\.$/, "");
    const port = u.port === "" || (u.protocol === "https:" && u.port === "443") || (u.protocol === "http:" && u.port === "80") ? "" : `:${u.port}`;
    return `${u.protocol}//${host}${port}`;
  } catch {
    return url.trim().toLowerCase().replace(/\/+$/, "");
  }
}

/** Which known cloud a host belongs to, if any (custom domains and emulators belong to none). */
function cloudOf(url: string, kind: "authorityHosts" | "graphHosts"): (typeof KNOWN_CLOUDS)[number] | undefined {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  return KNOWN_CLOUDS.find((c) => c[kind].includes(host));
}

function cloudMismatch(authorityHost: string, graphBaseUrl: string): string | undefined {
  const authCloud = cloudOf(authorityHost, "authorityHosts");
  const graphCloud = cloudOf(graphBaseUrl, "graphHosts");
  if (!authCloud || !graphCloud || authCloud === graphCloud) return undefined;
  const fix = authCloud.graphHosts.map((h) => `https://${h}`).join(" or ");
  return `is the Graph of ${graphCloud.name} but authorityHost signs in to ${authCloud.name} — set graphBaseUrl to ${fix}`;
}

/**
 * The one renewal formula: a secret of `lifetimeDays` is due max(renewBeforeDays, lifetime ×
 * renewAtFraction) days before it expires. rotation/policy.ts applies it to the effective lifetime.
 */
export function renewAtDays(renewBeforeDays: number, renewAtFraction: number, lifetimeDays: number): number {
  return Math.max(renewBeforeDays, lifetimeDays * renewAtFraction);
}

function policyFieldsValid(s: { lifetimeDays: number; renewBeforeDays: number; renewAtFraction: number; gracePeriodHours: number }): boolean {
  return (
    Number.isInteger(s.lifetimeDays) &&
    s.lifetimeDays >= 1 &&
    s.lifetimeDays <= 730 &&
    Number.isInteger(s.renewBeforeDays) &&
    s.renewBeforeDays >= 1 &&
    s.renewAtFraction > 0 &&
    s.renewAtFraction < 1 &&
    s.gracePeriodHours >= 0 &&
    s.gracePeriodHours <= 720
  );
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
