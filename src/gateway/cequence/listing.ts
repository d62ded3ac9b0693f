import { RotatorError, ensureRotatorError } from "../../errors.js";
import type { Logger } from "../../logging.js";
import { GatewayErrorCode } from "../errors.js";
import { runBounded } from "../bounded.js";
import { sameClientId } from "../match.js";
import type { GatewayTarget } from "../types.js";
import { badResponse, mcpServerPageSchema, parseGatewayResponse, type McpServer } from "./schemas.js";

/**
 * Listing a gateway's MCP servers (docs/gateway-contract.md § list): the cursor chain, the optional
 * numbered pages, the optional listing ETag, and restarting a listing whose cursors expired.
 *
 * The listing ETag: the last complete listing of a client ID is kept in memory with the ETag the
 * gateway gave its first page, and the next listing asks `If-None-Match` first; a 304 is the
 * gateway's word, at the time of that request, that every page is as it was, so the kept listing is
 * exactly as fresh as paging through it again would be. Nothing is ever reused without that answer.
 * Writes through this adapter forget the kept listing, so our own updates never depend on the
 * gateway moving its ETag for them.
 */
interface ListingCall {
  (spec: { query: Record<string, string | number | undefined>; headers?: Record<string, string>; abortSignal?: AbortSignal }): Promise<{
    status: number;
    data: unknown;
    headers: Record<string, string>;
  }>;
}

export interface ServerListingOptions {
  /** One GET of the list route through the adapter's limiter and error mapping. */
  call: ListingCall;
  /** The list route's template, for messages. */
  listPath: string;
  pageSize: number;
  maxConcurrency: number;
  /** An MCP server as a target, or undefined when it does not use OAuth 2.0 client credentials. */
  toTarget: (server: McpServer, what: string, prefix: string) => GatewayTarget | undefined;
  log: Logger;
  listBudgetInMs: number;
  now: () => number;
}

export interface ServerListing {
  /** Every OAuth 2.0 server whose client ID is `clientId` (copies: callers may change them). */
  list(clientId: string, abortSignal?: AbortSignal): Promise<GatewayTarget[]>;
  /** Forgets the kept listing (a write through this adapter changed the gateway). */
  forget(): void;
}

/**
 * A gateway that pages forever (a cursor bug, a hostile peer) must not hang a rotation. The page
 * bound follows from the page size and the most MCP servers one listing may hold; the time bound
 * holds whatever the pace (10,000 pages at 5 requests/s would be 33 minutes).
 */
const MAX_LISTED_SERVERS = 10_000;
/**
 * A listing whose cursor expires (410, or 400 InvalidCursor after a gateway restart) starts again
 * from the first page; this many times, then GATEWAY_LISTING_EXPIRED. One restart covers a gateway
 * restart or a lifetime that ran out once; expiring again and again means the lifetime is shorter
 * than a listing takes, and restarting more would only repeat the same pages.
 */
export const MAX_LISTING_RESTARTS = 2;

interface Kept {
  etag: string;
  clientId: string;
  targets: GatewayTarget[];
}

/** A cursor the gateway no longer honours: expired (410) or no longer its own (400 InvalidCursor, after a restart). */
class CursorExpired {
  constructor(readonly error: RotatorError) {}
}

export function createServerListing(o: ServerListingOptions): ServerListing {
  let kept: Kept | undefined;
  /** Counts writes; a listing that overlapped one is not kept (it may predate it). */
  let writes = 0;
  const maxPages = Math.ceil(MAX_LISTED_SERVERS / o.pageSize) + 1;

  /**
   * The optional numbered-pages extension: pages 1 … pageCount − 1 of the snapshot the first page
   * named, `maxConcurrency` at a time. False when the snapshot is gone (410) or the pages disagree
   * with it (a repeated ID, more items than it held): the caller then follows the cursors, and what
   * was absorbed is merged by ID.
   */
  const numberedPages = async (
    pagination: { snapshot: string; pageCount: number; total: number },
    absorb: (items: McpServer[], what: string) => void,
    abortSignal?: AbortSignal,
  ): Promise<boolean> => {
    if (pagination.pageCount > maxPages) return false;
    const pages = Array.from({ length: pagination.pageCount - 1 }, (_, i) => ({ id: String(i + 1), n: i + 1 }));
    let results: McpServer[][];
    try {
      // The pages still in flight when one fails are waited for, so none is answered after the fallback began.
      results = await runBounded(
        pages,
        o.maxConcurrency,
        abortSignal,
        async ({ n }) => {
          const res = await o.call({ query: { limit: o.pageSize, snapshot: pagination.snapshot, page: n }, abortSignal });
          return parseGatewayResponse(mcpServerPageSchema, res.data, `GET ${o.listPath} (snapshot page ${n})`).items;
        },
        undefined,
        "Listing the gateway's MCP servers was cancelled before every page was read",
      );
    } catch (e) {
      const err = ensureRotatorError(e);
      if (err.status === 410) {
        o.log.warn(`the gateway's listing snapshot expired (${err.code}); listing again by cursor`);
        return false;
      }
      throw err;
    }
    const items = results.flat();
    const ids = new Set(items.map((i) => i.id));
    if (ids.size !== items.length || items.length > pagination.total) {
      o.log.warn(
        `the gateway's numbered pages disagree with their snapshot (${items.length} items, ${ids.size} distinct, ${pagination.total} announced); listing again by cursor`,
      );
      return false;
    }
    absorb(items, `GET ${o.listPath} (snapshot pages)`);
    return true;
  };

  /** One listing from the first page: the kept one when the gateway answers 304, else every page. */
  const listOnce = async (
    clientId: string,
    useNumbered: boolean,
    deadline: number,
    abortSignal?: AbortSignal,
  ): Promise<Pick<Kept, "targets"> | CursorExpired> => {
    // Captured now: a 304 proves exactly the listing whose ETag this request sent.
    const candidate = kept !== undefined && sameClientId(kept.clientId, clientId) ? kept : undefined;
    const writesAtStart = writes;
    const byId = new Map<string, GatewayTarget>();
    let servers = 0;
    const absorb = (items: McpServer[], what: string): void => {
      for (const [i, item] of items.entries()) {
        servers++;
        const t = o.toTarget(item, what, `items[${i}].`);
        if (t && sameClientId(t.clientId, clientId)) byId.set(t.id, t);
      }
    };
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let listingEtag: string | undefined;
    do {
      pages++;
      const what = `GET ${o.listPath} (page ${pages})`;
      let res: Awaited<ReturnType<ListingCall>>;
      try {
        res = await o.call({
          query: { limit: o.pageSize, cursor },
          ...(pages === 1 && candidate ? { headers: { "If-None-Match": candidate.etag } } : {}),
          abortSignal,
        });
      } catch (e) {
        const err = ensureRotatorError(e);
        if (cursor !== undefined && (err.status === 410 || (err.status === 400 && err.upstreamCode === "InvalidCursor"))) return new CursorExpired(err);
        throw err;
      }
      if (res.status === 304) {
        // Only the first page is conditional, and only with the ETag of a listing we kept.
        if (pages !== 1 || !candidate || (res.headers["etag"] !== undefined && res.headers["etag"] !== candidate.etag)) {
          // A gateway that answers 304 out of turn cannot vouch for what we kept either.
          kept = undefined;
          throw badResponse(
            what,
            pages === 1 && candidate
              ? `304 Not Modified names ETag ${res.headers["etag"]}, not the ${candidate.etag} the request sent`
              : "304 Not Modified to a request that sent no If-None-Match",
          );
        }
        o.log.debug(`the gateway's listing is unchanged (ETag ${candidate.etag}): ${candidate.targets.length} kept target(s) reused`);
        return candidate;
      }
      const page = parseGatewayResponse(mcpServerPageSchema, res.data, what);
      if (pages === 1) listingEtag = wholeListingEtag(res.headers["etag"], page.listingEtag);
      absorb(page.items, what);
      if (pages === 1 && useNumbered && page.pagination && page.nextCursor && (await numberedPages(page.pagination, absorb, abortSignal))) {
        pages = page.pagination.pageCount;
        break;
      }
      cursor = page.nextCursor ?? undefined;
      if (cursor !== undefined) {
        if (seenCursors.has(cursor)) throw badResponse(what, "nextCursor repeats a cursor already followed (the listing would never end)");
        seenCursors.add(cursor);
      }
      if (pages >= maxPages && cursor !== undefined) {
        throw badResponse(what, `more than ${maxPages} pages of ${o.pageSize} (over ${MAX_LISTED_SERVERS} MCP servers) — the listing does not end`);
      }
      if (cursor !== undefined && o.now() > deadline) {
        throw badResponse(what, `the listing took longer than ${Math.round(o.listBudgetInMs / 1000)} s after ${pages} pages`);
      }
    } while (cursor !== undefined);
    o.log.debug(`listed ${servers} MCP server(s) on ${pages} page(s); ${byId.size} use client ${clientId}`);
    const targets = [...byId.values()];
    // Kept only when the gateway can vouch for it later, and no write of ours overlapped it.
    kept = listingEtag !== undefined && writes === writesAtStart ? { etag: listingEtag, clientId, targets } : undefined;
    return { targets };
  };

  return {
    async list(clientId, abortSignal) {
      const deadline = o.now() + o.listBudgetInMs;
      let useNumbered = true;
      for (let restarts = 0; ; restarts++) {
        const listing = await listOnce(clientId, useNumbered, deadline, abortSignal);
        if (!(listing instanceof CursorExpired)) return listing.targets.map((t) => structuredClone(t));
        if (restarts >= MAX_LISTING_RESTARTS) throw listingExpired(listing.error, restarts + 1);
        // The cursor chain is what a restart relies on: a snapshot, if one expired too, is not tried again.
        useNumbered = false;
        o.log.warn(
          `the gateway no longer honours the listing's cursor (${listing.error.status} ${listing.error.upstreamCode ?? listing.error.code}); listing again from the first page`,
        );
      }
    },
    forget() {
      writes++;
      kept = undefined;
    },
  };
}

/**
 * The listing ETag when the gateway offers the extension: the strong `ETag` header of the first page
 * and the same tag in its body's `listingEtag`. A header alone is not enough: a web framework or proxy
 * may add an ETag of the first page's own bytes, and a 304 to that would hide changes on later pages.
 */
function wholeListingEtag(header: string | undefined, body: string | undefined): string | undefined {
  if (header === undefined || body === undefined || header !== body || header.startsWith("W/")) return undefined;
  return header;
}

function listingExpired(last: RotatorError, attempts: number): RotatorError {
  return new RotatorError(
    GatewayErrorCode.ListingExpired,
    `Gateway: could not list MCP servers: the listing's cursor expired ${attempts} time(s) in a row before its last page (${last.message})`,
    {
      hint:
        "The gateway expires its cursors (410) or forgets them (400 InvalidCursor) sooner than listing every MCP server takes. " +
        "Have the gateway keep cursors alive for at least 60 s (docs/gateway-contract.md), or make the listing faster: raise gateway.pageSize or gateway.maxRequestsPerSecond. The next pass lists again.",
      ...(last.status !== undefined ? { status: last.status } : {}),
      ...(last.upstreamCode !== undefined ? { upstreamCode: last.upstreamCode } : {}),
      retryable: true,
      cause: last,
    },
  );
}
