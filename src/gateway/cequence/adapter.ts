import type { GatewayConfig } from "../../config/schema.js";
import { RotatorError, ensureRotatorError } from "../../errors.js";
import type { HttpClient, HttpMethod } from "../../http/client.js";
import { silentLogger, type Logger } from "../../logging.js";
import { GatewayErrorCode, mapGatewayError } from "../errors.js";
import { matchesFilter } from "../match.js";
import { createRateLimiter, type RateLimiter } from "../rateLimiter.js";
import { classifyTokenUrl, discoveryDomainResolver } from "../tenant.js";
import type { GatewayAdapter, GatewayCallOptions, GatewayTarget, TargetFilter } from "../types.js";
import {
  badResponse,
  mcpServerPageSchema,
  mcpServerSchema,
  oauth2AuthenticationSchema,
  parseGatewayResponse,
  testConnectionSchema,
  type McpServer,
} from "./schemas.js";

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
/**
 * A gateway that pages forever (a cursor bug, a hostile peer) must not hang a rotation. The page
 * bound follows from the page size and the most MCP servers one listing may hold; the time bound
 * holds whatever the pace (10,000 pages at 5 requests/s would be 33 minutes).
 */
const MAX_LISTED_SERVERS = 10_000;
const DEFAULT_LIST_BUDGET_MS = 120_000;

export function createCequenceAdapter(options: CequenceAdapterOptions): GatewayAdapter {
  const { config, apiToken, http } = options;
  const adapterOptions = options;
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

  const call = async (spec: CallSpec): Promise<{ data: unknown; headers: Record<string, string> }> => {
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
      return { data: res.data, headers: res.headers };
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

  /**
   * The optional numbered-pages extension (docs/gateway-contract.md): pages 1 … pageCount − 1 of the
   * snapshot the first page named, `maxConcurrency` at a time, each through the limiter like any call.
   * False when the snapshot is gone (410) or the pages disagree with it (a repeated ID, more items
   * than it held): the caller then follows the cursors, and what was absorbed is merged by ID.
   */
  const numberedPages = async (
    pagination: { snapshot: string; pageCount: number; total: number },
    absorb: (items: McpServer[], what: string) => Promise<void>,
    abortSignal?: AbortSignal,
  ): Promise<boolean> => {
    if (pagination.pageCount > Math.ceil(MAX_LISTED_SERVERS / config.pageSize) + 1) return false;
    const results = new Map<number, McpServer[]>();
    let next = 1;
    const worker = async (): Promise<void> => {
      while (next < pagination.pageCount) {
        const n = next++;
        const what = `GET ${config.paths.list} (snapshot page ${n})`;
        const res = await call({
          operation: "list MCP servers",
          method: "GET",
          url: url(config.paths.list),
          query: { limit: config.pageSize, snapshot: pagination.snapshot, page: n },
          abortSignal,
        });
        results.set(n, parseGatewayResponse(mcpServerPageSchema, res.data, what).items);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(config.maxConcurrency, pagination.pageCount - 1)) }, worker));
    } catch (e) {
      next = pagination.pageCount; // the other workers stop after their page in flight
      const err = ensureRotatorError(e);
      if (err.status === 410) {
        log.warn(`the gateway's listing snapshot expired (${err.code}); listing again by cursor`);
        return false;
      }
      throw err;
    }
    const items = [...results.entries()].sort(([a], [b]) => a - b).flatMap(([, page]) => page);
    const ids = new Set(items.map((i) => i.id));
    if (ids.size !== items.length || items.length > pagination.total) {
      log.warn(
        `the gateway's numbered pages disagree with their snapshot (${items.length} items, ${ids.size} distinct, ${pagination.total} announced); listing again by cursor`,
      );
      return false;
    }
    await absorb(items, `GET ${config.paths.list} (snapshot pages)`);
    return true;
  };

  const adapter: GatewayAdapter = {
    kind: "cequence",
    // Writes over the admin API; a read-back's salted fingerprint proves which secret a server holds.
    capabilities: { delivery: "push", pickupProof: "fingerprint", maxConcurrency: config.maxConcurrency, testConnection: config.testConnection },

    async listTargets(filter: TargetFilter, options?: GatewayCallOptions): Promise<GatewayTarget[]> {
      const byId = new Map<string, GatewayTarget>();
      const seenCursors = new Set<string>();
      let cursor: string | undefined;
      let pages = 0;
      const maxPages = Math.ceil(MAX_LISTED_SERVERS / config.pageSize) + 1;
      const now = adapterOptions.now ?? Date.now;
      const deadline = now() + (adapterOptions.listBudgetInMs ?? DEFAULT_LIST_BUDGET_MS);
      let servers = 0;
      const absorb = async (items: McpServer[], what: string): Promise<void> => {
        for (const [i, item] of items.entries()) {
          servers++;
          const t = toTarget(item, what, `items[${i}].`);
          if (t && matchesFilter(t, filter) && (await sameTenant(t, filter, options?.abortSignal))) byId.set(t.id, t);
        }
      };
      do {
        pages++;
        const what = `GET ${config.paths.list} (page ${pages})`;
        const res = await call({
          operation: "list MCP servers",
          method: "GET",
          url: url(config.paths.list),
          query: { limit: config.pageSize, cursor },
          abortSignal: options?.abortSignal,
        });
        const page = parseGatewayResponse(mcpServerPageSchema, res.data, what);
        await absorb(page.items, what);
        if (pages === 1 && page.pagination && page.nextCursor && (await numberedPages(page.pagination, absorb, options?.abortSignal))) {
          pages = page.pagination.pageCount;
          break;
        }
        cursor = page.nextCursor ?? undefined;
        if (cursor !== undefined) {
          if (seenCursors.has(cursor)) throw badResponse(what, "nextCursor repeats a cursor already followed (the listing would never end)");
          seenCursors.add(cursor);
        }
        if (pages >= maxPages && cursor !== undefined) {
          throw badResponse(what, `more than ${maxPages} pages of ${config.pageSize} (over ${MAX_LISTED_SERVERS} MCP servers) — the listing does not end`);
        }
        if (cursor !== undefined && now() > deadline) {
          throw badResponse(
            what,
            `the listing took longer than ${Math.round((adapterOptions.listBudgetInMs ?? DEFAULT_LIST_BUDGET_MS) / 1000)} s after ${pages} pages`,
          );
        }
      } while (cursor !== undefined);
      log.debug(`listed ${servers} MCP server(s) on ${pages} page(s); ${byId.size} use client ${filter.clientId}`);
      return [...byId.values()];
    },

    readTarget: (id, options) => readOne(id, options),

    async updateClientSecret(id, clientSecret, options) {
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
