import { afterAll, afterEach, beforeAll, inject } from "vitest";
import type { ContainerClient } from "@azure/storage-blob";
import { World, freshContainer, type SeedSetOptions, type SeededSet, type WorldOptions } from "../harness/world.js";
import { memoryLogger, type Logger } from "../../src/logging.js";
import type { BuiltRuntime, RuntimeOptions } from "../../src/runtime/createRuntime.js";
import type { PassResult, RotationMode } from "../../src/rotation/model.js";
import type { RotationRunner } from "../../src/rotation/runner.js";
import type { RotationHooks } from "../../src/rotation/hooks.js";
import { managedDisplayNamePrefix, pendingSecretName } from "../../src/rotation/policy.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { acceptConfirmation } from "../../src/rotation/enqueue.js";
import { HttpClient } from "../../src/http/client.js";

/**
 * What the journal says the pass did to each target it wrote or refreshed (not the ones it only
 * reported: drift, a vault reference), as rows of the fields `pick` names, sorted for comparison.
 */
export function updatedTargetRows(records: PassResult["journal"]["targets"], pick: (t: PassResult["journal"]["targets"][number]) => unknown[]): unknown[][] {
  return records
    .filter((t) => t.outcome === undefined)
    .map(pick)
    .sort();
}

/** One seeded set inside a running world, with its own Storage container, runtime and log. */
export class Scenario {
  readonly lines: string[];
  readonly logger: Logger;
  private runnerPromise?: Promise<RotationRunner>;

  constructor(
    readonly world: World,
    readonly seeded: SeededSet,
    readonly container: ContainerClient,
    readonly runtime: BuiltRuntime,
    mem: { logger: Logger; lines: string[] },
    readonly events: unknown[],
    /** Crash/fault seams for this scenario's runs; tests set them before a pass. */
    readonly hooks: RotationHooks,
  ) {
    this.lines = mem.lines;
    this.logger = mem.logger;
  }

  static async create(world: World, seed: SeedSetOptions = {}, extra: Partial<RuntimeOptions> = {}): Promise<Scenario> {
    const seeded = world.seedSet({ name: seed.name ?? `set-${Math.random().toString(36).slice(2, 8)}`, ...seed });
    const container = await freshContainer(inject("storageConnectionString"));
    const events: unknown[] = [];
    const hooks: RotationHooks = {};
    const runtime = world.runtime([seeded.set], container, {
      hooks: () => hooks,
      onRotationEvent: async (e) => {
        events.push(e);
      },
      ...extra,
    });
    const mem = memoryLogger(runtime.redactor);
    return new Scenario(world, seeded, container, runtime, mem, events, hooks);
  }

  /** A set whose secret expires in 5 days: the next pass rotates it. */
  static due(world: World, seed: Omit<SeedSetOptions, "secretExpiresInDays"> = {}, extra: Partial<RuntimeOptions> = {}): Promise<Scenario> {
    return Scenario.create(world, { secretExpiresInDays: 5, ...seed }, extra);
  }

  /** A scenario whose rotation events reach its own runtime's alerting, so a failed run opens the incident on-call would get. */
  static async alerting(world: World, seed: SeedSetOptions = {}): Promise<Scenario> {
    const holder: { runtime?: BuiltRuntime } = {};
    const s = await Scenario.create(world, seed, { onRotationEvent: (e, l) => holder.runtime!.alerting.onRotationEvent(e, l) });
    holder.runtime = s.runtime;
    return s;
  }

  /** A manual gateway whose first run promoted a new secret and waits for its operator. */
  static async awaitingOperator(world: World): Promise<{ s: Scenario; first: PassResult; promoted: NonNullable<ReturnType<Scenario["vaultCurrent"]>> }> {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, gatewayKind: "manual" });
    const first = await s.pass();
    if (first.status !== "awaiting_confirmation") throw new Error(`the manual run should wait for its operator, but it is ${first.status}`);
    return { s, first, promoted: s.vaultCurrent()! };
  }

  /**
   * A run whose new secret Entra does not accept yet: replication is held for a minute, so the first
   * pass stops at verify-entra. The caller puts replication back with `setReplicationDelay(0)`.
   */
  static async waitingForReplication(world: World, targets: number): Promise<{ s: Scenario; first: PassResult }> {
    const s = await Scenario.due(world, {
      targets,
      overrides: { verification: { consecutiveSuccesses: 2, budgetSeconds: 1, intervalMs: 100, minStableSeconds: 0 } },
    });
    world.entra.setReplicationDelay(60_000);
    const first = await s.pass();
    const last = first.journal.steps.at(-1);
    if (last?.name !== "verify-entra" || last.status !== "waiting")
      throw new Error(`the first pass should wait at verify-entra, but it ended at ${last?.name} ${last?.status}`);
    return { s, first };
  }

  get set() {
    return this.seeded.set;
  }

  runner(): Promise<RotationRunner> {
    if (!this.runnerPromise) {
      this.runnerPromise = this.runtime.createRunner(this.set, this.logger);
      // A runner that could not be built (a dependency down) is built again next time, as the host would.
      this.runnerPromise.catch(() => (this.runnerPromise = undefined));
    }
    return this.runnerPromise;
  }

  async pass(mode: RotationMode = "scheduled"): Promise<PassResult> {
    return (await this.runner()).runPass({ mode, trigger: "queue" });
  }

  /** Passes until the run finishes (advancing the clock past the grace period when asked). */
  async runToEnd(mode: RotationMode = "scheduled", options: { advanceGrace?: boolean; maxPasses?: number } = {}): Promise<PassResult> {
    let res = await this.pass(mode);
    for (let i = 0; i < (options.maxPasses ?? 6) && !["succeeded", "noop", "failed", "needs_attention"].includes(res.status); i++) {
      if (options.advanceGrace !== false && res.journal.steps.at(-1)?.name === "retire") this.world.clock.advance(25 * 3_600_000);
      res = await this.pass(mode);
    }
    return res;
  }

  /** Simulates a crashed worker's lease running out. */
  async expireLease(): Promise<void> {
    const blob = this.container.getBlockBlobClient(`leases/${this.set.name}`);
    const props = await blob.getProperties();
    if (props.leaseState === "leased") await blob.getBlobLeaseClient().breakLease(0);
  }

  // ── ground truth ─────────────────────────────────────────────────────────────

  credentials() {
    return this.world.entra.passwordCredentials(this.seeded.appObjectId);
  }

  /** The keyIds of the credentials on the app, from the Entra emulator's ground truth. */
  liveKeyIds(): string[] {
    return this.credentials().map((c) => c.keyId);
  }

  /**
   * A consumer outside the product (a script, another service) signing in with a secret it copied:
   * a real client-credentials request to the Entra emulator, which records the sign-in. Returns the HTTP status.
   */
  async outsideConsumerSignsIn(secret: string): Promise<number> {
    const http = new HttpClient({ ca: this.world.caCertPem, retry: { maxRetries: 0 } });
    const res = await http.request({
      method: "POST",
      url: `${this.world.authorityHost}/${this.world.tenantId}/oauth2/v2.0/token`,
      form: { grant_type: "client_credentials", client_id: this.set.clientId, client_secret: secret, scope: "https://graph.microsoft.com/.default" },
      throwOnHttpError: false,
    });
    return res.status;
  }

  managedCredentials() {
    const tracked = new Set(
      this.world.keyVault
        .versions(this.set.keyVault.secretName)
        .map((v) => v.tags["keyId"])
        .filter(Boolean),
    );
    return this.credentials().filter((c) => (c.displayName ?? "").startsWith(managedDisplayNamePrefix(this.set.name)) || tracked.has(c.keyId));
  }

  createdCredentials() {
    return this.credentials().filter((c) => (c.displayName ?? "").startsWith(managedDisplayNamePrefix(this.set.name)));
  }

  targets() {
    return this.world.gateway.servers().filter((s) => s.clientId === this.set.clientId);
  }

  otherTargets() {
    return this.world.gateway.servers().filter((s) => s.clientId === this.seeded.otherClientId);
  }

  /** A manual gateway's operator pastes the current Key Vault secret into every server and confirms the run (as POST .../confirm). */
  async operatorConfirms(runId: string): Promise<void> {
    const current = this.vaultCurrent()!;
    for (const t of this.targets()) this.world.gateway.setServerSecret(t.id, current.value);
    await acceptConfirmation(
      { journals: this.runtime.journals, container: this.container, now: () => this.world.clock.now() },
      { runId, confirmedBy: "operator" },
    );
  }

  vaultCurrent() {
    // versions() is in creation order; Key Vault timestamps only have one-second resolution.
    return this.world.keyVault
      .versions(this.set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1);
  }

  heldValues(): string[] {
    return [
      ...this.world.keyVault.heldValues(this.set.keyVault.secretName),
      ...this.world.keyVault.heldValues(pendingSecretName(this.set.keyVault.secretName)),
    ];
  }

  /** I1: every target holds a secret Entra accepts right now. */
  assertNoOutage(where: string): void {
    const ids = new Set(this.targets().map((t) => t.id));
    const bad = this.world.gateway.secretsAcceptedNow().filter((s) => ids.has(s.id) && !s.accepted);
    if (bad.length > 0) throw new Error(`I1 violated ${where}: ${bad.length} target(s) hold a secret Entra refuses`);
  }

  /** I2 + I3 outside a run: every live managed credential's value is held by an enabled version; at most two managed. */
  assertSettled(where: string): void {
    const managed = this.managedCredentials();
    if (managed.length > 2) throw new Error(`I3 violated ${where}: ${managed.length} managed credentials`);
    const held = this.heldValues();
    for (const c of managed) {
      const holds = held.some((v) => v.slice(0, 3) === c.hint && this.world.entra.isSecretAccepted(this.world.tenantId, this.set.clientId, v));
      if (!holds) throw new Error(`I2 violated ${where}: credential ${c.keyId} is not held by any enabled Key Vault version`);
    }
  }

  scanner(): SecretScanner {
    return new SecretScanner().addSecrets(this.world.secrets()).collectAll("log", this.lines).collectAll("event", this.events);
  }

  async scanJournals(scan: SecretScanner): Promise<SecretScanner> {
    for (const runId of await this.runtime.journals.listRuns(this.set.name)) {
      scan.collect(`journal ${runId}`, await this.runtime.journals.readRun(this.set.name, runId));
    }
    scan.collect("state", await this.runtime.journals.readState(this.set.name));
    scan.collectAll(
      "vault tags",
      this.world.keyVault.versions(this.set.keyVault.secretName).map((v) => v.tags),
    );
    return scan;
  }
}

/**
 * One world for the whole test file: started before the first test, stopped after the last, and
 * every fault and latency cleared after each test so no test inherits another's weather. Called
 * at the top of a file (or a describe), it returns the world itself; its emulators listen from
 * beforeAll on.
 */
export function useWorld(options: WorldOptions = {}): World {
  const world = World.create(options);
  beforeAll(async () => {
    await world.start();
  });
  afterAll(async () => {
    await world.stop();
  });
  afterEach(() => {
    for (const emu of [world.entra, world.keyVault, world.gateway]) emu.server.faults.clear();
    world.gateway.setLatency(0);
  });
  return world;
}
