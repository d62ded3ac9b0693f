import type { TokenCredential } from "@azure/identity";
import { Client, GraphError, RetryHandlerOptions, type GraphRequest } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import { Agent } from "undici";
import { RotatorError } from "../errors.js";
import type { Redactor } from "../redact.js";
import type {
  AppManagementPolicy,
  AppRegistration,
  AppRoleAssignment,
  CallOptions,
  GraphApplicationsApi,
  NewPasswordCredential,
  OAuth2PermissionGrant,
  PasswordCredential,
} from "./types.js";
import { mapGraphError, type GraphOperation } from "./graphErrors.js";

/**
 * GraphApplicationsApi over the Microsoft Graph JS SDK. Reads and removePassword use the SDK's
 * retry handler (429/503/504, honouring Retry-After); addPassword is sent exactly once, because a
 * retried POST after the server acted would create a second secret nobody holds.
 */
export interface GraphApplicationsApiOptions {
  credential: TokenCredential;
  /** Default `https://graph.microsoft.com`; the Entra emulator's URL locally. */
  graphBaseUrl?: string;
  /** PEM of an extra CA to trust (the emulators' CA). It replaces the default trust store for Graph calls. */
  ca?: string | Buffer;
  /** Every secretText addPassword returns is registered here at once. */
  redactor?: Redactor;
  /** Automatic retries of idempotent calls. Delay in seconds, as the SDK counts it (Retry-After wins when sent). */
  retry?: { maxRetries?: number; delaySeconds?: number };
}

export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
const GRAPH_HOSTS = new Set(["graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"]);
const APP_SELECT = [
  "id",
  "appId",
  "displayName",
  "signInAudience",
  "passwordCredentials",
  "web",
  "isFallbackPublicClient",
  "requiredResourceAccess",
];

type Json = Record<string, unknown>;

export function createGraphApplicationsApi(options: GraphApplicationsApiOptions): GraphApplicationsApi {
  const baseUrl = (options.graphBaseUrl ?? "https://graph.microsoft.com").replace(/\/+$/, "");
  const host = new URL(baseUrl).hostname.toLowerCase();
  const client = Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(options.credential, { scopes: [GRAPH_SCOPE] }),
    baseUrl,
    defaultVersion: "v1.0",
    // Without customHosts the SDK silently drops the Authorization header for a non-Graph host.
    ...(GRAPH_HOSTS.has(host) ? {} : { customHosts: new Set([host]) }),
    // Node's fetch (undici) ignores https.Agent; a dispatcher is how a CA reaches it.
    ...(options.ca ? { fetchOptions: { dispatcher: new Agent({ connect: { ca: options.ca } }) } as Json } : {}),
  });
  const readRetry = new RetryHandlerOptions(options.retry?.delaySeconds ?? 3, options.retry?.maxRetries ?? 3);
  const noRetry = new RetryHandlerOptions(0, 0);

  const request = (path: string, call: CallOptions, retry: RetryHandlerOptions = readRetry): GraphRequest => {
    const r = client.api(path).middlewareOptions([retry]);
    return call.abortSignal ? r.option("signal", call.abortSignal) : r;
  };

  const run = async <T>(op: GraphOperation, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw mapGraphError(e, op, options.redactor);
    }
  };

  /** Follows `@odata.nextLink` until the collection is exhausted. */
  const listAll = async (op: GraphOperation, first: GraphRequest, call: CallOptions): Promise<Json[]> =>
    run(op, async () => {
      const out: Json[] = [];
      let page = (await first.get()) as { value?: Json[]; "@odata.nextLink"?: string };
      for (;;) {
        out.push(...(page.value ?? []));
        const next = page["@odata.nextLink"];
        if (!next) return out;
        page = (await request(next, call).get()) as typeof page;
      }
    });

  const api: GraphApplicationsApi = {
    async getApplication(ref, call = {}) {
      if (ref.objectId) {
        const json = await run({ name: "getApplication", objectId: ref.objectId, appId: ref.appId }, () =>
          request(`/applications/${encodeURIComponent(ref.objectId!)}`, call).select(APP_SELECT).get() as Promise<Json>,
        );
        if (String(json.appId ?? "").toLowerCase() !== ref.appId.toLowerCase()) {
          throw new RotatorError(
            "GRAPH_APP_NOT_FOUND",
            `Application object ${ref.objectId} has appId ${String(json.appId)}, not the configured client ID ${ref.appId}.`,
            { hint: "The credential set's objectId and clientId name different app registrations; fix or remove the objectId.", status: 200 },
          );
        }
        return toAppRegistration(json);
      }
      const found = await listAll(
        { name: "getApplication", appId: ref.appId },
        request("/applications", call).filter(`appId eq '${odataString(ref.appId)}'`).select(APP_SELECT),
        call,
      );
      const json = found[0];
      if (!json) {
        throw new RotatorError("GRAPH_APP_NOT_FOUND", `No application with client ID ${ref.appId} is visible to the rotator's identity.`, {
          hint:
            "Check the credential set's clientId and tenantId. With Application.ReadWrite.OwnedBy the rotator only sees apps it owns: " +
            "add its managed identity (service principal) as an owner of the app registration.",
          status: 200,
        });
      }
      return toAppRegistration(json);
    },

    async addPassword(objectId, credential, call = {}): Promise<NewPasswordCredential> {
      const json = await run({ name: "addPassword", objectId }, () =>
        request(`/applications/${encodeURIComponent(objectId)}/addPassword`, call, noRetry).post({
          passwordCredential: { displayName: credential.displayName, endDateTime: credential.endDateTime },
        }) as Promise<Json>,
      );
      const secretText = typeof json.secretText === "string" ? json.secretText : "";
      options.redactor?.add(secretText);
      if (!secretText || typeof json.keyId !== "string") {
        throw new RotatorError("GRAPH_INVALID_RESPONSE", "addPassword answered without a keyId or secretText.", {
          hint: "Microsoft Graph returned an unexpected body; a credential may have been created: the next run's orphan sweep removes it.",
        });
      }
      return { ...toPasswordCredential(json), secretText };
    },

    async removePassword(objectId, keyId, call = {}) {
      try {
        await request(`/applications/${encodeURIComponent(objectId)}/removePassword`, call).post({ keyId });
      } catch (e) {
        const status = e instanceof GraphError ? e.statusCode : undefined;
        // Graph refuses an unknown keyId; a key that is already gone is what we wanted. Decide by
        // looking, not by parsing the error text.
        if (status === 400 || status === 404) {
          const present = await run({ name: "removePassword", objectId, keyId }, async () => {
            const app = (await request(`/applications/${encodeURIComponent(objectId)}`, call).select(["id", "passwordCredentials"]).get()) as Json;
            return asArray(app.passwordCredentials).some((p) => String((p as Json).keyId).toLowerCase() === keyId.toLowerCase());
          });
          if (!present) return;
        }
        throw mapGraphError(e, { name: "removePassword", objectId, keyId }, options.redactor);
      }
    },

    async getAppManagementPolicy(call = {}) {
      const json = await run({ name: "getAppManagementPolicy" }, () => request("/policies/defaultAppManagementPolicy", call).get() as Promise<Json>);
      return toAppManagementPolicy(json);
    },

    async getServicePrincipal(appId, call = {}) {
      const found = await listAll(
        { name: "getServicePrincipal", appId },
        request("/servicePrincipals", call).filter(`appId eq '${odataString(appId)}'`).select(["id", "appId", "appRoleAssignmentRequired"]),
        call,
      );
      const sp = found[0];
      return sp ? { id: String(sp.id), appId: String(sp.appId), appRoleAssignmentRequired: sp.appRoleAssignmentRequired === true } : undefined;
    },

    async listAppRoleAssignedTo(servicePrincipalId, call = {}): Promise<AppRoleAssignment[]> {
      const items = await listAll(
        { name: "listAppRoleAssignedTo", servicePrincipalId },
        request(`/servicePrincipals/${encodeURIComponent(servicePrincipalId)}/appRoleAssignedTo`, call),
        call,
      );
      return items.map((a) => ({
        principalType: (a.principalType as AppRoleAssignment["principalType"]) ?? "User",
        principalId: String(a.principalId),
        ...(typeof a.principalDisplayName === "string" ? { principalDisplayName: a.principalDisplayName } : {}),
      }));
    },

    async listOAuth2PermissionGrants(servicePrincipalId, call = {}): Promise<OAuth2PermissionGrant[]> {
      const items = await listAll(
        { name: "listOAuth2PermissionGrants", servicePrincipalId },
        request("/oauth2PermissionGrants", call).filter(`clientId eq '${odataString(servicePrincipalId)}'`),
        call,
      );
      return items.map((g) => ({
        clientId: String(g.clientId),
        consentType: g.consentType === "Principal" ? "Principal" : "AllPrincipals",
        resourceId: String(g.resourceId),
        scope: typeof g.scope === "string" ? g.scope.trim() : "",
      }));
    },
  };
  return api;
}

/** OData string literal escaping: a quote is doubled. */
function odataString(value: string): string {
  return value.replace(/'/g, "''");
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function toPasswordCredential(p: Json): PasswordCredential {
  return {
    keyId: String(p.keyId),
    displayName: typeof p.displayName === "string" ? p.displayName : null,
    hint: typeof p.hint === "string" ? p.hint : null,
    startDateTime: String(p.startDateTime ?? ""),
    endDateTime: String(p.endDateTime ?? ""),
  };
}

function toAppRegistration(json: Json): AppRegistration {
  const web = (json.web ?? {}) as Json;
  const implicit = (web.implicitGrantSettings ?? {}) as Json;
  return {
    id: String(json.id),
    appId: String(json.appId),
    displayName: String(json.displayName ?? ""),
    signInAudience: String(json.signInAudience ?? ""),
    passwordCredentials: asArray(json.passwordCredentials).map((p) => toPasswordCredential(p as Json)),
    web: {
      redirectUris: asArray(web.redirectUris).map(String),
      implicitGrantSettings: {
        enableIdTokenIssuance: implicit.enableIdTokenIssuance === true,
        enableAccessTokenIssuance: implicit.enableAccessTokenIssuance === true,
      },
    },
    isFallbackPublicClient: typeof json.isFallbackPublicClient === "boolean" ? json.isFallbackPublicClient : null,
    requiredResourceAccess: asArray(json.requiredResourceAccess).map((r) => {
      const rr = r as Json;
      return {
        resourceAppId: String(rr.resourceAppId),
        resourceAccess: asArray(rr.resourceAccess).map((a) => {
          const aa = a as Json;
          return { id: String(aa.id), type: aa.type === "Role" ? ("Role" as const) : ("Scope" as const) };
        }),
      };
    }),
  };
}

/** ISO 8601 duration (P90D, P1Y, P2W, P1DT12H …) to whole days, rounded down. */
export function isoDurationToDays(value: string): number | undefined {
  const m = /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
    value.trim(),
  );
  if (!m || value.trim() === "P") return undefined;
  const n = (i: number): number => Number(m[i] ?? 0);
  const days = n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4) + n(5) / 24 + n(6) / 1440 + n(7) / 86_400;
  return Math.floor(days);
}

function toAppManagementPolicy(json: Json): AppManagementPolicy {
  // A disabled policy restricts nothing. restrictForAppsCreatedAfterDateTime is not applied: we
  // cannot tell here when the app was created, and assuming the restriction holds is the safe side.
  if (json.isEnabled === false) return { passwordAdditionBlocked: false };
  const restrictions = asArray(((json.applicationRestrictions ?? {}) as Json).passwordCredentials) as Json[];
  const active = restrictions.filter((r) => r.state !== "disabled");
  const blocked = active.some((r) => r.restrictionType === "passwordAddition");
  const lifetimes = active
    .filter((r) => r.restrictionType === "passwordLifetime" && typeof r.maxLifetime === "string")
    .map((r) => isoDurationToDays(r.maxLifetime as string))
    .filter((d): d is number => d !== undefined);
  const policy: AppManagementPolicy = { passwordAdditionBlocked: blocked };
  if (lifetimes.length > 0) policy.maxPasswordLifetimeDays = Math.min(...lifetimes);
  return policy;
}

