import { GraphError, type GraphRequest } from "@microsoft/microsoft-graph-client";
import { setTimeout as sleep } from "node:timers/promises";
import { RotatorError } from "../errors.js";
import type { Redactor } from "../redact.js";
import type {
  AppRegistration,
  AppRoleAssignment,
  CallOptions,
  GraphApplicationsApi,
  NewPasswordCredential,
  OAuth2PermissionGrant,
  PasswordCredential,
} from "./types.js";
import { isConcurrentRequests, mapGraphError, type GraphOperation } from "./graphErrors.js";
import { effectiveAppManagementPolicy, type PolicyDoc, type PasswordRestrictionDoc } from "./appPolicy.js";
import { createGraphClient, GraphCallPolicy, type GraphConnectionOptions } from "./graphClient.js";

export { isoDurationToDays } from "./appPolicy.js";

/**
 * GraphApplicationsApi over the Microsoft Graph JS SDK, sent through our HTTP layer (graphClient.ts).
 * Reads and removePassword are retried by HttpClient (429/5xx and dropped connections, honouring
 * Retry-After; removing a key twice is harmless); addPassword is never retried, because a
 * retried POST after the server acted would create a second secret nobody holds.
 *
 * Graph also refuses back-to-back writes to one tenant with 400 Request_BadRequest "Error due to
 * concurrent requests being made to the tenant. Please wait briefly and retry." (409
 * Directory_ConcurrencyViolation in some reports). Such a refusal is retried with backoff:
 * removePassword simply, addPassword only after re-reading the app shows no credential with the
 * requested display name (if one appeared, its value is lost and the caller must start over).
 */
export interface GraphApplicationsApiOptions extends GraphConnectionOptions {
  /** Every secretText addPassword returns is registered here at once (the same redactor as the HttpClient's). */
  redactor?: Redactor;
  /** Retries of Graph's "concurrent requests" refusal on addPassword/removePassword (default 4 attempts, 1 s doubling, at most 8 s). */
  concurrencyRetry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };
}

const APP_SELECT = [
  "id",
  "appId",
  "displayName",
  "signInAudience",
  "createdDateTime",
  "passwordCredentials",
  "web",
  "isFallbackPublicClient",
  "requiredResourceAccess",
];

type Json = Record<string, unknown>;

/**
 * Graph pages collections with `@odata.nextLink`; a page count this high is not a collection we
 * read (an app, its policies, its assignments) but a link that never ends.
 */
const MAX_GRAPH_PAGES = 1000;

const invalidResponse = (op: GraphOperation, detail: string): RotatorError =>
  new RotatorError("GRAPH_INVALID_RESPONSE", `Graph ${op.name} answered with an unexpected body: ${detail}.`, {
    hint: "Microsoft Graph (or a proxy in front of it) returned something that is not a Graph answer; check graphBaseUrl and any outbound proxy. The next run retries.",
    retryable: true,
  });

export function createGraphApplicationsApi(options: GraphApplicationsApiOptions): GraphApplicationsApi {
  const baseUrl = (options.graphBaseUrl ?? "https://graph.microsoft.com").replace(/\/+$/, "");
  const client = createGraphClient({ ...options, defaultVersion: "v1.0" });
  const readRetry = new GraphCallPolicy();
  // removePassword is a POST, but a repeat is harmless (an unknown key is checked by looking).
  const repeatable = new GraphCallPolicy({ idempotent: true });
  const noRetry = new GraphCallPolicy({ maxRetries: 0 });
  const concurrency = {
    maxAttempts: Math.max(1, options.concurrencyRetry?.maxAttempts ?? 4),
    baseDelayMs: options.concurrencyRetry?.baseDelayMs ?? 1000,
    maxDelayMs: options.concurrencyRetry?.maxDelayMs ?? 8000,
  };
  /** Backoff before attempt `attempt + 1`, with a little jitter so parallel writers do not collide again. */
  const backoff = async (attempt: number, call: CallOptions, op: GraphOperation): Promise<void> => {
    const ms = Math.min(concurrency.maxDelayMs, concurrency.baseDelayMs * 2 ** (attempt - 1)) * (1 + Math.random() * 0.2);
    try {
      await sleep(ms, undefined, call.abortSignal ? { signal: call.abortSignal } : undefined);
    } catch (e) {
      if (call.abortSignal?.aborted) {
        throw new RotatorError("ABORTED", `Graph ${op.name} was cancelled while waiting to retry.`, {
          hint: "The operation was cancelled (function timeout or shutdown); the next run resumes it.",
        });
      }
      throw mapGraphError(e, op, options.redactor);
    }
  };

  const request = (path: string, call: CallOptions, policy: GraphCallPolicy = readRetry): GraphRequest => {
    const r = client.api(path).middlewareOptions([policy]);
    return call.abortSignal ? r.option("signal", call.abortSignal) : r;
  };

  const run = async <T>(op: GraphOperation, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw mapGraphError(e, op, options.redactor);
    }
  };

  /**
   * Follows `@odata.nextLink` until the collection is exhausted — only on Graph's own host, never
   * to the same link twice, and for at most MAX_GRAPH_PAGES pages; every page must be a collection.
   */
  const listAll = async (op: GraphOperation, first: GraphRequest, call: CallOptions): Promise<Json[]> =>
    run(op, async () => {
      const out: Json[] = [];
      const seen = new Set<string>();
      let page: unknown = await first.get();
      for (let pages = 1; ; pages++) {
        if (!isJsonObject(page) || !Array.isArray(page.value) || !page.value.every(isJsonObject))
          throw invalidResponse(op, "a page is not a collection of objects");
        out.push(...page.value);
        const next = page["@odata.nextLink"];
        if (next === undefined || next === null || next === "") return out;
        if (typeof next !== "string" || !sameOrigin(next, baseUrl)) throw invalidResponse(op, "@odata.nextLink does not point at the configured Graph host");
        if (seen.has(next)) throw invalidResponse(op, "@odata.nextLink repeats a page already read (pagination loop)");
        if (pages >= MAX_GRAPH_PAGES) throw invalidResponse(op, `the collection did not end after ${MAX_GRAPH_PAGES} pages`);
        seen.add(next);
        page = await request(next, call).get();
      }
    });

  const api: GraphApplicationsApi = {
    async getApplication(ref, call = {}) {
      if (ref.objectId) {
        const op: GraphOperation = { name: "getApplication", objectId: ref.objectId, appId: ref.appId };
        const json = await run(
          op,
          () =>
            request(`/applications/${encodeURIComponent(ref.objectId!)}`, call)
              .select(APP_SELECT)
              .get() as Promise<unknown>,
        );
        if (!isJsonObject(json)) throw invalidResponse(op, "the application is not an object");
        if (text(json.appId).toLowerCase() !== ref.appId.toLowerCase()) {
          throw new RotatorError(
            "GRAPH_APP_NOT_FOUND",
            `Application object ${ref.objectId} has appId ${String(json.appId)}, not the configured client ID ${ref.appId}.`,
            { hint: "The credential set's objectId and clientId name different app registrations; fix or remove the objectId.", status: 200 },
          );
        }
        return toAppRegistration(json, op);
      }
      const found = await listAll(
        { name: "getApplication", appId: ref.appId },
        request("/applications", call)
          .filter(`appId eq '${odataString(ref.appId)}'`)
          .select(APP_SELECT),
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
      return toAppRegistration(json, { name: "getApplication", appId: ref.appId });
    },

    async addPassword(objectId, credential, call = {}): Promise<NewPasswordCredential> {
      const op: GraphOperation = { name: "addPassword", objectId };
      let json: Json | undefined;
      for (let attempt = 1; json === undefined; attempt++) {
        try {
          json = (await request(`/applications/${encodeURIComponent(objectId)}/addPassword`, call, noRetry).post({
            passwordCredential: { displayName: credential.displayName, endDateTime: credential.endDateTime },
          })) as Json;
        } catch (e) {
          if (!isConcurrentRequests(e) || attempt >= concurrency.maxAttempts) throw mapGraphError(e, op, options.redactor);
          await backoff(attempt, call, op);
          // addPassword is not idempotent: retry only once the app shows no credential with this name.
          const app = await run(
            op,
            () =>
              request(`/applications/${encodeURIComponent(objectId)}`, call)
                .select(["id", "passwordCredentials"])
                .get() as Promise<Json>,
          );
          const appeared = asArray(app.passwordCredentials)
            .map((p) => p as Json)
            .find((p) => p.displayName === credential.displayName);
          if (appeared) {
            throw new RotatorError(
              "GRAPH_ADD_PASSWORD_UNCONFIRMED",
              `Graph refused addPassword on application ${objectId} (concurrent requests), yet a credential named "${credential.displayName}" ` +
                `(keyId ${String(appeared.keyId)}) now exists; its value was never returned, so it is not retried.`,
              {
                hint: "Nothing to do by hand: the next pass removes the credential carrying this run's name (its value is lost) and creates a new one.",
                status: 400,
                upstreamCode: "Request_BadRequest",
                retryable: true,
              },
            );
          }
        }
      }
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
      const op: GraphOperation = { name: "removePassword", objectId, keyId };
      for (let attempt = 1; ; attempt++) {
        try {
          await request(`/applications/${encodeURIComponent(objectId)}/removePassword`, call, repeatable).post({ keyId });
          return;
        } catch (e) {
          if (isConcurrentRequests(e)) {
            // Refused before it was applied; removing a key twice is harmless anyway.
            if (attempt >= concurrency.maxAttempts) throw mapGraphError(e, op, options.redactor);
            await backoff(attempt, call, op);
            continue;
          }
          const status = e instanceof GraphError ? e.statusCode : undefined;
          // Graph refuses an unknown keyId; a key that is already gone is what we wanted. Decide by
          // looking, not by parsing the error text.
          if (status === 400 || status === 404) {
            const present = await run(op, async () => {
              const app = (await request(`/applications/${encodeURIComponent(objectId)}`, call)
                .select(["id", "passwordCredentials"])
                .get()) as Json;
              return asArray(app.passwordCredentials).some((p) => String((p as Json).keyId).toLowerCase() === keyId.toLowerCase());
            });
            if (!present) return;
          }
          throw mapGraphError(e, op, options.redactor);
        }
      }
    },

    async getAppManagementPolicy(ref, call = {}) {
      const op: GraphOperation = { name: "getAppManagementPolicy", appId: ref.appId };
      // The app's object ID and creation date decide which policy and which restrictions apply.
      const app = ref.objectId
        ? await run(
            op,
            () =>
              request(`/applications/${encodeURIComponent(ref.objectId!)}`, call)
                .select(["id", "appId", "createdDateTime"])
                .get() as Promise<Json>,
          )
        : (
            await listAll(
              op,
              request("/applications", call)
                .filter(`appId eq '${odataString(ref.appId)}'`)
                .select(["id", "appId", "createdDateTime"]),
              call,
            )
          )[0];
      if (!app) {
        throw new RotatorError("GRAPH_APP_NOT_FOUND", `No application with client ID ${ref.appId} is visible to the rotator's identity.`, {
          hint: "Check the credential set's clientId; with Application.ReadWrite.OwnedBy the rotator must be an owner of the app registration.",
          status: 200,
        });
      }
      const [tenantDefault, appPolicies] = await Promise.all([
        run(op, () => request("/policies/defaultAppManagementPolicy", call).get() as Promise<Json>),
        listAll(op, request(`/applications/${encodeURIComponent(String(app.id))}/appManagementPolicies`, call), call),
      ]);
      const restrictionsOf = (r: unknown): PasswordRestrictionDoc[] => asArray(((r ?? {}) as Json).passwordCredentials) as PasswordRestrictionDoc[];
      const doc = (p: Json, restrictions: unknown): PolicyDoc => ({
        id: text(p.id),
        isEnabled: p.isEnabled !== false,
        passwordCredentials: restrictionsOf(restrictions),
      });
      return effectiveAppManagementPolicy({
        appCreatedDateTime: typeof app.createdDateTime === "string" ? app.createdDateTime : null,
        tenantDefault: doc(tenantDefault, tenantDefault.applicationRestrictions),
        appPolicies: appPolicies.map((p) => doc(p, p.restrictions)),
      });
    },

    async getServicePrincipal(appId, call = {}) {
      const found = await listAll(
        { name: "getServicePrincipal", appId },
        request("/servicePrincipals", call)
          .filter(`appId eq '${odataString(appId)}'`)
          .select(["id", "appId", "appRoleAssignmentRequired"]),
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
    startDateTime: text(p.startDateTime),
    endDateTime: text(p.endDateTime),
  };
}

/** A Graph field as text: a string as-is, anything else (missing, or a hostile object) as "". */
function text(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : "";
}

function isJsonObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function sameOrigin(link: string, baseUrl: string): boolean {
  try {
    return new URL(link).origin === new URL(baseUrl).origin;
  } catch {
    return false;
  }
}

/**
 * An application whose identity or credentials are not what Graph documents is refused, never
 * read leniently: "no passwordCredentials" would tell the planner the app has no secrets at all.
 */
function toAppRegistration(json: Json, op: GraphOperation): AppRegistration {
  if (typeof json.id !== "string" || json.id === "" || typeof json.appId !== "string" || json.appId === "")
    throw invalidResponse(op, "the application has no id or appId");
  if (!Array.isArray(json.passwordCredentials)) throw invalidResponse(op, "the application's passwordCredentials is not a list");
  for (const p of json.passwordCredentials) {
    if (!isJsonObject(p) || typeof p.keyId !== "string" || p.keyId === "") throw invalidResponse(op, "a password credential has no keyId");
    if (p.endDateTime !== undefined && p.endDateTime !== null && (typeof p.endDateTime !== "string" || Number.isNaN(Date.parse(p.endDateTime)))) {
      throw invalidResponse(op, "a password credential's endDateTime is not a date");
    }
  }
  const web = (json.web ?? {}) as Json;
  const implicit = (web.implicitGrantSettings ?? {}) as Json;
  return {
    id: String(json.id),
    appId: String(json.appId),
    displayName: text(json.displayName),
    signInAudience: text(json.signInAudience),
    createdDateTime: typeof json.createdDateTime === "string" ? json.createdDateTime : null,
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
