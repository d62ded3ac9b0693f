import { randomBytes } from "node:crypto";
import type { GatewayConfig } from "../../config/schema.js";
import { RotatorError } from "../../errors.js";
import type { HttpClient, HttpMethod } from "../../http/client.js";
import { silentLogger, type Logger } from "../../logging.js";
import { GatewayErrorCode, mapGatewayError } from "../errors.js";
import { computeFingerprint } from "../fingerprint.js";
import { sameClientId } from "../match.js";
import { createRateLimiter } from "../rateLimiter.js";
import type { GatewayAdapter, GatewayCallOptions, GatewayTarget, TargetFilter } from "../types.js";
import { parseKong, pluginPageSchema, pluginSchema, type KongPluginBody, type KongPluginPage } from "./schemas.js";

/**
 * `kong-openid-connect`: the self-hosted Kong Gateway Admin API (../shared/specs/kong-openid-connect.md).
 * A target is an `openid-connect` plugin whose `config.client_id` array holds the set's client ID;
 * its secret is `config.client_secret` at the same index. A PATCH replaces arrays whole (§ PATCH
 * semantics), so the adapter reads the plugin, replaces only the aligned entries and sends the
 * whole array. There is no ETag (§ Concurrency): every write is followed by a re-read, and the
 * re-read's salted hash is what the engine sees, so a write another writer undid is caught.
 * GET returns secrets in clear (§ Is client_secret returned on GET), including other clients'
 * secrets in the same plugin: they are hashed with a salt that never leaves this adapter and are
 * never logged. A plugin that holds a `{vault://…}` reference is not written: Kong refreshes it itself.
 * Konnect (PUT only, another API) is not supported yet.
 */
export type KongGatewayConfig = Extract<GatewayConfig, { kind: "kong-openid-connect" }>;

export interface KongAdapterOptions {
  config: KongGatewayConfig;
  /** The RBAC admin token from Key Vault; undefined when RBAC is off. */
  adminToken?: string;
  http: HttpClient;
  /** The set's client ID, for reads outside a listing; listings use the filter's. */
  clientId?: string;
  logger?: Logger;
}

/** A `{vault://…}` reference (§ Vault references). */
function isVaultReference(value: string): boolean {
  return /^\{vault:\/\/.+\}$/.test(value.trim());
}

const MAX_PAGES = 1_000;

export function createKongAdapter(options: KongAdapterOptions): GatewayAdapter {
  const { config, adminToken, http } = options;
  if (config.adminTokenSecretName && !adminToken) {
    throw new RotatorError(GatewayErrorCode.TokenMissing, "Kong: no admin token was given for the kong-openid-connect adapter", {
      hint: `Store the Kong RBAC admin token in Key Vault as "${config.adminTokenSecretName}".`,
    });
  }
  const limiter = createRateLimiter({ requestsPerSecond: config.maxRequestsPerSecond });
  const log = (options.logger ?? silentLogger).child({ gateway: "kong-openid-connect" });
  const base = config.adminUrl.replace(/\/+$/, "");
  // Per adapter, never stored or logged: hashes of secrets read in clear are comparable only here.
  const salt = randomBytes(16).toString("hex");
  let wantedClientId = options.clientId;

  const call = async (spec: {
    operation: string;
    method: HttpMethod;
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
        url: base + spec.path,
        json: spec.json,
        headers: { Accept: "application/json", ...(adminToken ? { [config.adminTokenHeader]: adminToken } : {}) },
        abortSignal: spec.abortSignal,
        secrets: [...(adminToken ? [adminToken] : []), ...(spec.secrets ?? [])],
      });
      return res.data;
    } catch (e) {
      throw mapGatewayError(e, {
        operation: spec.operation,
        tenant: base,
        apiTokenSecretName: config.adminTokenSecretName ?? "(RBAC off: no admin token)",
        write: spec.method === "PATCH",
        ...(spec.targetId !== undefined ? { targetId: spec.targetId } : {}),
      });
    }
  };

  /** Indexes of `clientId` in the plugin's client_id array. */
  const slots = (p: KongPluginBody, clientId: string): number[] => (p.config.client_id ?? []).flatMap((c, i) => (sameClientId(c, clientId) ? [i] : []));

  /**
   * The plugin as a target for `clientId`, its fingerprint over every aligned secret (they must all
   * be the same to match: a plugin half-written is not on the new secret). Undefined when the
   * plugin no longer names the client ID.
   */
  const toTarget = (p: KongPluginBody, clientId: string): GatewayTarget | undefined => {
    const at = slots(p, clientId);
    if (p.name !== "openid-connect" || at.length === 0) return undefined;
    const secrets = at.map((i) => p.config.client_secret?.[i] ?? "");
    const same = secrets.every((s) => s === secrets[0]) && secrets[0] !== "";
    return {
      id: p.id,
      name: p.instance_name ?? `openid-connect ${p.id}${p.service ? ` (service ${p.service.id})` : p.route ? ` (route ${p.route.id})` : ""}`,
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

  const readPlugin = async (id: string, abortSignal: AbortSignal | undefined): Promise<KongPluginBody> => {
    const data = await call({
      operation: `read openid-connect plugin ${id}`,
      method: "GET",
      path: `/plugins/${encodeURIComponent(id)}`,
      targetId: id,
      abortSignal,
    });
    return parseKong(pluginSchema, data, `GET /plugins/${id}`);
  };

  const asTarget = (p: KongPluginBody, clientId: string): GatewayTarget => {
    const t = toTarget(p, clientId);
    if (!t) {
      throw new RotatorError(GatewayErrorCode.TargetChanged, `Kong: plugin ${p.id} no longer lists the set's client ID in config.client_id`, {
        hint: "Someone changed the plugin's client_id; the next run rediscovers targets. Check the plugin in Kong.",
      });
    }
    return t;
  };

  return {
    kind: "kong-openid-connect",
    // Written over the Admin API; a re-read's salted hash proves what Kong stores.
    capabilities: { delivery: "push", pickupProof: "fingerprint", maxConcurrency: config.maxConcurrency, testConnection: false },

    async listTargets(filter: TargetFilter, callOptions?: GatewayCallOptions): Promise<GatewayTarget[]> {
      wantedClientId = filter.clientId;
      const out: GatewayTarget[] = [];
      let path: string | undefined = `/plugins?size=${config.pageSize}`;
      const seen = new Set<string>();
      let pages = 0;
      while (path) {
        if (++pages > MAX_PAGES) throw badListing(`more than ${MAX_PAGES} pages`);
        const data = await call({ operation: "list plugins", method: "GET", path, abortSignal: callOptions?.abortSignal });
        const page: KongPluginPage = parseKong(pluginPageSchema, data, `GET ${path.split("?")[0]}`);
        for (const raw of page.data) {
          const p = pluginSchema.safeParse(raw);
          if (!p.success || p.data.name !== "openid-connect") continue;
          const t = toTarget(p.data, filter.clientId);
          if (!t) continue;
          if (referenceIn(p.data, filter.clientId)) {
            // § Vault references: Kong fetches the secret from the vault itself; writing the value would replace the reference.
            const why =
              "its config.client_secret holds a {vault://…} reference: Kong refreshes it from the vault itself (its ttl plus up to 60 s); not written";
            log.info(`plugin ${t.name} [target=${t.id}] ${why}`);
            filter.onRefreshedByConsumer?.(t, why);
            continue;
          }
          out.push(t);
        }
        // § Pagination: `next` is a relative path, null on the last page. Only the offset is taken from it.
        const offset: string | undefined = page.offset ?? undefined;
        if (!page.next || offset === undefined) break;
        if (seen.has(offset)) throw badListing("the offset repeats (the listing would never end)");
        seen.add(offset);
        path = `/plugins?size=${config.pageSize}&offset=${encodeURIComponent(offset)}`;
      }
      log.debug(`listed ${pages} page(s) of plugins; ${out.length} openid-connect plugin(s) use client ${filter.clientId}`);
      return out;
    },

    async readTarget(id, callOptions) {
      const p = await readPlugin(id, callOptions?.abortSignal);
      return asTarget(p, wantedClientId ?? p.config.client_id?.[0] ?? "");
    },

    async updateClientSecret(id, clientSecret, callOptions) {
      const clientId = wantedClientId;
      if (!clientId)
        throw new RotatorError("KONG_CLIENT_UNKNOWN", "Kong: the set's client ID is not known to the adapter", {
          hint: "This is a defect in the rotator: report it.",
          retryable: false,
        });
      const before = await readPlugin(id, callOptions?.abortSignal);
      const at = slots(before, clientId);
      if (at.length === 0) asTarget(before, clientId);
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
      const lengthChanged = next.length !== old.length;
      const others = old.filter((s) => s !== "");
      await call({
        operation: `update the client secret of openid-connect plugin ${id}`,
        method: "PATCH",
        path: `/plugins/${encodeURIComponent(id)}`,
        json: { config: { client_secret: next, ...(lengthChanged ? { client_id: ids } : {}) } },
        targetId: id,
        secrets: [clientSecret, ...others],
        abortSignal: callOptions?.abortSignal,
      });
      // No ETag: what Kong answered to the PATCH may already be overwritten. Only a fresh read counts.
      const after = asTarget(await readPlugin(id, callOptions?.abortSignal), clientId);
      log.info(`updated the client secret of plugin ${after.name} [target=${id}] and read it back`);
      return after;
    },
  };
}

function badListing(why: string): RotatorError {
  return new RotatorError(GatewayErrorCode.BadResponse, `Kong: listing /plugins failed: ${why}`, {
    hint: "Check groups[].adminUrl points at the Kong Admin API; the next pass retries.",
  });
}
