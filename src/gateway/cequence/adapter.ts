import type { GatewayConfig } from "../../config/schema.js";
import { RotatorError } from "../../errors.js";
import type { HttpClient, HttpMethod } from "../../http/client.js";
import { silentLogger, type Logger } from "../../logging.js";
import { GatewayErrorCode, mapGatewayError } from "../errors.js";
import { matchesFilter } from "../match.js";
import { createRateLimiter, type RateLimiter } from "../rateLimiter.js";
import { classifyTokenUrl, discoveryDomainResolver } from "../tenant.js";
import type { GatewayAdapter, GatewayCallOptions, GatewayTarget, TargetFilter } from "../types.js";
import { createServerListing } from "./listing.js";
import { badResponse, mcpServerSchema, oauth2AuthenticationSchema, parseGatewayResponse, testConnectionSchema, type McpServer } from "./schemas.js";

/**
 * The HTTP adapter for docs/gateway-contract.md (Cequence AI Gateway, or any gateway that
 * implements the contract). It paces itself to `maxRequestsPerSecond`, lets HttpClient wait out
 * 429 + Retry-After (a throttled PATCH was not applied, so it is retried too), and keeps the API
 * token out of every error and log line.
 *
 * A 412 on update is NOT retried here: the adapter does not know what the caller expects the
 * server to look like. `propagateSecret` re-reads the server, checks that it still uses the same
 * client ID and token URL (or already holds the new secret), and only then retries.
 */
export type CequenceGatewayConfig = Extract<GatewayConfig, { kind: "cequence" }>;

export interface CequenceAdapterOptions {
  config: CequenceGatewayConfig;
  apiToken: string;
  http: HttpClient;
  /** Share one limiter between adapters that talk to the same gateway; default: one per adapter at `maxRequestsPerSecond`. */
  rateLimiter?: RateLimiter;
  logger?: Logger;
  /** How long one listing may take, all pages together; default 120 s. */
  listBudgetInMs?: number;
  /** Injected for tests; default Date.now. */
  now?: () => number;
}

const TENANT_HEADER = "X-Gateway-Tenant";
const DEFAULT_LIST_BUDGET_MS = 120_000;

export function createCequenceAdapter(options: CequenceAdapterOptions): GatewayAdapter {
  const { config, apiToken, http } = options;
  if (!apiToken) {
    throw new RotatorError(GatewayErrorCode.TokenMissing, "Gateway: no API token was given for the cequence adapter", {
      hint: `Store the gateway admin API token in Key Vault as "${config.apiTokenSecretName}".`,
    });
  }
  const limiter = options.rateLimiter ?? createRateLimiter({ requestsPerSecond: config.maxRequestsPerSecond });
  const log = (options.logger ?? silentLogger).child({ gateway: "cequence", tenant: config.tenant });
  const base = config.baseUrl.replace(/\/+$/, "");

  const url = (template: string, id?: string): string =>
    base + template.replaceAll("{tenant}", encodeURIComponent(config.tenant)).replaceAll("{id}", id === undefined ? "" : encodeURIComponent(id));

  interface CallSpec {
    operation: string;
    method: HttpMethod;
    url: string;
    targetId?: string;
    query?: Record<string, string | number | undefined>;
    json?: unknown;
    headers?: Record<string, string>;
    idempotent?: boolean;
    secrets?: string[];
    abortSignal?: AbortSignal;
  }

  const call = async (spec: CallSpec): Promise<{ status: number; data: unknown; headers: Record<string, string> }> => {
    await limiter.acquire(spec.abortSignal);
    try {
      const res = await http.request({
        // Every attempt, retries included, spends the one budget; a 429 slows every caller down.
        onErrorResponse: ({ status, retryAfterMs }) => {
          if (status === 429) limiter.onThrottled?.(retryAfterMs);
          else limiter.onAccepted?.();
        },
        beforeRetry: (signal) => limiter.acquire(signal),
        method: spec.method,
        url: spec.url,
        query: spec.query,
        json: spec.json,
        headers: {
          Authorization: `Bearer ${apiToken}`,
          [TENANT_HEADER]: config.tenant,
          Accept: "application/json",
          ...spec.headers,
        },
        abortSignal: spec.abortSignal,
        ...(spec.idempotent !== undefined ? { idempotent: spec.idempotent } : {}),
        secrets: [apiToken, ...(spec.secrets ?? [])],
      });
      limiter.onAccepted?.();
      return { status: res.status, data: res.data, headers: res.headers };
    } catch (e) {
      throw mapGatewayError(e, {
        operation: spec.operation,
        tenant: config.tenant,
        apiTokenSecretName: config.apiTokenSecretName,
        write: spec.method === "PATCH",
        ...(spec.targetId !== undefined ? { targetId: spec.targetId } : {}),
      });
    }
  };

  const resolveDomain = discoveryDomainResolver(http);
  /** Only what a target needs is kept; a server of another tenant is reported, not kept. */
  const sameTenant = async (t: GatewayTarget, filter: TargetFilter, abortSignal?: AbortSignal): Promise<boolean> => {
    if (!filter.tenant) return true;
    const verdict = await classifyTokenUrl(t.tokenUrl, filter.tenant, resolveDomain, abortSignal);
    if (verdict.same) return true;
    log.warn(`MCP server ${t.name} [target=${t.id}] uses client ${filter.clientId} but another tenant (${verdict.why}); reported as drift, not updated`);
    filter.onDrift?.(t, verdict.why);
    return false;
  };

  const readOne = async (id: string, options: GatewayCallOptions | undefined): Promise<GatewayTarget> => {
    const what = `GET ${serverPath(config.paths.list)} for MCP server ${id}`;
    const res = await call({
      operation: `read MCP server ${id}`,
      method: "GET",
      url: url(serverPath(config.paths.list), id),
      targetId: id,
      abortSignal: options?.abortSignal,
    });
    const server = parseGatewayResponse(mcpServerSchema, res.data, what);
    const target = toTarget(server, what, "");
    if (!target) {
      throw new RotatorError(GatewayErrorCode.TargetNotOAuth2, `Gateway: MCP server ${id} no longer uses OAuth 2.0 client credentials`, {
        hint: "Someone changed the server's Authentication step; the next run rediscovers targets. Check the server in the gateway console.",
      });
    }
    return target;
  };

  const listing = createServerListing({
    call: async ({ query, headers, abortSignal }) =>
      call({ operation: "list MCP servers", method: "GET", url: url(config.paths.list), query, ...(headers ? { headers } : {}), abortSignal }),
    listPath: config.paths.list,
    pageSize: config.pageSize,
    maxConcurrency: config.maxConcurrency,
    toTarget,
    log,
    listBudgetInMs: options.listBudgetInMs ?? DEFAULT_LIST_BUDGET_MS,
    now: options.now ?? Date.now,
  });

  const adapter: GatewayAdapter = {
    kind: "cequence",
    // Writes over the admin API; a read-back's salted fingerprint proves which secret a server holds.
    capabilities: { delivery: "push", pickupProof: "fingerprint", maxConcurrency: config.maxConcurrency, testConnection: config.testConnection },

    async listTargets(filter: TargetFilter, options?: GatewayCallOptions): Promise<GatewayTarget[]> {
      const listed = await listing.list(filter.clientId, options?.abortSignal);
      const targets: GatewayTarget[] = [];
      for (const t of listed) if (matchesFilter(t, filter) && (await sameTenant(t, filter, options?.abortSignal))) targets.push(t);
      return targets;
    },

    readTarget: (id, options) => readOne(id, options),

    async updateClientSecret(id, clientSecret, options) {
      // Whatever the outcome, the gateway may have changed: the next listing pages through it again.
      listing.forget();
      const what = `PATCH ${config.paths.update} for MCP server ${id}`;
      const res = await call({
        operation: `update the client secret of MCP server ${id}`,
        method: "PATCH",
        url: url(config.paths.update, id),
        targetId: id,
        json: { clientSecret },
        ...(options?.ifMatch ? { headers: { "If-Match": options.ifMatch } } : {}),
        secrets: [clientSecret],
        abortSignal: options?.abortSignal,
      });
      const server = parseGatewayResponse(mcpServerSchema, res.data, what);
      const target = toTarget(server, what, "");
      if (!target) throw badResponse(what, "authentication.type is not oauth2 after a client-secret update");
      log.info(`updated the client secret of MCP server ${target.name} [target=${id}]`);
      return target;
    },
  };

  if (config.testConnection) {
    adapter.testConnection = async (id, options) => {
      const what = `POST ${config.paths.test} for MCP server ${id}`;
      let res: { data: unknown };
      try {
        res = await call({
          operation: `test the connection of MCP server ${id}`,
          method: "POST",
          url: url(config.paths.test, id),
          targetId: id,
          // Asking the gateway to fetch a token changes nothing: safe to repeat.
          idempotent: true,
          abortSignal: options?.abortSignal,
        });
      } catch (e) {
        if (e instanceof RotatorError && e.code === GatewayErrorCode.TargetNotFound) {
          throw new RotatorError(GatewayErrorCode.TestUnsupported, `${e.message}`, {
            hint: "Either the MCP server was deleted, or this gateway has no test-connection route: then set gateway.testConnection to false (or fix gateway.paths.test).",
            status: e.status,
            cause: e,
          });
        }
        throw e;
      }
      return parseGatewayResponse(testConnectionSchema, res.data, what);
    };
  }
  return adapter;
}

/** The contract's single-server route is the list route plus `/{id}` (`/mcp-servers/{id}`). */
function serverPath(listTemplate: string): string {
  return `${listTemplate.replace(/\/+$/, "")}/{id}`;
}

/** An MCP server as a target, or undefined when it does not use OAuth 2.0 client credentials. */
function toTarget(server: McpServer, what: string, prefix: string): GatewayTarget | undefined {
  if (!server.authentication || server.authentication.type !== "oauth2") return undefined;
  const auth = parseGatewayResponse(oauth2AuthenticationSchema, server.authentication, what, `${prefix}authentication`);
  return {
    id: server.id,
    name: server.name,
    tokenName: auth.tokenName,
    tokenUrl: auth.tokenUrl,
    clientId: auth.clientId,
    scopes: auth.scopes,
    additionalParameters: auth.additionalParameters,
    ...(auth.secretUpdatedAt ? { secretUpdatedAt: auth.secretUpdatedAt } : {}),
    secretFingerprint: auth.secretFingerprint.toLowerCase(),
    fingerprintSalt: auth.fingerprintSalt,
    etag: server.etag,
  };
}
