import { randomUUID } from "node:crypto";
import functions, { type Timer } from "@azure/functions";
import type { ContainerClient } from "@azure/storage-blob";
import { createStorageContainer } from "../../../src/storage/containerClient.js";
import { DAY_MS } from "../../../src/clock.js";
import { makeRotationTimerHandler, makeRotationWorkerHandler } from "../../../src/handlers/rotationWorker.js";
import { makeConfirmRotationHandler, makeStartRotationHandler } from "../../../src/handlers/rotations.js";
import { makeHealthTimerHandler } from "../../../src/handlers/health.js";
import { newTickKey, type RotationMessage } from "../../../src/handlers/rotationMessage.js";
import type { RotationHooks } from "../../../src/rotation/hooks.js";
import { ProcessCrash } from "../processCrash.js";
import type { BuiltRuntime } from "../../../src/runtime/createRuntime.js";
import { memoryLogger } from "../../../src/logging.js";
import type { EmulatorServer, FaultSpec } from "../../../emulators/common/server.js";
import { freshContainer, type SeededSet, type World } from "../world.js";
import type { ChaosEvent, ConsumerKind, CrashSeam, Dependency, FaultKind, GeneratedSchedule } from "./events.js";
import { ConsumerEmulators } from "./consumers.js";
import { InvariantOracle, type GroundTruth, type Invariant, type Violation } from "./oracle.js";
import { AlertOracle } from "./alertOracle.js";
import { StorageFaultProxy, type StorageFaultKind } from "./storageProxy.js";

// @azure/functions is CommonJS; Node's ESM loader only sees some of its named exports.
const { HttpRequest, InvocationContext, output } = functions;

/**
 * Runs one chaos schedule against the real product: the rotation timer, the queue worker, the HTTP
 * API and the health timer, as the Functions host calls them, while the schedule injects faults
 * into every emulator, crashes at the runner's seams, breaks leases, jumps the clock and plays an
 * administrator. After every event the independent oracle judges the estate from ground truth.
 */
export interface ChaosEnv {
  world: World;
  storageConnectionString: string;
  /** The product reaches Storage through it, so Storage can fail too; the oracle reads Azurite directly. */
  storageProxy?: { proxy: StorageFaultProxy; connectionString: string };
  /** The Kong and Resource Manager emulators, started by the first schedule that draws a kind they serve; stop with stopChaosEnv. */
  consumers?: ConsumerEmulators;
}

/** Stops what the simulator started beside the world (the world and Storage are the caller's). */
export async function stopChaosEnv(env: ChaosEnv): Promise<void> {
  await env.consumers?.stop();
  await env.storageProxy?.proxy.stop();
}

/** Starts the Storage fault proxy in front of Azurite's blob endpoint. */
export async function startStorageProxy(azuriteConnectionString: string): Promise<NonNullable<ChaosEnv["storageProxy"]>> {
  const blob = /BlobEndpoint=(https?:\/\/[^/;]+)/.exec(azuriteConnectionString)?.[1];
  if (!blob) throw new Error("the Azurite connection string has no BlobEndpoint");
  const proxy = new StorageFaultProxy(new URL(blob));
  const url = await proxy.start();
  return { proxy, connectionString: StorageFaultProxy.connectionString(azuriteConnectionString, url) };
}

export interface ScheduleViolation extends Violation {
  seed: number;
  /** Index of the event after which the oracle saw it, or -1 for the convergence phase. */
  afterEvent: number;
}

export interface ScheduleOutcome {
  seed: number;
  /** The set's target-group kinds besides its gateway. */
  kinds: ConsumerKind[];
  events: number;
  faults: number;
  /** Faults injected, by dependency. */
  faultsOn: Partial<Record<Dependency, number>>;
  crashes: number;
  rotationsCompleted: number;
  violations: ScheduleViolation[];
  ms: number;
}

export interface RunOptions {
  /** Stop at the first violation (shrinking). */
  stopAtFirst?: boolean;
  /** Stop at the first violation of this invariant, ignoring others (a shrink try asks only that). */
  stopAt?: Invariant;
  /**
   * End after the schedule's own events, without the convergence phase: a shrink try for a
   * violation that showed during the events reproduces it only if it shows there too.
   */
  eventsOnly?: boolean;
  /** Daily passes allowed for convergence after the faults stop (I6). */
  convergenceDays?: number;
  /** Wall-clock limit per event: an event that takes longer is a stuck pass (I8). */
  eventTimeoutMs?: number;
  /** Called before the schedule's container is deleted (`--replay --dump` prints the journals). */
  onFinish?: (container: ContainerClient) => Promise<void>;
}

const QUEUE = output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" });
const MAX_DEQUEUE = 5;

interface EntraInternals {
  getApplication(objectId: string): { passwordCredentials: { keyId: string; secretText: string; endDateTime: string }[] } | undefined;
  removePassword(objectId: string, keyId: string): boolean;
}

/** The Entra emulator keeps each credential's value; Graph never shows it. Ground truth for I2. */
function entraInternals(world: World): EntraInternals {
  const state = (world.entra as unknown as { state?: EntraInternals }).state;
  if (!state || typeof state.getApplication !== "function" || typeof state.removePassword !== "function") {
    throw new Error("the Entra emulator's state changed shape; update tests/harness/chaos/simulator.ts entraInternals()");
  }
  return state;
}

function groundTruth(world: World, consumers?: ConsumerEmulators): GroundTruth {
  const internals = entraInternals(world);
  return {
    entra: world.entra,
    keyVault: world.keyVault,
    gateway: world.gateway,
    consumers: () => consumers?.consumers() ?? [],
    credentialValues: (objectId) => new Map((internals.getApplication(objectId)?.passwordCredentials ?? []).map((p) => [p.keyId, p.secretText])),
  };
}

interface QueuedMessage {
  message: RotationMessage;
  dequeueCount: number;
}

/** One estate in the shared world, driven through the product's own entry points. */
class Estate {
  readonly outputs: { where: string; text: string }[] = [];
  readonly accepted: string[] = [];
  readonly adminBroken = new Map<string, string>();
  readonly adminPasted = new Map<string, string>();
  readonly adminCredentials = new Set<string>();
  readonly hooks: RotationHooks;
  ticks = 0;
  calmTicks = 0;
  /** Timer invocations that threw (the host logs them; calm ones are reported). */
  timerFailures = 0;
  faults = 0;
  readonly faultsOn: Partial<Record<Dependency, number>> = {};
  crashes = 0;
  private seq = 0;
  private readonly pool: QueuedMessage[] = [];
  private retry: QueuedMessage[] = [];
  private armedCrash?: { seam: CrashSeam; skip: number };
  private crashFired = false;
  private leaseLossArmed = false;
  private requestDuring?: ChaosEvent & { t: "requestDuringPass" };
  private nested = false;
  private readonly mem: ReturnType<typeof memoryLogger>;
  private logCursor = 0;
  private receiverCursor: Record<string, number> = {};

  constructor(
    readonly world: World,
    readonly seeded: SeededSet,
    /** Azurite itself (the simulator's and the oracle's view); the product may go through the proxy. */
    readonly container: ContainerClient,
    readonly runtime: BuiltRuntime,
    readonly storage?: StorageFaultProxy,
    readonly manual = false,
    readonly consumers?: ConsumerEmulators,
  ) {
    this.mem = memoryLogger(runtime.redactor);
    this.hooks = {
      afterStep: (step) => this.seam("afterStep", step),
      afterEffect: (step) => this.seam("afterEffect", step),
      afterTargetUpdated: () => this.seam("afterTargetUpdated", "propagate"),
    };
    for (const [name, r] of Object.entries(this.receivers())) this.receiverCursor[name] = r.accepted().length;
  }

  get set() {
    return this.seeded.set;
  }

  private receivers(): Record<string, { accepted(): { body: unknown }[] }> {
    const r = this.world.receivers;
    return r ? { teams: r.teams, slack: r.slack, pagerduty: r.pagerduty, opsgenie: r.opsgenie, webhook: r.webhook } : {};
  }

  private async seam(seam: CrashSeam, step: string): Promise<void> {
    if (this.armedCrash?.seam === seam) {
      if (this.armedCrash.skip-- <= 0) {
        this.armedCrash = undefined;
        this.crashFired = true;
        throw new ProcessCrash(`${seam} (${step})`);
      }
    }
    if (seam !== "afterStep") return;
    if (this.leaseLossArmed) {
      // Another instance breaks the lease and takes over while this pass still works.
      this.leaseLossArmed = false;
      await this.breakLease();
      await this.deliver({ set: this.set.name, mode: "scheduled", trigger: "timer", key: newTickKey(this.runtime.clock.now()) }, 1, true);
    }
    if (this.requestDuring) {
      const e = this.requestDuring;
      this.requestDuring = undefined;
      await this.request(e.mode, false, true);
    }
  }

  /** Everything that left the service since the last call, for the oracle's secrecy scan. */
  drainOutputs(): { where: string; text: string }[] {
    const out = this.outputs.splice(0);
    for (const line of this.mem.lines.slice(this.logCursor)) out.push({ where: "rotator log", text: line });
    this.logCursor = this.mem.lines.length;
    for (const [name, r] of Object.entries(this.receivers())) {
      const all = r.accepted();
      for (const a of all.slice(this.receiverCursor[name] ?? 0)) out.push({ where: `${name} alert payload`, text: JSON.stringify(a.body) });
      this.receiverCursor[name] = all.length;
    }
    // CHAOS_TRACE=1 prints everything that left the service (already redacted by the product).
    if (process.env["CHAOS_TRACE"]) for (const o of out) process.stderr.write(`[trace] ${o.where}: ${o.text.slice(0, 400)}\n`);
    return out;
  }

  private context(functionName: string, dequeueCount = 1) {
    const id = `${functionName}-${++this.seq}`;
    return new InvocationContext({
      functionName,
      invocationId: id,
      triggerMetadata: { dequeueCount },
      logHandler: (level, ...a) => this.outputs.push({ where: `${functionName} log`, text: `${level} ${a.map(String).join(" ")}` }),
    });
  }

  /** Simulated time of the last event that may have left a lease behind. */
  private lastPassAt = 0;

  /**
   * A lease outlives a pass that could not release it (Storage failing at that moment) only for its
   * duration (15 s here, 60 s in production): real seconds that the simulated hours between passes
   * cannot wait out. When more than that passed in simulated time, the lease has run out.
   */
  private async leasesRanOut(): Promise<void> {
    const now = this.world.clock.now().getTime();
    if (now - this.lastPassAt > 60_000) await this.breakLease();
    this.lastPassAt = now;
  }

  async tick(): Promise<void> {
    this.ticks++;
    await this.leasesRanOut();
    // I8 counts only ticks that had every dependency at hand: during an outage no pass can progress.
    if (!faultsPending(this.world, this.consumers) && !this.storage?.pending()) this.calmTicks++;
    // The queue delivers again what failed before (visibility timeout), then the timer's message.
    const again = this.retry;
    this.retry = [];
    for (const q of again) await this.deliver(q.message, q.dequeueCount);
    const ctx = this.context("rotationTimer");
    // A timer invocation that throws is logged by the host and runs again at the next occurrence.
    await makeRotationTimerHandler(() => Promise.resolve(this.runtime), QUEUE)({ isPastDue: false } as unknown as Timer, ctx).catch((e: unknown) =>
      this.hostLogsFailure("rotationTimer", e),
    );
    for (const m of (ctx.extraOutputs.get(QUEUE) as RotationMessage[] | undefined) ?? []) await this.deliver(m);
  }

  async health(): Promise<void> {
    await makeHealthTimerHandler(() => Promise.resolve(this.runtime))({ isPastDue: false } as unknown as Timer, this.context("healthTimer")).catch(
      (e: unknown) => this.hostLogsFailure("healthTimer", e),
    );
  }

  /** The latest probe's failing checks that page (error, critical), read from Storage: "id status: summary". */
  async pagingChecks(): Promise<string[]> {
    const buf = await this.container
      .getBlobClient(`probes/${this.set.name}/latest.json`)
      .downloadToBuffer()
      .catch(() => undefined);
    if (!buf) return ["no probe report in Storage"];
    const report = JSON.parse(buf.toString("utf8")) as { checks?: { id: string; status: string; severity: string; summary: string }[] };
    return (report.checks ?? [])
      .filter((c) => (c.status === "fail" || c.status === "error") && (c.severity === "error" || c.severity === "critical"))
      .map((c) => `${c.id} ${c.status}: ${c.summary}`);
  }

  /** What the Functions host does with a failed timer invocation: log it (judged for secrets too). */
  private hostLogsFailure(functionName: string, e: unknown): void {
    this.outputs.push({ where: `${functionName} failure`, text: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    this.timerFailures++;
  }

  async deliver(message: RotationMessage, dequeueCount = 1, nested = false): Promise<void> {
    if (!nested) this.pool.push({ message, dequeueCount });
    const wasNested = this.nested;
    this.nested = this.nested || nested;
    try {
      await makeRotationWorkerHandler(() => Promise.resolve(this.runtime))(JSON.stringify(message), this.context("rotationWorker", dequeueCount));
    } catch (e) {
      this.outputs.push({ where: "worker error", text: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      if (dequeueCount < MAX_DEQUEUE) this.retry.push({ message, dequeueCount: dequeueCount + 1 });
    } finally {
      this.nested = wasNested;
    }
    if (this.crashFired && !this.nested) {
      this.crashFired = false;
      this.crashes++;
      // The crashed process never releases its lease; it runs out.
      await this.breakLease();
    }
  }

  async redeliver(pick: number): Promise<void> {
    if (this.pool.length === 0) return;
    const q = this.pool[pick % this.pool.length]!;
    await this.deliver(q.message, Math.min(q.dequeueCount + 1, MAX_DEQUEUE));
  }

  async request(mode: "scheduled" | "force" | "emergency", dryRun = false, nested = false): Promise<void> {
    const res = await this.post(mode, dryRun);
    if (res.message) await this.deliver(res.message, 1, nested);
  }

  private async post(mode: "scheduled" | "force" | "emergency", dryRun: boolean): Promise<{ status: number; message?: RotationMessage }> {
    const ctx = this.context("startRotation");
    const res = await makeStartRotationHandler(() => Promise.resolve(this.runtime), QUEUE)(
      new HttpRequest({
        method: "POST",
        url: "http://localhost/api/rotations",
        body: { string: JSON.stringify({ set: this.set.name, mode, dryRun }) },
        headers: { "content-type": "application/json" },
      }),
      ctx,
    );
    this.outputs.push({
      where: `POST /api/rotations answer`,
      text: JSON.stringify({ status: res.status, headers: res.headers, body: res.jsonBody ?? res.body }),
    });
    const body = (res.jsonBody ?? {}) as Record<string, unknown>;
    if ((res.status ?? 200) === 202 && typeof body["requestId"] === "string") this.accepted.push(body["requestId"]);
    return { status: res.status ?? 200, message: ctx.extraOutputs.get(QUEUE) as RotationMessage | undefined };
  }

  /** 50 operators at once: every answer first, then the queue delivers what was accepted. */
  async burst(mode: "scheduled" | "force" | "emergency", n: number): Promise<void> {
    const answers = await Promise.all(Array.from({ length: n }, () => this.post(mode, false)));
    for (const a of answers) if (a.message) await this.deliver(a.message);
  }

  /** An operator confirms: on a manual gateway after pasting the current secret; elsewhere it must be refused. */
  async confirm(): Promise<void> {
    const state = await this.rawState();
    const runId = state?.activeRunId ?? state?.lastRun?.runId;
    if (!runId) return;
    // The on-call operator does what the incident says before confirming: paste the current secret.
    // A run that erred since it asked (status `waiting`) still waits for them: awaitingConfirmationSince says so.
    if (this.manual && (await this.waitsForOperator(runId))) this.operatorPaste();
    const ctx = this.context("confirmRotation");
    const req = new HttpRequest({
      method: "POST",
      url: `http://localhost/api/rotations/${runId}/confirm`,
      params: { runId },
      body: { string: JSON.stringify({ confirmedBy: "chaos operator" }) },
      headers: { "content-type": "application/json" },
    });
    const res = await makeConfirmRotationHandler(() => Promise.resolve(this.runtime), QUEUE)(req, ctx);
    this.outputs.push({ where: "POST /api/rotations/{runId}/confirm answer", text: JSON.stringify({ status: res.status, body: res.jsonBody ?? res.body }) });
    const body = (res.jsonBody ?? {}) as Record<string, unknown>;
    if (res.status === 202 && typeof body["requestId"] === "string") this.accepted.push(body["requestId"]);
    const message = ctx.extraOutputs.get(QUEUE) as RotationMessage | undefined;
    if (message) await this.deliver(message);
  }

  /** The set's state blob as Storage holds it (read directly: the operator's view, never faulted). */
  private async rawState(): Promise<{ activeRunId?: string; lastRun?: { runId?: string } } | undefined> {
    const buf = await this.container
      .getBlobClient(`state/${this.set.name}.json`)
      .downloadToBuffer()
      .catch(() => undefined);
    return buf ? (JSON.parse(buf.toString("utf8")) as { activeRunId?: string; lastRun?: { runId?: string } }) : undefined;
  }

  private async rawRun(runId: string): Promise<{ status?: string; awaitingConfirmationSince?: string } | undefined> {
    const buf = await this.container
      .getBlobClient(`runs/${this.set.name}/${runId}.json`)
      .downloadToBuffer()
      .catch(() => undefined);
    return buf ? (JSON.parse(buf.toString("utf8")) as { status?: string; awaitingConfirmationSince?: string }) : undefined;
  }

  /** The run asked its operator and has not finished: the journal is the record the incident points at. */
  private async waitsForOperator(runId: string): Promise<boolean> {
    const run = await this.rawRun(runId);
    return (
      run?.status === "awaiting_confirmation" ||
      (run?.awaitingConfirmationSince !== undefined && !["succeeded", "noop", "failed", "needs_attention"].includes(run.status ?? ""))
    );
  }

  /** A manual gateway: the operator copies the current Key Vault secret into every server by hand. */
  operatorPaste(): void {
    const current = this.currentValue();
    if (!current) return;
    for (const t of this.targets()) {
      if (t.clientSecret !== current) this.world.gateway.setServerSecret(t.id, current);
      this.adminBroken.delete(t.id);
    }
  }

  /** After the faults stop, a manual gateway's operator answers any run that waits for them. */
  async operatorAnswers(): Promise<void> {
    if (!this.manual) return;
    const state = await this.rawState();
    if (state?.activeRunId && (await this.waitsForOperator(state.activeRunId))) await this.confirm();
  }

  async breakLease(): Promise<void> {
    const blob = this.container.getBlockBlobClient(`leases/${this.set.name}`);
    const props = await blob.getProperties().catch(() => undefined);
    if (props?.leaseState === "leased") await blob.getBlobLeaseClient().breakLease(0);
  }

  armCrash(seam: CrashSeam, skip: number): void {
    this.armedCrash = { seam, skip };
  }

  armLeaseLoss(): void {
    this.leaseLossArmed = true;
  }

  armRequestDuringPass(e: ChaosEvent & { t: "requestDuringPass" }): void {
    this.requestDuring = e;
  }

  disarm(): void {
    this.armedCrash = undefined;
    this.leaseLossArmed = false;
    this.requestDuring = undefined;
  }

  // ── an administrator, behind the product's back ────────────────────────────────────────────

  targets() {
    return this.world.gateway.servers().filter((s) => s.clientId === this.set.clientId);
  }

  currentValue(): string | undefined {
    return this.world.keyVault
      .versions(this.set.keyVault.secretName)
      .filter((v) => v.enabled && !v.deleted)
      .at(-1)?.value;
  }

  addServer(copy: "current" | "old"): void {
    const current = this.currentValue() ?? this.seeded.handMade.secretText;
    const old = this.world.keyVault.versions(this.set.keyVault.secretName).find((v) => v.value !== current)?.value ?? this.seeded.handMade.secretText;
    const secret = copy === "current" ? current : old;
    const t0 = this.targets()[0] ?? this.world.gateway.servers()[0]!;
    const s = this.world.gateway.seedServer({
      name: `${this.set.name}-added-${++this.seq}`,
      tokenName: t0.tokenName,
      tokenUrl: `${this.world.authorityHost}/${this.world.tenantId}/oauth2/v2.0/token`,
      clientId: this.set.clientId,
      clientSecret: secret,
      scopes: t0.scopes,
      additionalParameters: t0.additionalParameters,
    });
    if (!this.belongsToLiveCredential(secret)) this.adminBroken.set(s.id, secret);
    else if (secret !== current) this.adminPasted.set(s.id, secret);
  }

  /**
   * Ground truth, not one token answer: the value is held by a credential the app still has and
   * that has not expired. A replication flap can make Entra accept a removed secret for a moment
   * (or refuse a new one), so asking the token endpoint misjudged an administrator's paste of a
   * retired secret as fine and blamed the product for it a day later (issue 21, seed 90065).
   */
  private belongsToLiveCredential(secret: string): boolean {
    const now = this.world.clock.now().getTime();
    const app = entraInternals(this.world).getApplication(this.seeded.appObjectId);
    return (app?.passwordCredentials ?? []).some((p) => p.secretText === secret && Date.parse(p.endDateTime) > now);
  }

  private pickTarget(pick: number) {
    const ts = this.targets();
    return ts.length ? ts[pick % ts.length] : undefined;
  }

  apply(e: ChaosEvent): void | Promise<void> {
    const { world } = this;
    switch (e.t) {
      case "addServer":
        return this.addServer(e.copy);
      case "deleteServer": {
        const t = this.pickTarget(e.pick);
        if (t && this.targets().length > 1) world.gateway.deleteServer(t.id);
        return;
      }
      case "moveServer": {
        const t = this.pickTarget(e.pick);
        if (t && this.targets().length > 1) world.gateway.editServer(t.id, { clientId: this.seeded.otherClientId });
        return;
      }
      case "editByHand": {
        const t = this.pickTarget(e.pick);
        if (t) {
          world.gateway.setServerSecret(t.id, e.text);
          this.adminBroken.set(t.id, e.text);
        }
        return;
      }
      case "tokenUrl": {
        const t = this.pickTarget(e.pick);
        // Another URL for the same token endpoint (the tenant's custom domain, or back to its ID).
        // A URL Entra does not serve would break the server by hand; that is editByHand's job.
        const tenant = e.variant === "customDomain" ? "contoso.example" : world.tenantId;
        if (t) world.gateway.editServer(t.id, { tokenUrl: `${world.authorityHost}/${tenant}/oauth2/v2.0/token` });
        return;
      }
      case "handMadeAdd": {
        const c = world.entra.seedPassword(this.seeded.appObjectId, {
          displayName: "added by hand in the portal",
          endDateTime: new Date(world.clock.now().getTime() + 365 * DAY_MS).toISOString(),
        });
        this.adminCredentials.add(c.keyId);
        return;
      }
      case "handMadeRemove": {
        const ids = [...this.adminCredentials];
        if (ids.length === 0) return;
        const keyId = ids[e.pick % ids.length]!;
        entraInternals(world).removePassword(this.seeded.appObjectId, keyId);
        this.adminCredentials.delete(keyId);
        return;
      }
      case "policy":
        world.entra.setAppManagementPolicy({ passwordAdditionBlocked: e.blocked, ...(e.maxDays !== undefined ? { maxPasswordLifetimeDays: e.maxDays } : {}) });
        return;
      case "appPolicy":
        world.entra.assignAppManagementPolicy(
          this.seeded.appObjectId,
          e.clear
            ? null
            : { ...(e.blocked ? { passwordAdditionBlocked: true } : {}), ...(e.maxDays !== undefined ? { maxPasswordLifetimeDays: e.maxDays } : {}) },
        );
        return;
      case "replication":
        world.entra.setReplicationDelay(e.ms);
        return;
      case "replicationFlap":
        world.entra.setReplication({ flapMs: e.flapMs, flapPeriodMs: e.periodMs, removalLagMs: e.lagMs, seed: e.seed });
        return;
      case "fault":
        this.faults++;
        this.faultsOn[e.dep] = (this.faultsOn[e.dep] ?? 0) + 1;
        if (e.dep === "storage")
          this.storage?.add({
            kind: e.kind as StorageFaultKind,
            ...(e.status ? { status: e.status } : {}),
            times: e.kind === "hang" ? Math.min(e.times, 2) : e.times,
          });
        else injectFault(world, e.dep, e.kind, e.times, e.status, this.consumers);
        return;
      case "clearFaults":
        clearFaults(world, this.consumers);
        this.storage?.clear();
        return;
      case "crash":
        return this.armCrash(e.seam, e.skip);
      case "leaseLoss":
        return this.armLeaseLoss();
      case "requestDuringPass":
        return this.armRequestDuringPass(e);
      case "clockJump":
        world.clock.advance(e.days * DAY_MS);
        return;
      case "advance":
        world.clock.advance(e.hours * 3_600_000);
        return;
      case "sabotage": {
        if (e.what === "overwriteConsumerSecret") {
          const value = e.value === "old" ? this.seeded.handMade.secretText : "sabotaged-behind-the-products-back";
          this.consumers?.overwrite(e.kind, value);
        } else if (e.what === "disableCurrentVersion") {
          const v = world.keyVault
            .versions(this.set.keyVault.secretName)
            .filter((x) => x.enabled && !x.deleted)
            .at(-1);
          if (v) world.keyVault.state.updateVersion(this.set.keyVault.secretName, v.version, { attributes: { enabled: false } });
        } else {
          const t = this.targets()[0];
          if (t) world.gateway.setServerSecret(t.id, "sabotaged-behind-the-products-back");
        }
        return;
      }
      case "tick":
        return this.tick();
      case "health":
        return this.health();
      case "request":
        return this.request(e.mode, e.dryRun ?? false);
      case "burst":
        return this.burst(e.mode, e.n);
      case "confirm":
        return this.confirm();
      case "redeliver":
        return this.redeliver(e.pick);
    }
  }
}

// ── faults on every dependency ──────────────────────────────────────────────────────────────

function serverFor(world: World, dep: Dependency, consumers?: ConsumerEmulators): { server: EmulatorServer; route: string } | undefined {
  switch (dep) {
    case "arm":
      // API Management and App Service, their long-running operations included.
      return consumers && { server: consumers.servers().arm, route: "^[A-Z]+ /subscriptions/" };
    case "kong":
      return consumers && { server: consumers.servers().kong, route: "^[A-Z]+ /" };
    case "graph":
      return { server: world.entra.server, route: "^(GET|POST|PATCH|DELETE) /v1\\.0/" };
    case "token":
      return { server: world.entra.server, route: "^POST /[^/]+/oauth2/v2\\.0/token$" };
    case "keyvault":
      return { server: world.keyVault.server, route: "^[A-Z]+ /(secrets|deletedsecrets)" };
    case "gateway":
      return { server: world.gateway.server, route: "^[A-Z]+ /mcp-servers" };
    case "storage":
      return undefined; // the Storage fault proxy, not an emulator
    default: {
      const r = world.receivers?.[dep];
      return r ? { server: r.server, route: "^(POST|PUT) /" } : undefined;
    }
  }
}

function faultSpec(kind: FaultKind, route: string, times: number, status?: number): FaultSpec {
  switch (kind) {
    case "status":
      return { route, status: status ?? 503, times };
    case "throttle":
      return { route, status: 429, retryAfterSeconds: 1, times };
    case "drop":
      return { route, drop: true, times };
    case "dropAfterHandling":
      return { route, dropAfterHandling: true, times };
    case "hang":
      return { route, hang: true, times: Math.min(times, 2) };
    case "latency":
      return { route, latencyMs: 300, times };
    case "html":
      return {
        route,
        status: 502,
        raw: true,
        body: "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>",
        headers: { "Content-Type": "text/html" },
        times,
      };
    case "truncated":
      return { route, status: 200, raw: true, body: '{"value":[{"id":"0f3a', headers: { "Content-Type": "application/json" }, times };
    case "wrongType":
      return { route, status: 200, raw: true, body: "OK", headers: { "Content-Type": "text/plain" }, times };
  }
}

const ALERT_DEPENDENCIES: ReadonlySet<Dependency> = new Set<Dependency>(["teams", "slack", "pagerduty", "opsgenie", "webhook"]);

function injectFault(world: World, dep: Dependency, kind: FaultKind, times: number, status?: number, consumers?: ConsumerEmulators): void {
  const target = serverFor(world, dep, consumers);
  // Token-endpoint faults reach the set's token requests, not the rotator's own identity (an Azure
  // SDK credential, known by its x-ms-client-request-id): MSAL
  // throttles a client for 60 s of *real* time after a 5xx or 429, which a simulated week cannot
  // wait out (the identity's own outage is tests/rotation's, in real time).
  // An alert receiver that answers 2xx has the message: whatever garbles its answer on the way
  // back, it recorded what it was sent (the oracle's ground truth), so the garbled 2xx kinds
  // reach it after it handled the call. (A 2xx from a receiver that did not act is undetectable by
  // any sender; the oracle would call a delivered resolve missing.)
  const garbled2xx = (kind === "truncated" || kind === "wrongType") && ALERT_DEPENDENCIES.has(dep);
  if (target) {
    target.server.faults.add({
      ...faultSpec(kind, target.route, times, status),
      ...(dep === "token" ? { unlessHeader: "x-ms-client-request-id" } : {}),
      ...(garbled2xx ? { afterHandling: true } : {}),
    });
  }
}

/** Every emulator a fault can be injected into: the world's, its alert receivers and the consumers'. */
function faultable(world: World, consumers?: ConsumerEmulators): EmulatorServer[] {
  return [
    world.entra.server,
    world.keyVault.server,
    world.gateway.server,
    ...Object.values(world.receivers ?? {}).flatMap((r) => (typeof r === "object" && r && "server" in r ? [(r as { server: EmulatorServer }).server] : [])),
    ...(consumers ? Object.values(consumers.servers()) : []),
  ];
}

function faultsPending(world: World, consumers?: ConsumerEmulators): boolean {
  return faultable(world, consumers).some((s) => s.faults.list().length > 0);
}

function clearFaults(world: World, consumers?: ConsumerEmulators): void {
  for (const s of faultable(world, consumers)) s.faults.clear();
}

/** Back to a calm world: no faults, no policy, immediate replication, no latency. */
function calm(world: World, consumers?: ConsumerEmulators): void {
  clearFaults(world, consumers);
  world.entra.setAppManagementPolicy({});
  world.entra.setReplication({ delayMs: 0, flapMs: 0, removalLagMs: 0, seed: 0 });
  world.gateway.setLatency(0);
}

// ── one schedule ────────────────────────────────────────────────────────────────────────────

/** Every channel allows critical; they differ below it, as a real estate's would. */
const ALERT_SEVERITIES = { teams: "warning", slack: "critical", pagerduty: "critical", opsgenie: "error", webhook: "info" } as const;

/**
 * After convergence: every incident a channel heard open is resolved there; then a critical
 * condition (an administrator breaks one MCP server's secret) must reach every channel, and be
 * resolved on every channel once the next pass (or, on a manual gateway, the operator) repairs it.
 * The resolve rule of docs/alerts.md needs two consecutive healthy probe passes.
 */
async function alertDrill(estate: Estate, alerts: AlertOracle, check: (afterEvent: number) => Promise<void>): Promise<string[]> {
  const out = await settleAlerts(estate, () => alerts.settled());
  const victim = estate.targets()[0];
  // A manual gateway's servers cannot be read back, so no probe can see one broken: no drill there.
  if (!victim || estate.manual) return out;
  alerts.setMark();
  const text = `drill~${randomUUID()}`;
  estate.world.gateway.setServerSecret(victim.id, text);
  estate.adminBroken.set(victim.id, text);
  await estate.health();
  out.push(...alerts.reached());
  estate.world.clock.advance(DAY_MS);
  await estate.tick();
  await check(-1);
  out.push(...(await settleAlerts(estate, () => alerts.resolved())));
  return out;
}

/**
 * Health passes until `judge` finds the alerts settled. The simulation gives a probe and each
 * delivery 2 s; on a loaded machine a check may run out of it and rightly page, and a resolve may
 * miss its channel (the next health pass resends it). So the alerts must settle within six health
 * passes, at least two of them after every paging check is healthy; a check that stays unhealthy
 * on a converged estate is named in the violation.
 */
async function settleAlerts(estate: Estate, judge: () => string[]): Promise<string[]> {
  let failing: string[] = [];
  let out: string[] = [];
  for (let i = 0, clean = 0; i < 6; i++) {
    await estate.health();
    failing = await estate.pagingChecks();
    clean = failing.length === 0 ? clean + 1 : 0;
    out = judge();
    if (clean >= 2 && out.length === 0) break;
  }
  return out.map((r) => (failing.length ? `${r} (the last probe still fails: ${failing.join("; ")})` : r));
}

let setCounter = 0;

export async function runSchedule(env: ChaosEnv, schedule: GeneratedSchedule, options: RunOptions = {}): Promise<ScheduleOutcome> {
  const started = Date.now();
  const { world } = env;
  const kinds = schedule.estate.kinds ?? [];
  if (kinds.length > 0) env.consumers ??= await ConsumerEmulators.start(world);
  const consumers = env.consumers;
  calm(world, consumers);
  const start = { entra: world.entra.issuedSecrets().length, gateway: world.gateway.issuedSecrets().length };
  const name = `cx${(schedule.seed >>> 0).toString(36)}-${(++setCounter).toString(36)}`.slice(0, 24);
  const manual = schedule.estate.manual === true;
  const seeded = world.seedSet({
    name,
    secretExpiresInDays: schedule.estate.secretExpiresInDays,
    targets: schedule.estate.targets,
    otherTargets: schedule.estate.otherTargets,
    ...(manual ? { gatewayKind: "manual" as const } : {}),
    alerts: ALERT_SEVERITIES,
    overrides: {
      ...(kinds.length > 0 && consumers
        ? { gateway: undefined, groups: [manual ? { kind: "manual", targets: [] } : world.cequenceGroup(), ...consumers.groups(kinds)] }
        : {}),
      secret: { lifetimeDays: 180, renewBeforeDays: 30, renewAtFraction: 0.1, gracePeriodHours: 24 },
      // The streak must outlast any flap the schedule draws (≤ 0.9 s), as the product's default 30 s outlasts Entra's.
      verification: { consecutiveSuccesses: 2, budgetSeconds: 3, intervalMs: 50, minStableSeconds: 1 },
    },
  });
  consumers?.seed({ clientId: seeded.set.clientId, secretName: seeded.set.keyVault.secretName, handMadeSecret: seeded.handMade.secretText }, kinds);
  const container = await freshContainer(env.storageConnectionString, "chaos");
  const storage = env.storageProxy;
  // The product's Blob client goes through the fault proxy, with retries short enough for a simulation.
  const productContainer = storage
    ? createStorageContainer({
        location: { kind: "connectionString", connectionString: storage.connectionString },
        container: container.containerName,
        timeoutInMs: 2_000,
        retryOptions: { maxTries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 200 },
      })
    : container;
  const holder: { e?: Estate } = {};
  const runtime = world.runtime([seeded.set], productContainer, {
    hooks: () => holder.e!.hooks,
    httpTimeoutInMs: 2_000,
    // A whole probe (nine checks, token retries honouring Retry-After) in 2 s timed out on a loaded
    // machine and paged for nothing; 5 s still ends a hung dependency's check well inside a pass.
    probeTimeoutInMs: 5_000,
    onRotationEvent: async (ev, logger) => {
      holder.e!.outputs.push({ where: "rotation event", text: JSON.stringify(ev) });
      await runtime.alerting.onRotationEvent(ev, logger);
    },
  });
  const estate = new Estate(world, seeded, container, runtime, storage?.proxy, manual, consumers);
  holder.e = estate;
  const alerts = world.receivers ? new AlertOracle(world.receivers, name, ALERT_SEVERITIES) : undefined;
  const oracle = new InvariantOracle(
    groundTruth(world, consumers),
    container,
    { name, tenantId: world.tenantId, clientId: seeded.set.clientId, appObjectId: seeded.appObjectId, secretName: seeded.set.keyVault.secretName },
    { secrets: [world.operator.secret, world.gatewayApiToken, ...(consumers ? [consumers.kongAdminToken] : [])], channelSecrets: world.channelSecrets },
    start,
  );
  const violations: ScheduleViolation[] = [];
  const check = async (afterEvent: number): Promise<void> => {
    const found = await oracle.check({
      adminBroken: estate.adminBroken,
      adminPasted: estate.adminPasted,
      adminCredentials: estate.adminCredentials,
      accepted: estate.accepted,
      ticks: estate.calmTicks,
      outputs: estate.drainOutputs(),
    });
    for (const v of found) violations.push({ ...v, seed: schedule.seed, afterEvent });
  };
  const stopHere = (): boolean =>
    (options.stopAtFirst === true && violations.length > 0) || (options.stopAt !== undefined && violations.some((v) => v.invariant === options.stopAt));
  const timeoutMs = options.eventTimeoutMs ?? 60_000;
  let rotationsCompleted = 0;
  try {
    for (let i = 0; i < schedule.events.length; i++) {
      const e = schedule.events[i]!;
      const t0 = Date.now();
      const timedOut = await withTimeout(Promise.resolve(estate.apply(e)), timeoutMs);
      if (process.env["CHAOS_PROFILE"]) process.stderr.write(`[profile] ${Date.now() - t0} ms ${JSON.stringify(e)}\n`);
      if (timedOut) {
        // A pass that never ends keeps renewing its lease: nothing after it can be judged.
        violations.push({
          invariant: "I8",
          detail: `event ${i} (${e.t}) did not finish within ${timeoutMs} ms; the schedule stops here`,
          seed: schedule.seed,
          afterEvent: i,
        });
        break;
      }
      const t1 = Date.now();
      await check(i);
      if (process.env["CHAOS_PROFILE"]) process.stderr.write(`[profile] ${Date.now() - t1} ms oracle\n`);
      if (stopHere()) break;
    }
    if (!options.eventsOnly && !stopHere() && !violations.some((v) => v.detail.includes("did not finish"))) {
      // The faults stop. A bounded number of daily passes must converge (I6).
      calm(world, consumers);
      storage?.proxy.clear();
      estate.disarm();
      // A manual gateway's drift is the operator's to repair: the on-call person pastes the current secret.
      if (manual) estate.operatorPaste();
      // Converged also means not overdue: a secret inside its renewal window must have been replaced
      // (an estate where every pass failed quietly would otherwise look settled).
      const settledReasons = async (): Promise<string[]> => {
        const r = await oracle.final({ accepted: estate.accepted });
        const due = oracle.currentDue(world.clock.now(), seeded.set.secret);
        if (due.due) r.push(`I6: the current secret (${due.daysLeft ?? "?"} days left) is inside its renewal window and no pass replaced it`);
        return r;
      };
      let reasons = await settledReasons();
      const tick = async (): Promise<boolean> => {
        world.clock.advance(DAY_MS);
        if (await withTimeout(estate.tick(), timeoutMs)) {
          reasons.push(`I8: a daily pass after the faults stopped did not finish within ${timeoutMs} ms`);
          return false;
        }
        await estate.operatorAnswers();
        await check(-1);
        return true;
      };
      for (let d = 0; d < (options.convergenceDays ?? 6) && reasons.length > 0; d++) {
        if (!(await tick())) break;
        reasons = await settledReasons();
      }
      if (reasons.length === 0) {
        // ...and, converged, creates no further credential.
        const before = oracle.managedKeyIds().join(",");
        const due = oracle.currentDue(new Date(world.clock.now().getTime() + 2 * DAY_MS), seeded.set.secret);
        for (let d = 0; d < 2; d++) if (!(await tick())) break;
        if (oracle.managedKeyIds().join(",") !== before && !due.due)
          reasons.push(`I6: a converged estate created another credential (the current one had ${due.daysLeft} days left)`);
        // A rotation those passes started (the current secret came due) finishes before the alert drill.
        for (let d = 0; d < 3 && reasons.length === 0; d++) {
          const open = await settledReasons();
          if (open.length === 0) break;
          if (d === 2) reasons.push(...open);
          else if (!(await tick())) break;
        }
        if (alerts && reasons.length === 0) reasons.push(...(await alertDrill(estate, alerts, check)).map((r) => `AL: ${r}`));
      }
      for (const r of reasons)
        violations.push({
          invariant: r.startsWith("AL:") ? "ALERTS" : (r.slice(0, 2) as Invariant),
          detail: `after the faults stopped: ${r.slice(4)}`,
          seed: schedule.seed,
          afterEvent: -1,
        });
    }
  } finally {
    estate.disarm();
    calm(world, consumers);
    storage?.proxy.clear();
    await options.onFinish?.(container).catch((e: unknown) => process.stderr.write(`onFinish failed: ${String(e)}\n`));
    await estate.breakLease().catch(() => undefined);
    await container.delete().catch(() => undefined);
    rotationsCompleted = world.keyVault.versions(seeded.set.keyVault.secretName).filter((v) => v.tags["runId"]).length;
    world.forgetSets();
    consumers?.reset();
  }
  return {
    seed: schedule.seed,
    kinds,
    events: schedule.events.length,
    faults: estate.faults,
    faultsOn: estate.faultsOn,
    crashes: estate.crashes,
    rotationsCompleted,
    violations,
    ms: Date.now() - started,
  };
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  try {
    return await Promise.race([p.then(() => false as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
