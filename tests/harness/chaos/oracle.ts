import type { ContainerClient } from "@azure/storage-blob";

/**
 * The chaos simulator's invariant oracle (DESIGN.md § Invariants, I1–I8). It is independent of the
 * code under test: it imports nothing from `src/` (tests/chaos/oracle.test.ts checks its imports)
 * and judges only from the emulators' ground truth — Entra's credentials and the values behind
 * them, every Key Vault version, every gateway server's stored secret, the secret every other
 * consumer (Kong plugin, API Management value or connection, App Service reference) really uses — and the raw blobs in
 * Storage (`state/<set>.json`, `runs/<set>/*.json`, `requests/<set>/…`, `leases/<set>`), whose
 * layout and the managed display name are taken from DESIGN.md, not from our code.
 */

/** What the oracle reads from the emulators (structural, so no emulator module is imported either). */
export interface GroundTruth {
  entra: {
    passwordCredentials(objectId: string): { keyId: string; displayName: string | null; hint: string | null; endDateTime: string }[];
    isSecretAccepted(tenantId: string, clientId: string, secret: string): boolean;
    issuedSecrets(): string[];
  };
  keyVault: { versions(name: string): { version: string; value: string; enabled: boolean; deleted: boolean; tags: Record<string, string> }[] };
  gateway: { servers(): { id: string; name: string; clientId: string; clientSecret: string }[]; issuedSecrets(): string[] };
  /**
   * The consumers of the set's client in its other target groups, each with the secret it really
   * uses now (undefined: none, e.g. a reference that does not resolve).
   */
  consumers(): readonly Consumer[];
  /** The value behind each of the app's credentials (Entra keeps it; Graph never shows it). */
  credentialValues(objectId: string): ReadonlyMap<string, string>;
}

/** A consumer and the secret it uses now (undefined: none, e.g. a reference that does not resolve). */
export interface Consumer {
  kind: string;
  /** Stable within a schedule: what an administrator's or a sabotage's edit is recorded under. */
  id: string;
  name: string;
  secret: string | undefined;
}

export interface OracleSet {
  name: string;
  tenantId: string;
  clientId: string;
  appObjectId: string;
  secretName: string;
}

export type Invariant = "I1" | "I2" | "I3" | "I4" | "I5" | "I6" | "I7" | "I8" | "UNMANAGED" | "ALERTS" | "SIMULATOR";

export interface Violation {
  invariant: Invariant;
  detail: string;
}

/** Facts about the world the simulator made (never the product's claims about itself). */
export interface OracleFacts {
  /** Gateway servers (and consumers, by id) an administrator broke by hand, with the secret the administrator put there. */
  adminBroken: ReadonlyMap<string, string>;
  /**
   * Gateway servers an administrator added with a copy of a secret that was live then, with that
   * secret: should its credential expire before a pass replaced it, the administrator broke the
   * server (seed 46). Removing that credential while the server holds it is still the product's doing.
   */
  adminPasted: ReadonlyMap<string, string>;
  /** keyIds of hand-made credentials an administrator added and has not removed. */
  adminCredentials: ReadonlySet<string>;
  /** Request IDs the HTTP API answered 202. */
  accepted: readonly string[];
  /** Rotation timer ticks so far that found no fault pending: I8's yardstick for "no progress". */
  ticks: number;
  /** Everything that left the service since the last check: log lines, HTTP answers, alert payloads. */
  outputs: readonly { where: string; text: string }[];
}

interface Blob {
  etag: string;
  text: string;
}

interface RunDoc {
  runId: string;
  status: string;
  updatedAt: string;
  steps?: { name: string; status: string }[];
}

const FINISHED = new Set(["succeeded", "noop", "failed", "needs_attention"]);
/** DESIGN.md § Vocabulary: a managed credential's display name is `mcp-sso-rotator/<set>/<runId>`. */
const managedPrefix = (set: string): string => `mcp-sso-rotator/${set}/`;
/** Timer ticks a non-finished run may go without its journal changing (I8). */
export const STUCK_AFTER_TICKS = 3;
const FRAGMENT = 8;

export class InvariantOracle {
  private readonly blobs = new Map<string, Blob>();
  /** Credentials seen held by an enabled Key Vault version: losing that is an I2 violation at once. */
  private readonly everHeld = new Set<string>();
  /** Never-held managed credentials (a create whose stash never happened): the plan count when first seen. */
  private readonly unheldSince = new Map<string, number>();
  private readonly runProgress = new Map<string, { updatedAt: string; tick: number }>();
  private readonly reported = new Set<string>();
  private readonly entraStart: number;
  private readonly gatewayStart: number;
  private readonly fragments = new Map<string, string>();
  private fullSecrets: string[] = [];
  private indexedEntra = 0;
  private indexedGateway = 0;
  checks = 0;

  constructor(
    private readonly truth: GroundTruth,
    private readonly container: ContainerClient,
    private readonly set: OracleSet,
    /**
     * Secrets that exist before the set: the operator's and the gateway API token; and the alert
     * channels' URLs and keys, which must appear nowhere but in what is sent to that channel
     * (PagerDuty's routing key is part of the event body by design).
     */
    private readonly extra: { secrets: readonly string[]; channelSecrets: readonly string[] } = { secrets: [], channelSecrets: [] },
    /** Index into the emulators' issued-secret lists from which this schedule's secrets start. */
    start: { entra: number; gateway: number } = { entra: 0, gateway: 0 },
  ) {
    this.entraStart = start.entra;
    this.gatewayStart = start.gateway;
  }

  /** Checks I1–I5, I8 and I4 (over what changed) now; returns the violations not reported before. */
  async check(facts: OracleFacts): Promise<Violation[]> {
    this.checks++;
    const found: Violation[] = [];
    const flag = (invariant: Invariant, key: string, detail: string): void => {
      if (this.reported.has(`${invariant}:${key}`)) return;
      this.reported.add(`${invariant}:${key}`);
      found.push({ invariant, detail });
    };
    const changed = await this.refreshStorage();
    const runs = this.runs();
    const active = runs.filter((r) => !FINISHED.has(r.status));
    const { entra, keyVault, gateway } = this.truth;
    const { set } = this;

    // I1: every target holds a secret Entra accepts — except one an administrator broke by hand.
    for (const s of gateway.servers()) {
      if (s.clientId.trim().toLowerCase() !== set.clientId.toLowerCase()) continue;
      if (entra.isSecretAccepted(set.tenantId, set.clientId, s.clientSecret)) continue;
      if (facts.adminBroken.get(s.id) === s.clientSecret) continue;
      if (facts.adminPasted.get(s.id) === s.clientSecret && this.stillACredential(s.clientSecret)) continue;
      flag(
        "I1",
        `${s.id}:${s.clientSecret.slice(0, 6)}`,
        `MCP server ${s.name} holds a secret Entra refuses (${describeHeld(s.clientSecret, this.truth, set)})`,
      );
    }

    // I1 for every other consumer: the secret it really uses is one Entra accepts. A retired
    // credential still used by a live consumer shows here (unless an administrator put it there).
    for (const c of this.truth.consumers()) {
      if (c.secret !== undefined && entra.isSecretAccepted(set.tenantId, set.clientId, c.secret)) continue;
      if (c.secret !== undefined && facts.adminBroken.get(c.id) === c.secret) continue;
      flag(
        "I1",
        `${c.id}:${(c.secret ?? "").slice(0, 6)}`,
        `${c.kind} consumer ${c.name} ${c.secret === undefined ? "uses no secret (its reference does not resolve)" : `uses a secret Entra refuses (${describeHeld(c.secret, this.truth, set)})`}`,
      );
    }

    // I1 at the source: the secret Key Vault serves as current (what every target is updated from)
    // must belong to a credential the app still has. (Refused for another reason — expired, not yet
    // replicated — is I6's business once the faults stop.)
    const values0 = this.truth.credentialValues(set.appObjectId);
    const currentVersion = keyVault
      .versions(set.secretName)
      .filter((v) => v.enabled && !v.deleted)
      .at(-1);
    if (currentVersion && ![...values0.values()].includes(currentVersion.value)) {
      flag(
        "I1",
        `kv:${currentVersion.version}`,
        `Key Vault's current secret (version ${currentVersion.version}) belongs to no credential of the app: it was removed while Key Vault still serves it`,
      );
    }

    // I2 and I3 over the managed credentials.
    const versions = [...keyVault.versions(set.secretName), ...keyVault.versions(`${set.secretName}-pending`)];
    const held = new Set(versions.filter((v) => v.enabled && !v.deleted).map((v) => v.value));
    const tracked = new Set(
      keyVault
        .versions(set.secretName)
        .map((v) => v.tags["keyId"])
        .filter(Boolean),
    );
    const creds = entra.passwordCredentials(set.appObjectId);
    const values = this.truth.credentialValues(set.appObjectId);
    const managed = creds.filter((c) => (c.displayName ?? "").startsWith(managedPrefix(set.name)) || tracked.has(c.keyId));
    const planCount = runs.reduce((n, r) => n + (r.steps ?? []).filter((s) => s.name === "plan" && s.status === "done").length, 0);
    for (const c of managed) {
      const value = values.get(c.keyId);
      if (value !== undefined && held.has(value)) {
        this.everHeld.add(c.keyId);
        this.unheldSince.delete(c.keyId);
        continue;
      }
      if (this.everHeld.has(c.keyId)) {
        flag("I2", c.keyId, `managed credential ${c.keyId} (${c.displayName ?? "adopted"}) is live but no enabled Key Vault version holds its value any more`);
        continue;
      }
      const runId = (c.displayName ?? "").startsWith(managedPrefix(set.name)) ? (c.displayName ?? "").slice(managedPrefix(set.name).length) : undefined;
      if (runId && active.some((r) => r.runId === runId)) continue; // the run's own pending credential
      const since = this.unheldSince.get(c.keyId);
      if (since === undefined) this.unheldSince.set(c.keyId, planCount);
      else if (planCount > since)
        flag(
          "I2",
          c.keyId,
          `managed credential ${c.keyId} (${c.displayName ?? "adopted"}) whose value no enabled Key Vault version holds survived a later pass's plan (orphan sweep)`,
        );
    }
    const limit = active.length > 0 ? 3 : 2;
    if (managed.length > limit) {
      flag(
        "I3",
        `${managed
          .map((c) => c.keyId)
          .sort()
          .join(",")}`,
        `${managed.length} managed credentials ${active.length > 0 ? "inside" : "outside"} a run (at most ${limit})`,
      );
    }
    // Credentials an administrator made are reported, never deleted (DESIGN.md § Vocabulary).
    const live = new Set(creds.map((c) => c.keyId));
    for (const keyId of facts.adminCredentials) if (!live.has(keyId)) flag("UNMANAGED", keyId, `hand-made credential ${keyId} was deleted by the product`);

    // I5: at most one run per set not finished.
    if (active.length > 1)
      flag(
        "I5",
        active
          .map((r) => r.runId)
          .sort()
          .join(","),
        `${active.length} runs not finished at once: ${active.map((r) => `${r.runId} (${r.status})`).join(", ")}`,
      );

    // I8: a run that is not finished must move (its journal changes) within a few timer ticks.
    for (const r of active) {
      const p = this.runProgress.get(r.runId);
      if (!p || p.updatedAt !== r.updatedAt) this.runProgress.set(r.runId, { updatedAt: r.updatedAt, tick: facts.ticks });
      else if (facts.ticks - p.tick >= STUCK_AFTER_TICKS)
        flag("I8", r.runId, `run ${r.runId} stayed ${r.status} without progress over ${facts.ticks - p.tick} timer ticks`);
    }

    // I4: no secret, nor any 8-character fragment of one, in anything that left the service.
    const texts = [
      ...facts.outputs,
      ...changed.map((name) => ({ where: `storage ${name}`, text: this.blobs.get(name)!.text })),
      { where: "key vault tags", text: JSON.stringify(versions.map((v) => v.tags)) },
    ];
    for (const leak of this.scan(texts)) flag("I4", `${leak.where}:${leak.what}`, `${leak.where} contains ${leak.what}`);
    return found;
  }

  /**
   * After the faults stopped and the passes ran (I6, I7, I8): every target on the current Key
   * Vault secret, Entra accepting it, no managed credential but the current one, no run left
   * active, every request answered 202 applied.
   */
  async final(facts: Pick<OracleFacts, "accepted">): Promise<string[]> {
    await this.refreshStorage();
    const { entra, keyVault, gateway } = this.truth;
    const { set } = this;
    const reasons: string[] = [];
    const current = keyVault
      .versions(set.secretName)
      .filter((v) => v.enabled && !v.deleted)
      .at(-1);
    if (!current) reasons.push("I6: Key Vault holds no enabled version of the secret");
    else if (!entra.isSecretAccepted(set.tenantId, set.clientId, current.value)) reasons.push("I6: Entra refuses the current Key Vault secret");
    const stale = gateway.servers().filter((s) => s.clientId.trim().toLowerCase() === set.clientId.toLowerCase() && s.clientSecret !== current?.value);
    if (stale.length) reasons.push(`I6: ${stale.length} target(s) not on the current secret: ${stale.map((s) => s.name).join(", ")}`);
    const behind = this.truth.consumers().filter((c) => c.secret !== current?.value);
    if (behind.length) reasons.push(`I6: ${behind.length} consumer(s) not on the current secret: ${behind.map((c) => `${c.name} (${c.kind})`).join(", ")}`);
    const tracked = new Set(
      keyVault
        .versions(set.secretName)
        .map((v) => v.tags["keyId"])
        .filter(Boolean),
    );
    const values = this.truth.credentialValues(set.appObjectId);
    const leftover = entra
      .passwordCredentials(set.appObjectId)
      .filter((c) => ((c.displayName ?? "").startsWith(managedPrefix(set.name)) || tracked.has(c.keyId)) && values.get(c.keyId) !== current?.value);
    if (leftover.length) reasons.push(`I6: ${leftover.length} managed credential(s) besides the current one: ${leftover.map((c) => c.keyId).join(", ")}`);
    const active = this.runs().filter((r) => !FINISHED.has(r.status));
    if (active.length) reasons.push(`I8: run(s) left active: ${active.map((r) => `${r.runId} (${r.status})`).join(", ")}`);
    const done = new Set(
      [...this.blobs.keys()]
        .filter((n) => n.startsWith(`requests/${set.name}/done/`))
        .map((n) => n.slice(`requests/${set.name}/done/`.length).replace(/\.json$/, "")),
    );
    const lost = facts.accepted.filter((id) => !done.has(id));
    if (lost.length) reasons.push(`I7: ${lost.length} request(s) answered 202 never applied: ${lost.join(", ")}`);
    return reasons;
  }

  /**
   * Is the current credential due for renewal at `now` (DESIGN.md § Plan: remaining life below
   * max(renewBeforeDays, lifetime × renewAtFraction))? A converged estate may then rotate again:
   * e.g. a credential whose lifetime a tenant policy clamped below the window.
   */
  currentDue(now: Date, policy: { renewBeforeDays: number; lifetimeDays: number; renewAtFraction: number }): { due: boolean; daysLeft?: number } {
    const current = this.truth.keyVault
      .versions(this.set.secretName)
      .filter((v) => v.enabled && !v.deleted)
      .at(-1);
    const values = this.truth.credentialValues(this.set.appObjectId);
    const cred = this.truth.entra.passwordCredentials(this.set.appObjectId).find((c) => current && values.get(c.keyId) === current.value);
    if (!cred) return { due: true };
    const daysLeft = (Date.parse(cred.endDateTime) - now.getTime()) / 86_400_000;
    return { due: daysLeft < Math.max(policy.renewBeforeDays, policy.lifetimeDays * policy.renewAtFraction), daysLeft: Math.round(daysLeft * 10) / 10 };
  }

  /** Whether a credential of the app (expired or not) still holds this value: nobody removed it. */
  private stillACredential(secret: string): boolean {
    return [...this.truth.credentialValues(this.set.appObjectId).values()].includes(secret);
  }

  /** The managed credentials' keyIds now (I6: convergence creates no further credential). */
  managedKeyIds(): string[] {
    const { set } = this;
    return this.truth.entra
      .passwordCredentials(set.appObjectId)
      .filter((c) => (c.displayName ?? "").startsWith(managedPrefix(set.name)))
      .map((c) => c.keyId)
      .sort();
  }

  private runs(): RunDoc[] {
    const prefix = `runs/${this.set.name}/`;
    const out: RunDoc[] = [];
    for (const [name, b] of this.blobs) {
      if (!name.startsWith(prefix)) continue;
      try {
        out.push(JSON.parse(b.text) as RunDoc);
      } catch {
        out.push({ runId: name, status: "unreadable", updatedAt: "" });
      }
    }
    return out;
  }

  /** Re-reads every blob whose ETag changed; returns their names. */
  private async refreshStorage(): Promise<string[]> {
    const changed: string[] = [];
    const seen = new Set<string>();
    for await (const item of this.container.listBlobsFlat()) {
      seen.add(item.name);
      const etag = item.properties.etag ?? "";
      if (this.blobs.get(item.name)?.etag === etag) continue;
      const buf = await this.container.getBlobClient(item.name).downloadToBuffer();
      this.blobs.set(item.name, { etag, text: buf.toString("utf8") });
      changed.push(item.name);
    }
    for (const name of [...this.blobs.keys()]) if (!seen.has(name)) this.blobs.delete(name);
    return changed;
  }

  private scan(texts: readonly { where: string; text: string }[]): { where: string; what: string }[] {
    this.index();
    const leaks: { where: string; what: string }[] = [];
    for (const { where, text } of texts) {
      const toChannel = where.endsWith("alert payload");
      for (const s of [...this.fullSecrets, ...(toChannel ? [] : this.extra.channelSecrets)]) {
        if (text.includes(s) || text.includes(encodeURIComponent(s)) || text.includes(Buffer.from(s).toString("base64")))
          leaks.push({ where, what: `a secret (${s.slice(0, 3)}…)` });
      }
      for (let i = 0; i + FRAGMENT <= text.length; i++) {
        const owner = this.fragments.get(text.slice(i, i + FRAGMENT));
        if (owner !== undefined) {
          leaks.push({ where, what: `an 8-character fragment of a secret (${owner.slice(0, 3)}…)` });
          break;
        }
      }
    }
    return leaks;
  }

  /** Secrets to look for: this schedule's Entra secrets (values and fragments) and what the gateway stored. */
  private index(): void {
    const entra = this.truth.entra.issuedSecrets();
    const gw = this.truth.gateway.issuedSecrets();
    if (entra.length === this.indexedEntra && gw.length === this.indexedGateway) return;
    const fresh = entra.slice(Math.max(this.entraStart, this.indexedEntra));
    for (const s of fresh) for (let i = 0; i + FRAGMENT <= s.length; i++) this.fragments.set(s.slice(i, i + FRAGMENT), s);
    const own = [...entra.slice(this.entraStart), ...gw.slice(Math.max(this.gatewayStart, 1)), ...this.extra.secrets];
    this.fullSecrets = [...new Set(own.filter((s) => s.length >= 8))];
    this.indexedEntra = entra.length;
    this.indexedGateway = gw.length;
  }
}

function describeHeld(secret: string, truth: GroundTruth, set: OracleSet): string {
  const creds = truth.entra.passwordCredentials(set.appObjectId);
  const values = truth.credentialValues(set.appObjectId);
  const cred = creds.find((c) => values.get(c.keyId) === secret);
  if (!cred) return "a value no credential of the app has: removed, or never one";
  return `credential ${cred.keyId} (${cred.displayName ?? "no name"}), expired or not yet replicated`;
}
