import { z } from "zod";
import { GUID_PATTERN } from "../entra/ids.js";
import { ConfigError } from "../errors.js";
import { DOCS_REF, parseWithFixes, type ParseOutcome } from "./issues.js";
import { ncrontabProblem } from "./ncrontab.js";
import { checkOutboundUrl } from "./outbound.js";
import { APP_SETTING_NAMES } from "./appSettingNames.js";

/**
 * The Function App's app settings. Read from an env-like record handed in by the caller (never
 * from process.env directly), so tests, scripts and the host all go through one validation.
 * Empty values count as unset: Bicep and the portal often write "" for "not configured".
 */
export type Env = Readonly<Record<string, string | undefined>>;

export const APP_SETTING_DEFAULTS = {
  ROTATION_SCHEDULE: "0 0 3 * * *",
  HEALTH_SCHEDULE: "0 */15 * * * *",
  ROTATION_QUEUE_NAME: "rotation-requests",
  ROTATION_MAX_DEQUEUE: 5,
  STORAGE_CONTAINER: "mcp-sso-rotator",
  ALERT_REPEAT_MINUTES: 240,
  ALERT_RESOLVE_AFTER_PROBES: 2,
  PROBE_TIMEOUT_MS: 10_000,
} as const;

/** Every setting this module reads (the one list: appSettingNames.ts); anything else is ignored. */
export { APP_SETTING_NAMES };

/** Where the credential-set file comes from: exactly one of the two. */
type CredentialSetSource = { file: string; json?: undefined } | { json: string; file?: undefined };

/** How the rotator reaches its own storage (leases, journals, incidents, the rotation queue). */
type StorageSettings =
  | { kind: "connectionString"; connectionString: string; development: boolean }
  | {
      kind: "identity";
      blobServiceUri: string;
      queueServiceUri: string;
      /** User-assigned identity for storage; absent means the system-assigned identity. */
      clientId?: string;
    };

/** The rotator's own Entra identity (for Graph and Key Vault). */
type RotatorIdentity =
  | { kind: "clientSecret"; tenantId: string; clientId: string; clientSecret: string; authorityHost?: string }
  | {
      kind: "managedIdentity";
      /** User-assigned managed identity; absent means the system-assigned identity. */
      clientId?: string;
      tenantId?: string;
      authorityHost?: string;
    };

export interface AppSettings {
  credentialSetsSource: CredentialSetSource;
  storage: StorageSettings;
  rotationSchedule: string;
  healthSchedule: string;
  rotationQueueName: string;
  rotationMaxDequeue: number;
  storageContainer: string;
  publicBaseUrl?: string;
  heartbeatUrl?: string;
  alertRepeatMinutes: number;
  alertResolveAfterProbes: number;
  probeTimeoutInMs: number;
  identity: RotatorIdentity;
  /** PEM file of an extra CA trusted by every client — local emulators only; refused in Production. */
  extraCaFile?: string;
  /** AZURE_FUNCTIONS_ENVIRONMENT as given (Development, Staging, Production …). */
  environment?: string;
  /** True when AZURE_FUNCTIONS_ENVIRONMENT is Production, or unset on an Azure instance (the host's default). */
  isProduction: boolean;
}

const guidSetting = (where: string) =>
  z.string().regex(GUID_PATTERN, { error: `must be a GUID like 8f1c2a3b-0000-4000-8000-1234567890ab — copy it from ${where}` });

const intSetting = (min: number, max: number, fallback: number, unit: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx): number => {
      if (v === undefined) return fallback;
      const fix = `set a whole number of ${unit} from ${min} to ${max}, or remove the setting to use the default ${fallback}`;
      if (!/^\d+$/.test(v)) {
        ctx.addIssue({ code: "custom", message: `"${v.length > 20 ? `${v.slice(0, 20)}…` : v}" is not a whole number — ${fix}` });
        return z.NEVER;
      }
      const n = Number(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `${n} is out of range — ${fix}` });
        return z.NEVER;
      }
      return n;
    });

const scheduleSetting = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx): string => {
      if (v === undefined) return fallback;
      const problem = ncrontabProblem(v, fallback);
      if (problem) {
        ctx.addIssue({ code: "custom", message: problem });
        return z.NEVER;
      }
      return v.trim().split(/\s+/).join(" ");
    });

/** Storage's shared rule for queue and container names. */
const storageName = (what: string, example: string) =>
  z.string().regex(/^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/, {
    error: `must be 3–63 lowercase letters, digits and single dashes, starting and ending with a letter or digit (Azure Storage ${what} naming rules) — e.g. ${example}`,
  });

const urlSetting = (example: string, options: { originOnly?: boolean; allowHttpLoopback?: boolean } = {}) =>
  z.string().superRefine((v, ctx) => {
    // The shared outbound rule: scheme, no user:password@, no link-local/metadata/odd IP forms.
    const verdict = checkOutboundUrl(v, { example, allowHttpLoopback: options.allowHttpLoopback ?? true });
    if (!verdict.ok) {
      ctx.addIssue({ code: "custom", message: verdict.problem });
      return;
    }
    const u = verdict.url;
    if (options.originOnly && ((u.pathname !== "/" && u.pathname !== "") || u.search !== "")) {
      ctx.addIssue({ code: "custom", message: `must be the host only, without "${u.pathname}${u.search}" — e.g. ${example}` });
    }
  });

/**
 * Validates a storage connection string without ever echoing it: it usually carries an account key.
 */
function connectionStringProblem(value: string): string | undefined {
  if (/^UseDevelopmentStorage=true;?$/i.test(value)) return undefined;
  const fix = `copy it from the storage account's Access keys page, use UseDevelopmentStorage=true for Azurite, or switch to an identity with AzureWebJobsStorage__accountName`;
  const pairs = new Map<string, string>();
  for (const part of value.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) return `is not a storage connection string (expected Key=Value pairs separated by ;) — ${fix}`;
    pairs.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  if (!pairs.has("accountname") && !pairs.has("blobendpoint")) {
    return `names neither AccountName nor BlobEndpoint — ${fix}`;
  }
  if (!pairs.has("accountname") && !pairs.has("queueendpoint")) {
    return `has a BlobEndpoint but no QueueEndpoint — the rotation queue needs it; add QueueEndpoint=… or ${fix}`;
  }
  if (!pairs.get("accountkey") && !pairs.get("sharedaccesssignature")) {
    return `has neither AccountKey nor SharedAccessSignature — the rotator cannot authenticate; ${fix}`;
  }
  return undefined;
}

const envSchema = z
  .object({
    CREDENTIAL_SETS_FILE: z.string().optional(),
    CREDENTIAL_SETS_JSON: z.string().optional(),
    AzureWebJobsStorage: z
      .string()
      .superRefine((v, ctx) => {
        const problem = connectionStringProblem(v);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    AzureWebJobsStorage__accountName: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, {
        error: "must be a storage account name: 3–24 lowercase letters and digits — copy it from the storage account's Overview page",
      })
      .optional(),
    AzureWebJobsStorage__blobServiceUri: urlSetting("https://<account>.blob.core.windows.net", { originOnly: true }).optional(),
    AzureWebJobsStorage__queueServiceUri: urlSetting("https://<account>.queue.core.windows.net", { originOnly: true }).optional(),
    AzureWebJobsStorage__credential: z
      .string()
      .refine((v) => v.toLowerCase() === "managedidentity", {
        error: "must be managedidentity (the only credential the Functions host supports here) — or remove it",
      })
      .optional(),
    AzureWebJobsStorage__clientId: guidSetting("the user-assigned managed identity's Overview page (Client ID)").optional(),
    ROTATION_SCHEDULE: scheduleSetting(APP_SETTING_DEFAULTS.ROTATION_SCHEDULE),
    HEALTH_SCHEDULE: scheduleSetting(APP_SETTING_DEFAULTS.HEALTH_SCHEDULE),
    ROTATION_QUEUE_NAME: storageName("queue", APP_SETTING_DEFAULTS.ROTATION_QUEUE_NAME).default(APP_SETTING_DEFAULTS.ROTATION_QUEUE_NAME),
    ROTATION_MAX_DEQUEUE: intSetting(1, 100, APP_SETTING_DEFAULTS.ROTATION_MAX_DEQUEUE, "attempts"),
    STORAGE_CONTAINER: storageName("container", APP_SETTING_DEFAULTS.STORAGE_CONTAINER).default(APP_SETTING_DEFAULTS.STORAGE_CONTAINER),
    PUBLIC_BASE_URL: urlSetting("https://rotator.example.com").optional(),
    HEARTBEAT_URL: urlSetting("https://hc-ping.example.com/<check-id>").optional(),
    ALERT_REPEAT_MINUTES: intSetting(1, 10_080, APP_SETTING_DEFAULTS.ALERT_REPEAT_MINUTES, "minutes"),
    ALERT_RESOLVE_AFTER_PROBES: intSetting(1, 20, APP_SETTING_DEFAULTS.ALERT_RESOLVE_AFTER_PROBES, "probes"),
    PROBE_TIMEOUT_MS: intSetting(100, 120_000, APP_SETTING_DEFAULTS.PROBE_TIMEOUT_MS, "milliseconds"),
    AZURE_TENANT_ID: guidSetting("Microsoft Entra ID → Overview (Tenant ID)").optional(),
    AZURE_CLIENT_ID: guidSetting("the identity's Overview page (Application (client) ID / Client ID)").optional(),
    AZURE_CLIENT_SECRET: z
      .string()
      .refine((v) => !GUID_PATTERN.test(v), {
        error: "looks like a secret ID (a GUID), not a secret value — copy the Value column, which Entra shows only once when the secret is created",
      })
      .optional(),
    // The identity library refuses a non-https authority, so no loopback exception here.
    AZURE_AUTHORITY_HOST: urlSetting("https://login.microsoftonline.us", { originOnly: true, allowHttpLoopback: false }).optional(),
    EXTRA_CA_FILE: z.string().optional(),
    AZURE_FUNCTIONS_ENVIRONMENT: z.string().optional(),
    WEBSITE_INSTANCE_ID: z.string().optional(),
  })
  .superRefine(
    (e, ctx) => {
      if (e.CREDENTIAL_SETS_FILE === undefined && e.CREDENTIAL_SETS_JSON === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["CREDENTIAL_SETS_FILE"],
          message: `is not set (nor CREDENTIAL_SETS_JSON) — set CREDENTIAL_SETS_FILE to the path of the credential-set JSON file, or CREDENTIAL_SETS_JSON to its content`,
        });
      } else if (e.CREDENTIAL_SETS_FILE !== undefined && e.CREDENTIAL_SETS_JSON !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["CREDENTIAL_SETS_JSON"],
          message: `is set together with CREDENTIAL_SETS_FILE — keep exactly one of them and remove the other`,
        });
      }

      const hasIdentityStorage =
        e.AzureWebJobsStorage__accountName !== undefined ||
        e.AzureWebJobsStorage__blobServiceUri !== undefined ||
        e.AzureWebJobsStorage__queueServiceUri !== undefined;
      if (e.AzureWebJobsStorage === undefined && !hasIdentityStorage) {
        ctx.addIssue({
          code: "custom",
          path: ["AzureWebJobsStorage"],
          message: `is not set — set it to a storage connection string (UseDevelopmentStorage=true for Azurite), or use an identity: set AzureWebJobsStorage__accountName`,
        });
      } else if (e.AzureWebJobsStorage === undefined && e.AzureWebJobsStorage__accountName === undefined) {
        // Service URIs instead of an account name: the host needs both blob and queue.
        if (e.AzureWebJobsStorage__blobServiceUri === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["AzureWebJobsStorage__blobServiceUri"],
            message: `is required with AzureWebJobsStorage__queueServiceUri — leases and journals live in blobs; set it, e.g. https://<account>.blob.core.windows.net`,
          });
        } else if (e.AzureWebJobsStorage__queueServiceUri === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["AzureWebJobsStorage__queueServiceUri"],
            message: `is required with AzureWebJobsStorage__blobServiceUri — the rotation queue needs it; set it, e.g. https://<account>.queue.core.windows.net`,
          });
        }
      }

      if (e.AZURE_CLIENT_SECRET !== undefined) {
        for (const name of ["AZURE_TENANT_ID", "AZURE_CLIENT_ID"] as const) {
          if (e[name] === undefined) {
            ctx.addIssue({
              code: "custom",
              path: [name],
              message: `is required with AZURE_CLIENT_SECRET (client-secret sign-in) — set it, or remove AZURE_CLIENT_SECRET to use the managed identity`,
            });
          }
        }
      }

      if (e.EXTRA_CA_FILE !== undefined && isProduction(e)) {
        ctx.addIssue({
          code: "custom",
          path: ["EXTRA_CA_FILE"],
          message: `is refused in Production: it makes every client trust an extra CA, which is for the local emulators only — remove the setting (AZURE_FUNCTIONS_ENVIRONMENT is Production${e.AZURE_FUNCTIONS_ENVIRONMENT === undefined ? " by default on Azure" : ""})`,
        });
      }
    },
    // Cross-setting rules only look at which settings are present, so they run even when a
    // setting's own value is bad — the operator sees every problem at once.
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  );

function isProduction(e: { AZURE_FUNCTIONS_ENVIRONMENT?: string | undefined; WEBSITE_INSTANCE_ID?: string | undefined }): boolean {
  if (e.AZURE_FUNCTIONS_ENVIRONMENT !== undefined) return e.AZURE_FUNCTIONS_ENVIRONMENT.toLowerCase() === "production";
  // On Azure the host assumes Production when the setting is absent; WEBSITE_INSTANCE_ID exists only there.
  return e.WEBSITE_INSTANCE_ID !== undefined;
}

/** Only the settings we know, trimmed, with empty values dropped. */
function normalise(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of APP_SETTING_NAMES) {
    const v = env[name];
    if (typeof v === "string" && v.trim() !== "") out[name] = v.trim();
  }
  return out;
}

/** Validates the app settings and returns every problem instead of throwing. */
export function collectAppSettings(env: Env): ParseOutcome<AppSettings> {
  const values = normalise(env);
  // A Key Vault reference the platform could not resolve stays in the setting as literal text.
  // Report that once, instead of whatever the setting's own validation would make of it.
  const unresolved: string[] = [];
  for (const [name, v] of Object.entries(values)) {
    if (/^@Microsoft\.KeyVault\(/i.test(v)) {
      unresolved.push(name);
      delete values[name];
    }
  }
  const refIssues = unresolved.map(
    (name) =>
      `${name}: is an unresolved Key Vault reference — give the Function App's identity read access to the secret (Key Vault Secrets User) and check the SecretUri; the portal's Environment variables page shows the reference status`,
  );
  const parsed = parseWithFixes(envSchema, values);
  if (!parsed.ok) {
    const rest = parsed.issues.filter((line) => !unresolved.some((name) => line.startsWith(`${name}:`)));
    return { ok: false, issues: [...refIssues, ...rest] };
  }
  if (refIssues.length > 0) return { ok: false, issues: refIssues };
  return { ok: true, value: toAppSettings(parsed.value) };
}

/** Validates the app settings; throws one ConfigError listing every bad setting. */
export function loadAppSettings(env: Env): AppSettings {
  const outcome = collectAppSettings(env);
  if (!outcome.ok) throw new ConfigError("app settings", outcome.issues);
  return outcome.value;
}

function toAppSettings(e: z.output<typeof envSchema>): AppSettings {
  const storage: StorageSettings =
    e.AzureWebJobsStorage !== undefined
      ? // The host itself prefers the exact-match connection string over the __ prefixed settings.
        {
          kind: "connectionString",
          connectionString: e.AzureWebJobsStorage,
          development: /^UseDevelopmentStorage=true;?$/i.test(e.AzureWebJobsStorage),
        }
      : {
          kind: "identity",
          blobServiceUri: stripSlash(e.AzureWebJobsStorage__blobServiceUri ?? `https://${e.AzureWebJobsStorage__accountName}.blob.core.windows.net`),
          queueServiceUri: stripSlash(e.AzureWebJobsStorage__queueServiceUri ?? `https://${e.AzureWebJobsStorage__accountName}.queue.core.windows.net`),
          ...(e.AzureWebJobsStorage__clientId !== undefined ? { clientId: e.AzureWebJobsStorage__clientId } : {}),
        };

  const authorityHost = e.AZURE_AUTHORITY_HOST !== undefined ? stripSlash(e.AZURE_AUTHORITY_HOST) : undefined;
  const identity: RotatorIdentity =
    e.AZURE_CLIENT_SECRET !== undefined
      ? {
          kind: "clientSecret",
          // Presence is guaranteed by the superRefine above.
          tenantId: e.AZURE_TENANT_ID ?? "",
          clientId: e.AZURE_CLIENT_ID ?? "",
          clientSecret: e.AZURE_CLIENT_SECRET,
          ...(authorityHost !== undefined ? { authorityHost } : {}),
        }
      : {
          kind: "managedIdentity",
          ...(e.AZURE_CLIENT_ID !== undefined ? { clientId: e.AZURE_CLIENT_ID } : {}),
          ...(e.AZURE_TENANT_ID !== undefined ? { tenantId: e.AZURE_TENANT_ID } : {}),
          ...(authorityHost !== undefined ? { authorityHost } : {}),
        };

  const source: CredentialSetSource = e.CREDENTIAL_SETS_FILE !== undefined ? { file: e.CREDENTIAL_SETS_FILE } : { json: e.CREDENTIAL_SETS_JSON ?? "" };

  return {
    credentialSetsSource: source,
    storage,
    rotationSchedule: e.ROTATION_SCHEDULE,
    healthSchedule: e.HEALTH_SCHEDULE,
    rotationQueueName: e.ROTATION_QUEUE_NAME,
    rotationMaxDequeue: e.ROTATION_MAX_DEQUEUE,
    storageContainer: e.STORAGE_CONTAINER,
    ...(e.PUBLIC_BASE_URL !== undefined ? { publicBaseUrl: stripSlash(e.PUBLIC_BASE_URL) } : {}),
    ...(e.HEARTBEAT_URL !== undefined ? { heartbeatUrl: e.HEARTBEAT_URL } : {}),
    alertRepeatMinutes: e.ALERT_REPEAT_MINUTES,
    alertResolveAfterProbes: e.ALERT_RESOLVE_AFTER_PROBES,
    probeTimeoutInMs: e.PROBE_TIMEOUT_MS,
    identity,
    ...(e.EXTRA_CA_FILE !== undefined ? { extraCaFile: e.EXTRA_CA_FILE } : {}),
    ...(e.AZURE_FUNCTIONS_ENVIRONMENT !== undefined ? { environment: e.AZURE_FUNCTIONS_ENVIRONMENT } : {}),
    isProduction: isProduction(e),
  };
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * A secret-free view of the settings for logs and `check-config`: the connection string and the
 * client secret are described, never shown.
 */
export function describeAppSettings(s: AppSettings): Record<string, unknown> {
  return {
    credentialSets: s.credentialSetsSource.file !== undefined ? { file: s.credentialSetsSource.file } : { json: "(inline CREDENTIAL_SETS_JSON)" },
    storage:
      s.storage.kind === "connectionString"
        ? s.storage.development
          ? "connection string (development storage / Azurite)"
          : `connection string${accountNameOf(s.storage.connectionString)}`
        : {
            identity: s.storage.clientId !== undefined ? `user-assigned ${s.storage.clientId}` : "system-assigned",
            blobServiceUri: s.storage.blobServiceUri,
            queueServiceUri: s.storage.queueServiceUri,
          },
    rotationSchedule: s.rotationSchedule,
    healthSchedule: s.healthSchedule,
    rotationQueueName: s.rotationQueueName,
    rotationMaxDequeue: s.rotationMaxDequeue,
    storageContainer: s.storageContainer,
    publicBaseUrl: s.publicBaseUrl,
    heartbeatUrl: s.heartbeatUrl === undefined ? undefined : "(set)",
    alertRepeatMinutes: s.alertRepeatMinutes,
    alertResolveAfterProbes: s.alertResolveAfterProbes,
    probeTimeoutInMs: s.probeTimeoutInMs,
    identity:
      s.identity.kind === "clientSecret"
        ? { kind: "clientSecret", tenantId: s.identity.tenantId, clientId: s.identity.clientId, clientSecret: "(set)" }
        : { kind: "managedIdentity", clientId: s.identity.clientId ?? "(system-assigned)" },
    authorityHost: s.identity.authorityHost,
    extraCaFile: s.extraCaFile,
    environment: s.environment,
    isProduction: s.isProduction,
    docs: DOCS_REF,
  };
}

function accountNameOf(connectionString: string): string {
  const m = /(?:^|;)\s*AccountName=([^;]+)/i.exec(connectionString);
  return m ? ` for account ${m[1]!.trim()}` : "";
}
