import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";

/**
 * The gateway's store of MCP servers, as the contract (docs/gateway-contract.md) describes it:
 * creation-ordered, one strong ETag per server that changes on every write, a per-server
 * fingerprint salt, and opaque HMAC-signed cursors that stay valid while servers change (until the
 * listings are expired on purpose: a restarted gateway, a cursor lifetime). An estate version counts
 * every change to what the listing shows, for the optional listing ETag.
 */
export interface SeedServerInput {
  id?: string;
  name: string;
  tokenName?: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes?: string[];
  additionalParameters?: Record<string, string>;
}

/** Ground truth of one server, stored secret included (tests only; never served on the public routes). */
export interface EmulatedServer {
  id: string;
  name: string;
  tokenName: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  additionalParameters: Record<string, string>;
  secretUpdatedAt: string;
  secretFingerprint: string;
  fingerprintSalt: string;
  etag: string;
  /** Incremented on every write (secret update or out-of-band edit). */
  version: number;
}

/** What an administrator may change in the gateway UI behind our back (drift, 412 scenarios). */
export type ServerEdit = Partial<Pick<EmulatedServer, "name" | "tokenName" | "tokenUrl" | "clientId" | "scopes" | "additionalParameters">>;

interface StoredServer extends EmulatedServer {
  /** Creation sequence: the list order and the cursor position; never changes. */
  seq: number;
}

/** The public representation: everything but the secret. */
export interface PublicServer {
  id: string;
  name: string;
  authentication: { type: "oauth2" } & Pick<
    EmulatedServer,
    "tokenName" | "tokenUrl" | "clientId" | "scopes" | "additionalParameters" | "secretUpdatedAt" | "secretFingerprint" | "fingerprintSalt"
  >;
  etag: string;
}

/** What expires: cursors (410) and snapshots, a restart's (cursors 400 InvalidCursor) and snapshots, or only snapshots. */
export type ListingExpiry = "expired" | "restarted" | "snapshots";

export class GatewayStateError extends Error {
  constructor(
    readonly code: "NotFound" | "Conflict" | "InvalidCursor" | "CursorExpired",
    message: string,
  ) {
    super(message);
  }
}

export class GatewayState {
  private readonly servers = new Map<string, StoredServer>();
  private readonly snapshots = new Map<string, { ids: string[]; limit: number }>();
  private nextSeq = 1;
  /** Bumped by every change the listing would show: a server added, deleted, edited or given a secret. */
  private estateVersion = 0;
  /** Cursors carry the epoch they were issued in; expireListings() starts a new one (older cursors answer 410). */
  private listingEpoch = 0;
  /** Keys the cursor signature, so a client cannot forge or edit a cursor; a restart draws a new one. */
  private cursorKey = randomBytes(32);
  /** Every secret ever stored, for the secret scan (a replaced secret must not leak either). */
  private readonly secretsEverStored = new Set<string>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  seed(input: SeedServerInput): EmulatedServer {
    const id = input.id ?? `mcp_${randomUUID().replace(/-/g, "").slice(0, 20)}`;
    if (this.servers.has(id)) throw new GatewayStateError("Conflict", `an MCP server with id ${id} already exists`);
    const salt = randomBytes(16).toString("hex");
    const server: StoredServer = {
      seq: this.nextSeq++,
      id,
      name: input.name,
      tokenName: input.tokenName ?? input.name,
      tokenUrl: input.tokenUrl,
      clientId: input.clientId,
      clientSecret: input.clientSecret,
      scopes: [...(input.scopes ?? [])],
      additionalParameters: { ...(input.additionalParameters ?? {}) },
      secretUpdatedAt: this.now().toISOString(),
      fingerprintSalt: salt,
      secretFingerprint: computeFingerprint(salt, input.clientSecret),
      version: 1,
      etag: "",
    };
    server.etag = etagOf(server);
    this.servers.set(id, server);
    this.estateVersion++;
    this.secretsEverStored.add(input.clientSecret);
    return copy(server);
  }

  get(id: string): StoredServer | undefined {
    return this.servers.get(id);
  }

  /** Replaces the stored secret; the caller has already checked If-Match. */
  setSecret(id: string, secret: string): StoredServer {
    const s = this.require(id);
    s.clientSecret = secret;
    s.secretFingerprint = computeFingerprint(s.fingerprintSalt, secret);
    s.secretUpdatedAt = this.now().toISOString();
    this.bump(s);
    this.secretsEverStored.add(secret);
    return s;
  }

  edit(id: string, changes: ServerEdit): EmulatedServer {
    const s = this.require(id);
    if (changes.name !== undefined) s.name = changes.name;
    if (changes.tokenName !== undefined) s.tokenName = changes.tokenName;
    if (changes.tokenUrl !== undefined) s.tokenUrl = changes.tokenUrl;
    if (changes.clientId !== undefined) s.clientId = changes.clientId;
    if (changes.scopes !== undefined) s.scopes = [...changes.scopes];
    if (changes.additionalParameters !== undefined) s.additionalParameters = { ...changes.additionalParameters };
    this.bump(s);
    return copy(s);
  }

  /** Removes a server; its id answers 404 from then on. */
  delete(id: string): void {
    this.require(id);
    this.servers.delete(id);
    this.estateVersion++;
  }

  all(): EmulatedServer[] {
    return this.ordered().map(copy);
  }

  /**
   * One page in creation order after the cursor's position. The cursor records the last
   * sequence number served, so updates (which never reorder) and inserts (which append) neither
   * skip nor repeat a server.
   */
  page(cursor: string | undefined, limit: number): { items: StoredServer[]; nextCursor: string | null } {
    const after = cursor === undefined ? 0 : this.decodeCursor(cursor);
    const items: StoredServer[] = [];
    let more = false;
    for (const s of this.servers.values()) {
      if (s.seq <= after) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(s);
    }
    const last = items[items.length - 1];
    const nextCursor = more && last ? this.encodeCursor(last.seq) : null;
    return { items, nextCursor };
  }

  /**
   * The optional numbered-pages extension (docs/gateway-contract.md): the IDs in list order now,
   * kept under a snapshot ID so pages fetched in any order, at once, neither skip nor repeat a server.
   */
  openSnapshot(limit: number): { snapshot: string; pageCount: number; total: number } {
    const snapshot = randomUUID();
    const ids = [...this.servers.keys()];
    this.snapshots.set(snapshot, { ids, limit });
    // Keep the newest few: an older one answers 410 and its client lists by cursor again.
    if (this.snapshots.size > 20) this.snapshots.delete(this.snapshots.keys().next().value!);
    return { snapshot, pageCount: Math.max(1, Math.ceil(ids.length / limit)), total: ids.length };
  }

  /**
   * The optional listing ETag (docs/gateway-contract.md): one strong tag for the whole listing, which
   * changes with the estate version — whenever any server is added, deleted, edited or given a
   * secret — and never repeats across emulator instances (it is keyed like the cursors).
   */
  listingEtag(): string {
    return `"${this.sign(`listing\0${this.estateVersion}`)}"`;
  }

  /**
   * Every cursor and snapshot issued so far expires: a later call with one answers 410, as a gateway
   * whose cursor lifetime ran out would — or, `restarted`, 400 InvalidCursor (its cursors are signed
   * with a key it no longer has); with `snapshots`, only the snapshots (cursors stay valid). New
   * listings work as before.
   */
  expireListings(how: ListingExpiry = "expired"): void {
    this.snapshots.clear();
    // A restarted gateway forgot the key its cursors were signed with: they are not its own any more (400 InvalidCursor).
    if (how === "restarted") this.cursorKey = randomBytes(32);
    else if (how === "expired") this.listingEpoch++;
  }

  /** Page `page` of a snapshot (servers deleted since are left out); undefined: unknown snapshot. */
  snapshotPage(snapshot: string, page: number): { items: StoredServer[]; pageCount: number } | undefined {
    const snap = this.snapshots.get(snapshot);
    if (!snap) return undefined;
    const items = snap.ids
      .slice(page * snap.limit, (page + 1) * snap.limit)
      .map((id) => this.servers.get(id))
      .filter((x): x is StoredServer => x !== undefined);
    return { items, pageCount: Math.max(1, Math.ceil(snap.ids.length / snap.limit)) };
  }

  secrets(): string[] {
    return [...this.secretsEverStored];
  }

  reset(): void {
    this.servers.clear();
    this.snapshots.clear();
    this.estateVersion++;
  }

  private ordered(): StoredServer[] {
    // A Map iterates in insertion order and `seq` grows with every insertion: already sorted.
    return [...this.servers.values()];
  }

  private require(id: string): StoredServer {
    const s = this.servers.get(id);
    if (!s) throw new GatewayStateError("NotFound", `MCP server ${id} does not exist`);
    return s;
  }

  private bump(s: StoredServer): void {
    s.version++;
    s.etag = etagOf(s);
    this.estateVersion++;
  }

  private encodeCursor(after: number): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, after, epoch: this.listingEpoch })).toString("base64url");
    return `${payload}.${this.sign(payload)}`;
  }

  private decodeCursor(cursor: string): number {
    const [payload, sig] = cursor.split(".");
    const invalid = new GatewayStateError("InvalidCursor", "cursor is not one this gateway issued; restart the listing without a cursor");
    if (!payload || !sig) throw invalid;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid;
    const parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { after?: unknown; epoch?: unknown };
    if (typeof parsed.after !== "number" || typeof parsed.epoch !== "number") throw invalid;
    if (parsed.epoch < this.listingEpoch) throw new GatewayStateError("CursorExpired", "the cursor has expired; restart the listing without a cursor");
    return parsed.after;
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.cursorKey).update(payload).digest("base64url").slice(0, 22);
  }
}

export function toPublic(s: EmulatedServer): PublicServer {
  return {
    id: s.id,
    name: s.name,
    authentication: {
      type: "oauth2",
      tokenName: s.tokenName,
      tokenUrl: s.tokenUrl,
      clientId: s.clientId,
      scopes: [...s.scopes],
      additionalParameters: { ...s.additionalParameters },
      secretUpdatedAt: s.secretUpdatedAt,
      secretFingerprint: s.secretFingerprint,
      fingerprintSalt: s.fingerprintSalt,
    },
    etag: s.etag,
  };
}

/** A strong ETag: opaque, quoted, different for every version of every server. */
function etagOf(s: Pick<StoredServer, "id" | "version" | "fingerprintSalt">): string {
  return `"${createHash("sha256").update(`${s.id}\0${s.version}\0${s.fingerprintSalt}`).digest("base64url").slice(0, 16)}"`;
}

function copy(s: StoredServer): EmulatedServer {
  const { seq: _seq, ...rest } = s;
  return { ...rest, scopes: [...s.scopes], additionalParameters: { ...s.additionalParameters } };
}

/**
 * The contract's `secretFingerprint` (docs/gateway-contract.md): lowercase hex of sha256(salt ‖ secret).
 * Written here from the contract, not imported from `src/gateway`, so a bug on one side is caught
 * by the other (emulators/gateway/contract.test.ts compares the two).
 */
function computeFingerprint(salt: string, secret: string): string {
  return createHash("sha256").update(salt, "utf8").update(secret, "utf8").digest("hex");
}
