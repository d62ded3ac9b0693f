import { randomBytes } from "node:crypto";
import type { Clock } from "../common/clock.js";
import { kvErrors } from "./errors.js";

/**
 * The secrets of one vault: versions, their attributes and tags, soft delete with recovery and
 * purge, and the documented limits. Pure and clock-driven; the HTTP routes only translate.
 */
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const MAX_VALUE_BYTES = 25 * 1024;
const MAX_TAGS = 15;
const MAX_TAG_LENGTH = 256;
/** "The maximum length of this field is 255 characters" (Microsoft Learn, About Azure Key Vault secrets). */
const MAX_CONTENT_TYPE_LENGTH = 255;
const RECOVERY_LEVEL = "Recoverable+Purgeable";
const DAY_S = 86_400;

export interface StoredVersion {
  /** 32 lower-case hex characters, as the real service issues them. */
  version: string;
  value: string;
  contentType?: string;
  tags: Record<string, string>;
  enabled: boolean;
  /** Unix seconds. `nbf`/`exp` are informational: reads still succeed outside them. */
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  /** Creation order inside the emulator; "latest" is the highest. The wire never shows it. */
  seq: number;
}

export interface StoredSecret {
  /** The name as first created; look-ups are case-insensitive like the real service. */
  name: string;
  versions: StoredVersion[];
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

interface SecretAttributesInput {
  enabled?: unknown;
  nbf?: unknown;
  exp?: unknown;
}

export interface SetSecretInput {
  value?: unknown;
  contentType?: unknown;
  tags?: unknown;
  attributes?: SecretAttributesInput | null;
}

export interface UpdateSecretInput {
  contentType?: unknown;
  tags?: unknown;
  attributes?: SecretAttributesInput | null;
}

export interface VaultStateOptions {
  clock: Clock;
  vaultUrl: () => string;
  recoverableDays?: number;
}

export class VaultState {
  private readonly secrets = new Map<string, StoredSecret>();
  private seq = 0;
  readonly recoverableDays: number;

  constructor(private readonly options: VaultStateOptions) {
    this.recoverableDays = options.recoverableDays ?? 90;
  }

  private nowSeconds(): number {
    return Math.floor(this.options.clock.now().getTime() / 1000);
  }

  /** Soft-deleted secrets past their scheduled purge date disappear, as the real service purges them. */
  private sweep(): void {
    const now = this.nowSeconds();
    for (const [key, s] of this.secrets) {
      if (s.deleted && s.deleted.scheduledPurgeDate <= now) this.secrets.delete(key);
    }
  }

  private find(name: string): StoredSecret | undefined {
    assertName(name);
    this.sweep();
    return this.secrets.get(name.toLowerCase());
  }

  /** A live (not soft-deleted) secret, or 404. */
  private live(name: string): StoredSecret {
    const s = this.find(name);
    if (!s || s.deleted || s.versions.length === 0) throw kvErrors.secretNotFound(name);
    return s;
  }

  setSecret(name: string, input: SetSecretInput): { secret: StoredSecret; version: StoredVersion } {
    const existing = this.find(name);
    if (existing?.deleted) throw kvErrors.deletedButRecoverable(existing.name);
    if (typeof input.value !== "string") throw kvErrors.missingValue();
    const bytes = Buffer.byteLength(input.value, "utf8");
    if (bytes > MAX_VALUE_BYTES) throw kvErrors.valueTooLarge(bytes, MAX_VALUE_BYTES);
    const tags = validateTags(input.tags) ?? {};
    const contentType = validateContentType(input.contentType);
    const attrs = validateAttributes(input.attributes);
    const now = this.nowSeconds();
    const version: StoredVersion = {
      version: newVersionId(),
      value: input.value,
      ...(contentType !== undefined ? { contentType } : {}),
      tags,
      enabled: attrs.enabled ?? true,
      ...(attrs.nbf !== undefined ? { nbf: attrs.nbf } : {}),
      ...(attrs.exp !== undefined ? { exp: attrs.exp } : {}),
      created: now,
      updated: now,
      seq: ++this.seq,
    };
    const secret = existing ?? { name, versions: [] };
    secret.versions.push(version);
    this.secrets.set(name.toLowerCase(), secret);
    return { secret, version };
  }

  /** The latest version (the one most recently created), whatever its state. */
  latest(name: string): { secret: StoredSecret; version: StoredVersion } {
    const secret = this.live(name);
    return { secret, version: latestOf(secret) };
  }

  /** A version for reading its value: latest when `version` is empty; 403 when disabled. */
  readValue(name: string, version: string): { secret: StoredSecret; version: StoredVersion } {
    const found = version ? this.version(name, version) : this.latest(name);
    if (!found.version.enabled) throw kvErrors.disabled();
    return found;
  }

  version(name: string, version: string): { secret: StoredSecret; version: StoredVersion } {
    const secret = this.live(name);
    const v = secret.versions.find((x) => x.version === version.toLowerCase());
    if (!v) throw kvErrors.secretNotFound(`${name}/${version}`);
    return { secret, version: v };
  }

  /**
   * Every version, ordered by version id: the real listing is not in creation order either
   * (observed as the ids' natural order), so clients must sort by `created` themselves. Empty when unknown.
   */
  listVersions(name: string): { secret?: StoredSecret; versions: StoredVersion[] } {
    const secret = this.find(name);
    if (!secret || secret.deleted) return { versions: [] };
    return { secret, versions: [...secret.versions].sort((a, b) => a.version.localeCompare(b.version)) };
  }

  listSecrets(): StoredSecret[] {
    this.sweep();
    return [...this.secrets.values()].filter((s) => !s.deleted && s.versions.length > 0).sort((a, b) => a.name.localeCompare(b.name));
  }

  listDeleted(): StoredSecret[] {
    this.sweep();
    return [...this.secrets.values()].filter((s) => s.deleted).sort((a, b) => a.name.localeCompare(b.name));
  }

  updateVersion(name: string, version: string, input: UpdateSecretInput): { secret: StoredSecret; version: StoredVersion } {
    const found = version ? this.version(name, version) : this.latest(name);
    const tags = validateTags(input.tags);
    const contentType = validateContentType(input.contentType);
    const attrs = validateAttributes(input.attributes);
    const v = found.version;
    if (tags !== undefined) v.tags = tags;
    if (contentType !== undefined) v.contentType = contentType;
    if (attrs.enabled !== undefined) v.enabled = attrs.enabled;
    if (attrs.nbf !== undefined) v.nbf = attrs.nbf;
    if (attrs.exp !== undefined) v.exp = attrs.exp;
    v.updated = this.nowSeconds();
    return found;
  }

  deleteSecret(name: string): StoredSecret {
    const secret = this.live(name);
    const now = this.nowSeconds();
    secret.deleted = { deletedDate: now, scheduledPurgeDate: now + this.recoverableDays * DAY_S };
    return secret;
  }

  getDeleted(name: string): StoredSecret {
    const secret = this.find(name);
    if (!secret?.deleted) throw kvErrors.deletedSecretNotFound();
    return secret;
  }

  recover(name: string): StoredSecret {
    const secret = this.getDeleted(name);
    delete secret.deleted;
    return secret;
  }

  purge(name: string): void {
    const secret = this.getDeleted(name);
    this.secrets.delete(secret.name.toLowerCase());
  }

  /** Ground truth for tests: every version with its value, in creation order. */
  snapshot(name: string): { name: string; deleted: boolean; versions: StoredVersion[] } {
    this.sweep();
    const s = this.secrets.get(name.toLowerCase());
    if (!s) return { name, deleted: false, versions: [] };
    return { name: s.name, deleted: !!s.deleted, versions: [...s.versions].sort((a, b) => a.seq - b.seq).map((v) => ({ ...v, tags: { ...v.tags } })) };
  }

  reset(): void {
    this.secrets.clear();
  }

  // ── wire shapes ──────────────────────────────────────────────────────────────

  attributes(v: StoredVersion): Record<string, unknown> {
    return {
      enabled: v.enabled,
      ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
      ...(v.exp !== undefined ? { exp: v.exp } : {}),
      created: v.created,
      updated: v.updated,
      recoveryLevel: RECOVERY_LEVEL,
      recoverableDays: this.recoverableDays,
    };
  }

  /** SecretBundle; the value only where the real service returns it (set and get). */
  bundle(secret: StoredSecret, v: StoredVersion, includeValue: boolean): Record<string, unknown> {
    return {
      ...(includeValue ? { value: v.value } : {}),
      id: `${this.options.vaultUrl()}/secrets/${secret.name}/${v.version}`,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      attributes: this.attributes(v),
      tags: { ...v.tags },
    };
  }

  /** DeletedSecretBundle of the latest version: never the value. */
  deletedBundle(secret: StoredSecret): Record<string, unknown> {
    const v = latestOf(secret);
    return {
      recoveryId: `${this.options.vaultUrl()}/deletedsecrets/${secret.name}`,
      deletedDate: secret.deleted?.deletedDate,
      scheduledPurgeDate: secret.deleted?.scheduledPurgeDate,
      ...this.bundle(secret, v, false),
    };
  }

  /** SecretItem of one version (versions listing). */
  versionItem(secret: StoredSecret, v: StoredVersion): Record<string, unknown> {
    return {
      id: `${this.options.vaultUrl()}/secrets/${secret.name}/${v.version}`,
      attributes: this.attributes(v),
      tags: { ...v.tags },
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    };
  }

  /** SecretItem of a whole secret (vault listing): base id, the latest version's attributes. */
  secretItem(secret: StoredSecret): Record<string, unknown> {
    const v = latestOf(secret);
    return {
      id: `${this.options.vaultUrl()}/secrets/${secret.name}`,
      attributes: this.attributes(v),
      tags: { ...v.tags },
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    };
  }

  deletedItem(secret: StoredSecret): Record<string, unknown> {
    return {
      ...this.secretItem(secret),
      recoveryId: `${this.options.vaultUrl()}/deletedsecrets/${secret.name}`,
      deletedDate: secret.deleted?.deletedDate,
      scheduledPurgeDate: secret.deleted?.scheduledPurgeDate,
    };
  }
}

function latestOf(secret: StoredSecret): StoredVersion {
  let best = secret.versions[0]!;
  for (const v of secret.versions) if (v.seq > best.seq) best = v;
  return best;
}

function newVersionId(): string {
  return randomBytes(16).toString("hex");
}

function assertName(name: string): void {
  if (!SECRET_NAME.test(name)) throw kvErrors.invalidName(name);
}

function validateTags(tags: unknown): Record<string, string> | undefined {
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== "object" || Array.isArray(tags)) throw kvErrors.badTags("tags must be an object of string values.");
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > MAX_TAGS) throw kvErrors.badTags(`${entries.length} tags given; at most ${MAX_TAGS} are allowed.`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== "string") throw kvErrors.badTags(`the value of tag '${k.slice(0, 64)}' must be a string.`);
    if (k.length === 0 || k.length > MAX_TAG_LENGTH) throw kvErrors.badTags(`a tag name must be 1 to ${MAX_TAG_LENGTH} characters.`);
    if (v.length > MAX_TAG_LENGTH) throw kvErrors.badTags(`the value of tag '${k.slice(0, 64)}' exceeds ${MAX_TAG_LENGTH} characters.`);
    out[k] = v;
  }
  return out;
}

function validateContentType(contentType: unknown): string | undefined {
  if (contentType === undefined || contentType === null) return undefined;
  if (typeof contentType !== "string") throw kvErrors.badParameter("Property 'contentType' must be a string.");
  if (contentType.length > MAX_CONTENT_TYPE_LENGTH) throw kvErrors.contentTypeTooLong(contentType.length, MAX_CONTENT_TYPE_LENGTH);
  return contentType;
}

function validateAttributes(attrs: SecretAttributesInput | null | undefined): { enabled?: boolean; nbf?: number; exp?: number } {
  if (attrs === undefined || attrs === null) return {};
  if (typeof attrs !== "object") throw kvErrors.badParameter("Property 'attributes' must be an object.");
  const out: { enabled?: boolean; nbf?: number; exp?: number } = {};
  if (attrs.enabled !== undefined && attrs.enabled !== null) {
    if (typeof attrs.enabled !== "boolean") throw kvErrors.badParameter("Property 'attributes.enabled' must be a boolean.");
    out.enabled = attrs.enabled;
  }
  for (const key of ["nbf", "exp"] as const) {
    const value = attrs[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number" || !Number.isInteger(value)) throw kvErrors.badParameter(`Property 'attributes.${key}' must be a Unix time in seconds.`);
    out[key] = value;
  }
  return out;
}
