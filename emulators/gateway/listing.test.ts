import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startGatewayFixture, type GatewayFixture } from "./fixture.js";
import type { PublicServer } from "./state.js";

/**
 * The listing's optional extensions and expiry (docs/gateway-contract.md § list), over raw HTTP:
 * the listing ETag (If-None-Match → 304 on the first page) and cursors and snapshots that expire.
 */
interface Page {
  items: PublicServer[];
  nextCursor: string | null;
  listingEtag?: string;
  pagination?: { snapshot: string; pageCount: number; total: number };
}
interface ErrorBody {
  error: { code: string };
}

const TOKEN_URL = "https://login.example.test/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token";

describe("gateway emulator: listing ETag and expiry", () => {
  let f: GatewayFixture;
  const seed = (name: string) => f.emulator.seedServer({ name, tokenUrl: TOKEN_URL, clientId: randomUUID(), clientSecret: `s-${randomUUID()}` });
  const first = (headers: Record<string, string> = {}) => f.call<Page>("GET", "/mcp-servers", { query: { limit: 10 }, headers });
  const etagNow = async (): Promise<string> => (await first()).headers.get("etag")!;

  beforeAll(async () => {
    f = await startGatewayFixture({ pageSizeMax: 10, numberedPages: true });
  });
  afterAll(() => f?.close());
  beforeEach(async () => {
    f.emulator.reset();
    for (let i = 0; i < 25; i++) seed(`s-${i}`);
    expect((await f.call("PUT", "/_control/listing", { json: { etag: true } })).status).toBe(204);
  });

  it("without the extension, the first page carries no ETag and If-None-Match is ignored", async () => {
    const tag = await etagNow();
    f.emulator.setListingEtag(false);
    const r = await first({ "If-None-Match": tag });
    expect(r.status).toBe(200);
    expect(r.headers.get("etag")).toBeNull();
    expect(r.data.listingEtag).toBeUndefined();
    expect(r.data.items).toHaveLength(10);
  });

  it("the first page carries a strong ETag, the same in its body's listingEtag; later pages carry none", async () => {
    const r = await first();
    const tag = r.headers.get("etag")!;
    expect(tag).toMatch(/^"[^"]+"$/);
    expect(r.data.listingEtag).toBe(tag);
    const next = await f.call<Page>("GET", "/mcp-servers", { query: { limit: 10, cursor: r.data.nextCursor! } });
    expect(next.status).toBe(200);
    expect(next.headers.get("etag")).toBeNull();
    expect(next.data.listingEtag).toBeUndefined();
  });

  it("If-None-Match with the current tag (strong, weak, in a list, or *) answers 304 with the tag and no body; another tag answers 200", async () => {
    const tag = await etagNow();
    for (const header of [tag, `W/${tag}`, `"other", ${tag}`, "*"]) {
      const r = await first({ "If-None-Match": header });
      expect(r.status, header).toBe(304);
      expect(r.headers.get("etag")).toBe(tag);
      expect(r.text).toBe("");
    }
    const other = await first({ "If-None-Match": '"not-the-listing"' });
    expect(other.status).toBe(200);
    expect(other.data.items).toHaveLength(10);
  });

  it("the tag stays while nothing changes, and changes with a server added, deleted, edited or given a secret", async () => {
    const seen = new Set<string>();
    const changes: [string, () => unknown][] = [
      ["nothing", () => undefined],
      ["added", () => seed("added")],
      ["edited", () => f.emulator.editServer(f.emulator.servers()[3]!.id, { tokenUrl: `${TOKEN_URL}x` })],
      ["secret", () => f.emulator.setServerSecret(f.emulator.servers()[20]!.id, `new-${randomUUID()}`)],
      ["deleted", () => f.emulator.deleteServer(f.emulator.servers()[24]!.id)],
    ];
    let tag = await etagNow();
    for (const [what, change] of changes) {
      change();
      const next = await etagNow();
      if (what === "nothing") expect(next).toBe(tag);
      else expect(seen.has(next), `${what} gives a tag never seen before`).toBe(false);
      seen.add(next);
      // The old tag no longer validates.
      if (what !== "nothing") expect((await first({ "If-None-Match": tag })).status).toBe(200);
      tag = next;
    }
    // A secret update over the API moves it too.
    const s = f.emulator.servers()[0]!;
    const patched = await f.call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: `api-${randomUUID()}` } });
    expect(patched.status).toBe(200);
    expect(await etagNow()).not.toBe(tag);
  });

  it("a listing expired after a page: its cursor answers 410 CursorExpired, its snapshot 410 SnapshotExpired, and a new listing works", async () => {
    expect((await f.call("PUT", "/_control/listing", { json: { expiry: { afterPages: 1 } } })).status).toBe(204);
    const r = await first();
    expect(r.data.pagination?.pageCount).toBe(3);
    const byCursor = await f.call<ErrorBody>("GET", "/mcp-servers", { query: { limit: 10, cursor: r.data.nextCursor! } });
    expect(byCursor.status).toBe(410);
    expect(byCursor.data.error.code).toBe("CursorExpired");
    const byPage = await f.call<ErrorBody>("GET", "/mcp-servers", { query: { limit: 10, snapshot: r.data.pagination!.snapshot, page: 1 } });
    expect(byPage.status).toBe(410);
    expect(byPage.data.error.code).toBe("SnapshotExpired");
    // Expired once: a new listing pages to its end.
    const again = await first();
    const rest = await f.call<Page>("GET", "/mcp-servers", { query: { limit: 10, cursor: again.data.nextCursor! } });
    expect(rest.status).toBe(200);
  });

  it("a restarted gateway no longer knows the cursors it issued: 400 InvalidCursor", async () => {
    const r = await first();
    f.emulator.setListingExpiry({ afterPages: 0, how: "restarted" });
    const byCursor = await f.call<ErrorBody>("GET", "/mcp-servers", { query: { limit: 10, cursor: r.data.nextCursor! } });
    expect(byCursor.status).toBe(400);
    expect(byCursor.data.error.code).toBe("InvalidCursor");
  });

  it("an evicted snapshot answers 410 while the cursors stay valid", async () => {
    const r = await first();
    f.emulator.setListingExpiry({ afterPages: 0, how: "snapshots" });
    expect((await f.call("GET", "/mcp-servers", { query: { limit: 10, snapshot: r.data.pagination!.snapshot, page: 1 } })).status).toBe(410);
    expect((await f.call("GET", "/mcp-servers", { query: { limit: 10, cursor: r.data.nextCursor! } })).status).toBe(200);
  });

  it("with repeat, every cursor expires before it is used; healing with null stops it", async () => {
    await f.call("PUT", "/_control/listing", { json: { expiry: { afterPages: 1, repeat: true } } });
    for (let i = 0; i < 3; i++) {
      const r = await first();
      expect((await f.call("GET", "/mcp-servers", { query: { limit: 10, cursor: r.data.nextCursor! } })).status).toBe(410);
    }
    await f.call("PUT", "/_control/listing", { json: { expiry: null } });
    const r = await first();
    expect((await f.call("GET", "/mcp-servers", { query: { limit: 10, cursor: r.data.nextCursor! } })).status).toBe(200);
    expect((await f.call("PUT", "/_control/listing", { json: { expiry: { afterPages: -1 } } })).status).toBe(400);
  });
});
