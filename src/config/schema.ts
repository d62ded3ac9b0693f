import { z } from "zod";

/**
 * The credential-set file: one or many sets, each one Entra app registration shared by the MCP
 * servers of one gateway. Every message says what is wrong AND how to fix it, because it is read
 * by an operator at deploy time, not by a developer.
 */
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";
export const DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com";
/** The gateway callback from the Cequence setup guide. */
export const DEFAULT_REDIRECT_URI = "https://auth.aigateway.cequence.ai/v1/outbound/oauth/callback";
export const DEFAULT_SCOPES = ["openid", "profile", "email", "User.Read"] as const;

const guid = (what: string) =>
  z
    .string({ error: `${what} is required — copy it from the app registration's Overview page` })
    .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
      error: `${what} must be a GUID like 00000000-0000-0000-0000-000000000000 — copy it from the app registration's Overview page`,
    });

const httpsUrl = (what: string, allowHttpLoopback = true) =>
  z.string({ error: `${what} is required — give an https:// URL` }).refine(
    (v) => {
      try {
        const u = new URL(v);
        if (u.protocol === "https:") return true;
        return allowHttpLoopback && u.protocol === "http:" && isLoopbackHost(u.hostname);
      } catch {
        return false;
      }
    },
    { error: `${what} must be an https:// URL (plain http only for a 127.0.0.1/localhost emulator) — fix the scheme or typo` },
  );

/** Key Vault secret names: the service's own limit. */
const secretName = (what: string) =>
  z
    .string({ error: `${what} is required — name the Key Vault secret` })
    .regex(/^[0-9a-zA-Z-]{1,119}$/, {
      // 127 is Key Vault's limit; we keep room for the "-pending" companion.
      error: `${what} must be 1–119 letters, digits or dashes (Key Vault's rule, less room for "-pending") — rename it`,
    });

export const severitySchema = z.enum(["info", "warning", "error", "critical"], {
  error: "must be one of info, warning, error, critical — pick the lowest severity this channel should receive",
});
export type Severity = z.infer<typeof severitySchema>;

const channelBase = {
  name: z.string().min(1).max(64).optional(),
  minSeverity: severitySchema.default("warning"),
};

export const alertChannelSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({ kind: z.literal("teams"), urlSecretName: secretName("urlSecretName"), ...channelBase }),
    z.strictObject({ kind: z.literal("slack"), urlSecretName: secretName("urlSecretName"), ...channelBase }),
    z.strictObject({
      kind: z.literal("pagerduty"),
      routingKeySecretName: secretName("routingKeySecretName"),
      eventsUrl: httpsUrl("eventsUrl").default("https://events.pagerduty.com/v2/enqueue"),
      ...channelBase,
    }),
    z.strictObject({
      kind: z.literal("opsgenie"),
      apiKeySecretName: secretName("apiKeySecretName"),
      apiUrl: httpsUrl("apiUrl").default("https://api.opsgenie.com"),
      ...channelBase,
    }),
    z.strictObject({
      kind: z.literal("webhook"),
      urlSecretName: secretName("urlSecretName"),
      signingKeySecretName: secretName("signingKeySecretName"),
      ...channelBase,
    }),
  ],
  { error: "kind must be one of teams, slack, pagerduty, opsgenie, webhook — pick the channel type" },
);
export type AlertChannelConfig = z.infer<typeof alertChannelSchema>;

export const gatewayPathsSchema = z.strictObject({
  list: z.string().startsWith("/", { error: "must start with / — e.g. /mcp-servers" }).default("/mcp-servers"),
  update: z
    .string()
    .includes("{id}", { error: "must contain {id} — e.g. /mcp-servers/{id}/authentication" })
    .default("/mcp-servers/{id}/authentication"),
  test: z
    .string()
    .includes("{id}", { error: "must contain {id} — e.g. /mcp-servers/{id}/authentication/test" })
    .default("/mcp-servers/{id}/authentication/test"),
});

export const gatewaySchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("cequence"),
      baseUrl: httpsUrl("gateway.baseUrl"),
      tenant: z.string({ error: "gateway.tenant is required — the gateway tenant (organisation) name" }).min(1, {
        error: "gateway.tenant must not be empty — the gateway tenant (organisation) name",
      }),
      apiTokenSecretName: secretName("gateway.apiTokenSecretName"),
      paths: gatewayPathsSchema.default({
        list: "/mcp-servers",
        update: "/mcp-servers/{id}/authentication",
        test: "/mcp-servers/{id}/authentication/test",
      }),
      pageSize: z.number().int().min(1).max(500).default(100),
      maxConcurrency: z
        .number({ error: "maxConcurrency must be a number — e.g. 4" })
        .int()
        .min(1, { error: "maxConcurrency must be at least 1 — e.g. 4" })
        .max(64, { error: "maxConcurrency must be at most 64 — the gateway throttles beyond that anyway" })
        .default(4),
      maxRequestsPerSecond: z
        .number({ error: "maxRequestsPerSecond must be a number — e.g. 5" })
        .positive({ error: "maxRequestsPerSecond must be above 0 — e.g. 5" })
        .max(1000, { error: "maxRequestsPerSecond must be at most 1000" })
        .default(5),
      testConnection: z.boolean().default(true),
    }),
    z.strictObject({
      kind: z.literal("manual"),
      /** Names of the MCP servers an operator must update by hand; listed in the incident. */
      targets: z.array(z.string().min(1)).default([]),
    }),
  ],
  { error: "gateway.kind must be cequence or manual — use manual for a gateway without an admin API" },
);
export type GatewayConfig = z.infer<typeof gatewaySchema>;

export const credentialSetSchema = z
  .strictObject({
    name: z
      .string({ error: "name is required — a short identifier such as cequence-sso" })
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, {
        error: "name must be 1–40 lowercase letters, digits or dashes, starting with a letter or digit — e.g. cequence-sso",
      }),
    tenantId: guid("tenantId").refine((v) => v !== "00000000-0000-0000-0000-000000000000", {
      error: "tenantId is the all-zero placeholder — put your Directory (tenant) ID here",
    }),
    clientId: guid("clientId"),
    applicationObjectId: guid("applicationObjectId").optional(),
    authorityHost: httpsUrl("authorityHost").default(DEFAULT_AUTHORITY_HOST),
    graphBaseUrl: httpsUrl("graphBaseUrl").default(DEFAULT_GRAPH_BASE_URL),
    /** The token/authorize URLs use `common` (multi-tenant apps); client credentials still use the tenant. */
    multiTenant: z.boolean().default(false),
    keyVault: z.strictObject(
      {
        url: httpsUrl("keyVault.url"),
        secretName: secretName("keyVault.secretName"),
      },
      { error: "keyVault is required — give { url, secretName } of the vault that holds the client secret" },
    ),
    secret: z
      .strictObject({
        lifetimeDays: z
          .number({ error: "lifetimeDays must be a number of days — the setup guide recommends 180–730 (6–24 months)" })
          .int({ error: "lifetimeDays must be a whole number of days" })
          .min(1, { error: "lifetimeDays must be at least 1 — the setup guide recommends 180–730 (6–24 months)" })
          .max(730, { error: "lifetimeDays must be at most 730 (Entra's 24-month limit) — the setup guide recommends 6–24 months" })
          .default(365),
        renewBeforeDays: z
          .number({ error: "renewBeforeDays must be a number of days — e.g. 30" })
          .int()
          .min(1, { error: "renewBeforeDays must be at least 1 — e.g. 30" })
          .default(30),
        renewAtFraction: z
          .number({ error: "renewAtFraction must be a number between 0 and 1 — e.g. 0.2 renews with a fifth of the lifetime left" })
          .gt(0, { error: "renewAtFraction must be above 0 — e.g. 0.2" })
          .lt(1, { error: "renewAtFraction must be below 1 — e.g. 0.2" })
          .default(0.2),
        gracePeriodHours: z
          .number({ error: "gracePeriodHours must be a number of hours — e.g. 24" })
          .min(0, { error: "gracePeriodHours must be 0 or more — e.g. 24" })
          .max(24 * 30, { error: "gracePeriodHours must be at most 720 (30 days) — an old secret kept longer is a liability" })
          .default(24),
        /** keyId of the hand-made secret to adopt when its hint and end date are ambiguous. */
        adoptKeyId: guid("secret.adoptKeyId").optional(),
      })
      .default({ lifetimeDays: 365, renewBeforeDays: 30, renewAtFraction: 0.2, gracePeriodHours: 24 }),
    verification: z
      .strictObject({
        consecutiveSuccesses: z.number().int().min(1).max(20).default(3),
        budgetSeconds: z.number().int().min(1).max(3600).default(600),
        intervalMs: z.number().int().min(0).max(60_000).default(5_000),
      })
      .default({ consecutiveSuccesses: 3, budgetSeconds: 600, intervalMs: 5_000 }),
    redirectUri: httpsUrl("redirectUri").default(DEFAULT_REDIRECT_URI),
    scopes: z
      .array(z.string().min(1), { error: "scopes must be a list of strings — e.g. [\"openid\", \"profile\", \"email\", \"User.Read\"]" })
      .min(1, { error: "scopes must not be empty — e.g. [\"openid\", \"profile\", \"email\", \"User.Read\"]" })
      .default([...DEFAULT_SCOPES]),
    gateway: gatewaySchema,
    alerts: z.array(alertChannelSchema).default([]),
  })
  .superRefine((set, ctx) => {
    const renewAt = Math.max(set.secret.renewBeforeDays, set.secret.lifetimeDays * set.secret.renewAtFraction);
    if (renewAt >= set.secret.lifetimeDays) {
      ctx.addIssue({
        code: "custom",
        path: ["secret", "renewBeforeDays"],
        message: `renews ${renewAt} days before expiry but the lifetime is only ${set.secret.lifetimeDays} days — lower renewBeforeDays/renewAtFraction or raise lifetimeDays`,
      });
    }
    if (set.secret.gracePeriodHours / 24 >= renewAt) {
      ctx.addIssue({
        code: "custom",
        path: ["secret", "gracePeriodHours"],
        message: `the grace period (${set.secret.gracePeriodHours} h) outlasts the renewal window (${renewAt} days) — shorten the grace period`,
      });
    }
  });
export type CredentialSet = z.infer<typeof credentialSetSchema>;

export const credentialSetFileSchema = z
  .strictObject({
    sets: z
      .array(credentialSetSchema, { error: "sets must be a list of credential sets — see README § Configuration" })
      .min(1, { error: "sets must contain at least one credential set — see README § Configuration" }),
  })
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.sets.forEach((s, i) => {
      const prev = seen.get(s.name);
      if (prev !== undefined) {
        ctx.addIssue({ code: "custom", path: ["sets", i, "name"], message: `duplicates sets.${prev}.name — give every set a unique name` });
      }
      seen.set(s.name, i);
    });
  });
export type CredentialSetFile = z.infer<typeof credentialSetFileSchema>;

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]" || hostname === "::1";
}
