import { randomBytes } from "node:crypto";
import { RotatorError } from "../../errors.js";
import type { HttpClient, HttpMethod } from "../../http/client.js";
import { silentLogger, type Logger } from "../../logging.js";
import { GatewayErrorCode, mapGatewayError } from "../errors.js";
import { computeFingerprint } from "../fingerprint.js";
import { sameClientId } from "../match.js";
import { createRateLimiter } from "../rateLimiter.js";
import type { GatewayAdapter, GatewayCallOptions, GatewayTarget, TargetFilter } from "../types.js";
import { kongApi, type KongGatewayConfig, type KongScope } from "./api.js";
import { parseKong, pluginPageSchema, pluginSchema, type KongPluginBody, type KongPluginPage } from "./schemas.js";

/**
 * `kong-openid-connect`: Kong Gateway's `openid-connect` plugins over the self-hosted Admin API
 * (optionally per Enterprise workspace) or a Konnect control plane (../shared/specs/kong-openid-connect.md;
 * what differs between the two is in api.ts). A target is a plugin whose `config.client_id` array
 * holds the set's client ID; its secret is `config.client_secret` at the same index.
 * The Admin API's PATCH replaces arrays whole (§ PATCH semantics), so the whole array is sent;
 * Konnect has no PATCH (§ Konnect equivalent), so the whole entity as read is PUT back.
 * There is no ETag (§ Concurrency): every write is followed by a re-read, and the re-read's salted
 * hash is what the engine sees, so a write another writer undid is caught.
 * GET returns secrets in clear (§ Is client_secret returned on GET), including other clients'
 * secrets in the same plugin: they are hashed with a salt that never leaves this adapter and are
 * never logged. A plugin that holds a `{vault://…}` reference is not written: Kong refreshes it itself.
 */
export type { KongGatewayConfig };

export interface KongAdapterOptions {
  config: KongGatewayConfig;
  /** From Key Vault: the RBAC admin token (Admin API; undefined when RBAC is off) or the Konnect access token. */
  token?: string;
  http: HttpClient;
  /** The set's client ID, for reads outside a listing; listings use the filter's. */
  clientId?: string;
  logger?: Logger;
}

/** A `{vault://…}` reference (§ Vault references). */
function isVaultReference(value: string): boolean {
  return /^\{vault:\/\/.+\}$/.test(value.trim());
}

/**
 * Config values a full PUT carries back that may be secrets besides client_secret (session secrets,
 * JWKs, Redis passwords …): the HTTP layer scrubs them from any error text. Named by key, because
 * the plugin has some 224 config fields and the adapter reads only three.
 */
function sensitiveConfigValues(config: Record<string, unknown>): string[] {
  return Object.entries(config).flatMap(([k, v]) =>
    /secret|password|jwk|key|token/i.test(k) ? (Array.isArray(v) ? v : [v]).filter((s): s is string => typeof s === "string" && s !== "") : [],
  );
}

const MAX_PAGES = 1_000;

/** A plugin as read: the checked fields, and the whole body a full PUT sends back. */
interface ReadPlugin {
  plugin: KongPluginBody;
  raw: Record<string, unknown>;
}

export function createKongAdapter(options: KongAdapterOptions): GatewayAdapter {
  const { config, token, http } = options;
  const api = kongApi(config, token);
  if (api.tokenSecretName && !token) {
    throw new RotatorError(GatewayErrorCode.TokenMissing, `Kong: no token was given for the kong-openid-connect adapter (${api.label})`, {
      hint: `Store the ${config.api === "konnect" ? "Konnect access token" : "Kong RBAC admin token"} in Key Vault as "${api.tokenSecretName}".`,
    });
  }
  const limiter = createRateLimiter({ requestsPerSecond: config.maxRequestsPerSecond });
  const log = (options.logger ?? silentLogger).child({ gateway: "kong-openid-connect" });
  // Per adapter, never stored or logged: hashes of secrets read in clear are comparable only here.
  const salt = randomBytes(16).toString("hex");
  let wantedClientId = options.clientId;

  const call = async (spec: {
    operation: string;
    method: HttpMethod;
    scope: KongScope;
    path: string;
    json?: unknown;
    targetId?: string;
    secrets?: string[];
    abortSignal?: AbortSignal | undefined;
  }): Promise<unknown> => {
    await limiter.acquire(spec.abortSignal);
    try {
      const res = await http.request({
        beforeRetry: (signal) => limiter.acquire(signal),
        method: spec.method,
        url: api.baseUrl + spec.path,
        json: spec.json,
        headers: { Accept: "application/json", ...api.headers },
        abortSignal: spec.abortSignal,
        secrets: [...(api.token ? [api.token] : []), ...(spec.secrets ?? [])],
      });
      return res.data;
    } catch (e) {
      throw mapGatewayError(e, {
        operation: spec.operation,
        tenant: api.baseUrl,
        apiTokenSecretName: api.tokenSecretName ?? "(RBAC off: no admin token)",
        write: spec.method !== "GET",
        scopeLabel: spec.scope.label,
        hints: { unauthorized: api.hints.unauthorized, forbidden: api.hints.forbidden(spec.scope), notFound: api.hints.notFound(spec.scope) },
        ...(spec.targetId !== undefined ? { targetId: spec.targetId } : {}),
      });
    }
  };

  /** The scope and plugin ID a target ID names (api.ts: `{workspace}:{plugin id}` when workspaces are configured). */
  const locate = (targetId: string): { scope: KongScope; pluginId: string } => {
    const scope = api.scopes.find((s) => targetId.startsWith(s.idPrefix));
    if (!scope || targetId.length === scope.idPrefix.length) {
      throw new RotatorError(GatewayErrorCode.TargetNotFound, `Kong: target ${targetId} is in none of the configured workspaces`, {
        hint: "The workspace was removed from groups[].workspaces since the target was listed; the next run rediscovers targets.",
      });
    }
    return { scope, pluginId: targetId.slice(scope.idPrefix.length) };
  };

  const pluginPath = (scope: KongScope, pluginId: string): string => `${scope.pluginsPath}/${encodeURIComponent(pluginId)}`;

  /** Indexes of `clientId` in the plugin's client_id array. */
  const slots = (p: KongPluginBody, clientId: string): number[] => (p.config.client_id ?? []).flatMap((c, i) => (sameClientId(c, clientId) ? [i] : []));

  /**
   * The plugin as a target for `clientId`, its fingerprint over every aligned secret (they must all
   * be the same to match: a plugin half-written is not on the new secret). Undefined when the
   * plugin no longer names the client ID.
   */
  const toTarget = (scope: KongScope, p: KongPluginBody, clientId: string): GatewayTarget | undefined => {
    const at = slots(p, clientId);
    if (p.name !== "openid-connect" || at.length === 0) return undefined;
    const secrets = at.map((i) => p.config.client_secret?.[i] ?? "");
    const same = secrets.every((s) => s === secrets[0]) && secrets[0] !== "";
    const name = p.instance_name ?? `openid-connect ${p.id}${p.service ? ` (service ${p.service.id})` : p.route ? ` (route ${p.route.id})` : ""}`;
    return {
      id: scope.idPrefix + p.id,
      name: scope.namePrefix + name,
      tokenName: "openid-connect",
      tokenUrl: p.config.issuer ?? "",
      clientId: p.config.client_id![at[0]!]!,
      scopes: [],
      additionalParameters: {},
      ...(typeof p.updated_at === "number" ? { secretUpdatedAt: new Date(p.updated_at * 1000).toISOString() } : {}),
      // Never equal to a real fingerprint when the aligned entries differ or are empty.
      secretFingerprint: same ? computeFingerprint(salt, secrets[0]!) : "",
      fingerprintSalt: salt,
    };
  };

  const referenceIn = (p: KongPluginBody, clientId: string): boolean => slots(p, clientId).some((i) => isVaultReference(p.config.client_secret?.[i] ?? ""));

  const readPlugin = async (targetId: string, abortSignal: AbortSignal | undefined): Promise<ReadPlugin & { scope: KongScope }> => {
    const { scope, pluginId } = locate(targetId);
    const path = pluginPath(scope, pluginId);
    const data = await call({ operation: `read openid-connect plugin ${targetId}`, method: "GET", scope, path, targetId, abortSignal });
    return { scope, plugin: parseKong(pluginSchema, data, `GET ${path}`), raw: data as Record<string, unknown> };
  };

  const asTarget = (scope: KongScope, p: KongPluginBody, clientId: string): GatewayTarget => {
    const t = toTarget(scope, p, clientId);
    if (!t) {
      throw new RotatorError(GatewayErrorCode.TargetChanged, `Kong: plugin ${p.id} no longer lists the set's client ID in config.client_id`, {
        hint: "Someone changed the plugin's client_id; the next run rediscovers targets. Check the plugin in Kong.",
      });
    }
    return t;
  };

  /** Every plugin of one scope, across pages (§ Pagination), as targets for `filter`. */
  const listScope = async (scope: KongScope, filter: TargetFilter, abortSignal: AbortSignal | undefined): Promise<GatewayTarget[]> => {
    const out: GatewayTarget[] = [];
    const first = `${scope.pluginsPath}?size=${config.pageSize}`;
    let path: string | undefined = first;
    const seen = new Set<string>();
    let pages = 0;
    while (path) {
      if (++pages > MAX_PAGES) throw badListing(scope, `more than ${MAX_PAGES} pages`);
      const data = await call({ operation: `list plugins of ${scope.label}`, method: "GET", scope, path, abortSignal });
      const page: KongPluginPage = parseKong(pluginPageSchema, data, `GET ${scope.pluginsPath}`);
      for (const raw of page.data) {
        const p = pluginSchema.safeParse(raw);
        if (!p.success || p.data.name !== "openid-connect") continue;
        const t = toTarget(scope, p.data, filter.clientId);
        if (!t) continue;
        if (referenceIn(p.data, filter.clientId)) {
          // § Vault references: Kong fetches the secret from the vault itself; writing the value would replace the reference.
          const why = "its config.client_secret holds a {vault://…} reference: Kong refreshes it from the vault itself (its ttl plus up to 60 s); not written";
          log.info(`plugin ${t.name} [target=${t.id}] ${why}`);
          filter.onRefreshedByConsumer?.(t, why);
          continue;
        }
        out.push(t);
      }
      // § Pagination (Konnect answers the same {data, next, offset}): only the offset is taken; `next` says whether there is more.
      const offset: string | undefined = page.offset ?? undefined;
      if (!page.next || offset === undefined) break;
      if (seen.has(offset)) throw badListing(scope, "the offset repeats (the listing would never end)");
      seen.add(offset);
      path = `${first}&offset=${encodeURIComponent(offset)}`;
    }
    log.debug(`listed ${pages} page(s) of plugins in ${scope.label}; ${out.length} openid-connect plugin(s) use client ${filter.clientId}`);
    return out;
  };

  const badListing = (scope: KongScope, why: string): RotatorError =>
    new RotatorError(GatewayErrorCode.BadResponse, `Kong: listing ${scope.pluginsPath} failed: ${why}`, {
      hint: `Check groups[].${api.urlField} points at the ${config.api === "konnect" ? "Konnect API" : "Kong Admin API"}; the next pass retries.`,
    });

  return {
    kind: "kong-openid-connect",
    // Written over the API; a re-read's salted hash proves what Kong stores.
    capabilities: { delivery: "push", pickupProof: "fingerprint", maxConcurrency: config.maxConcurrency, testConnection: false },

    async listTargets(filter: TargetFilter, callOptions?: GatewayCallOptions): Promise<GatewayTarget[]> {
      wantedClientId = filter.clientId;
      const out: GatewayTarget[] = [];
      // One workspace after the other: a refused or missing workspace fails the listing rather than hiding its plugins.
      for (const scope of api.scopes) out.push(...(await listScope(scope, filter, callOptions?.abortSignal)));
      return out;
    },

    async readTarget(id, callOptions) {
      const { scope, plugin } = await readPlugin(id, callOptions?.abortSignal);
      return asTarget(scope, plugin, wantedClientId ?? plugin.config.client_id?.[0] ?? "");
    },

    async updateClientSecret(id, clientSecret, callOptions) {
      const clientId = wantedClientId;
      if (!clientId)
        throw new RotatorError("KONG_CLIENT_UNKNOWN", "Kong: the set's client ID is not known to the adapter", {
          hint: "This is a defect in the rotator: report it.",
          retryable: false,
        });
      const { scope, plugin: before, raw } = await readPlugin(id, callOptions?.abortSignal);
      const at = slots(before, clientId);
      if (at.length === 0) asTarget(scope, before, clientId);
      if (referenceIn(before, clientId)) {
        throw new RotatorError("KONG_VAULT_REFERENCE", `Kong: plugin ${id} holds a {vault://…} reference for the client secret; it is not overwritten`, {
          hint: "Kong refreshes a vault reference itself; make sure the vault entity's ttl is set (0 means never) so the new Key Vault version is fetched.",
          retryable: false,
        });
      }
      const ids = before.config.client_id ?? [];
      const old = before.config.client_secret ?? [];
      // Index-aligned with client_id; a shorter array is padded so client i keeps secret i (§ PATCH semantics).
      const next = ids.map((_, i) => (at.includes(i) ? clientSecret : (old[i] ?? "")));
      const rawConfig = raw["config"] as Record<string, unknown>;
      const json =
        api.writeMethod === "PATCH"
          ? { config: { client_secret: next, ...(next.length !== old.length ? { client_id: ids } : {}) } }
          : // § Konnect equivalent: no PATCH; a PUT replaces the entity, so everything read goes back (last writer wins: § Concurrency).
            { ...raw, config: { ...rawConfig, client_id: ids, client_secret: next } };
      await call({
        operation: `update the client secret of openid-connect plugin ${id}`,
        method: api.writeMethod,
        scope,
        path: pluginPath(scope, before.id),
        json,
        targetId: id,
        secrets: [clientSecret, ...old.filter((s) => s !== ""), ...sensitiveConfigValues(rawConfig)],
        abortSignal: callOptions?.abortSignal,
      });
      // No ETag: what Kong answered to the write may already be overwritten. Only a fresh read counts.
      const reread = await readPlugin(id, callOptions?.abortSignal);
      const after = asTarget(scope, reread.plugin, clientId);
      log.info(`updated the client secret of plugin ${after.name} [target=${id}] with ${api.writeMethod} and read it back`);
      return after;
    },
  };
}
