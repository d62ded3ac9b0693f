import functions, { type Timer } from "@azure/functions";
import type { ContainerClient } from "@azure/storage-blob";
import { DAY_MS } from "../../src/clock.js";
import type { CredentialSet } from "../../src/config/schema.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import type { RotationHooks } from "../../src/rotation/hooks.js";
import type { PassResult, RotationEvent, RotationMode, RunJournal } from "../../src/rotation/model.js";
import { FINISHED } from "../../src/rotation/model.js";
import { makeRotationTimerHandler, makeRotationWorkerHandler } from "../../src/handlers/rotationWorker.js";
import { makeStartRotationHandler } from "../../src/handlers/rotations.js";
import type { RotationMessage } from "../../src/handlers/rotationMessage.js";
import { managedDisplayNamePrefix } from "../../src/rotation/policy.js";
import { silentLogger } from "../../src/logging.js";
import type { SeededSet, SeedSetOptions, World } from "./world.js";

// @azure/functions is CommonJS; Node's ESM loader only sees some of its named exports.
const { HttpRequest, InvocationContext, output } = functions;

/**
 * A living estate driven the way the Functions host drives the product: timer ticks that enqueue,
 * queue deliveries to the worker, HTTP requests — while an administrator adds, deletes, moves and
 * edits MCP servers behind its back. Convergence is judged from the emulators' ground truth and
 * the contents of Storage, never from what the runner says about itself.
 */
export interface ConvergenceReport {
  /** Every target holds the current Key Vault secret, Entra accepts it, nothing else is left. */
  converged: boolean;
  staleTargets: string[];
  /** No credential but the current one is left on the app (the previous one was retired). */
  previousRetired: boolean;
  /** Runs in Storage that are not finished. */
  stuckRuns: string[];
  targets: number;
  currentKeyId?: string;
}

export class Lifecycle {
  readonly events: RotationEvent[] = [];
  readonly logLines: string[] = [];
  readonly passes: PassResult[] = [];
  /** Rotation seams; a scenario arms faults from here. */
  readonly hooks: RotationHooks = {};
  private readonly queue = output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" });
  private seq = 0;

  private constructor(
    readonly world: World,
    readonly seeded: SeededSet,
    readonly runtime: BuiltRuntime,
    readonly container: ContainerClient,
    private readonly narrate: (line: string) => void,
  ) {}

  static start(world: World, container: ContainerClient, seed: SeedSetOptions, narrate: (line: string) => void = () => undefined): Lifecycle {
    const seeded = world.seedSet(seed);
    const holder: { l?: Lifecycle } = {};
    const runtime = world.runtime([seeded.set], container, {
      hooks: () => holder.l!.hooks,
      onRotationEvent: async (e) => {
        holder.l!.events.push(e);
        await runtime.alerting.onRotationEvent(e, silentLogger);
      },
    });
    holder.l = new Lifecycle(world, seeded, runtime, container, narrate);
    return holder.l;
  }

  get set(): CredentialSet {
    return this.seeded.set;
  }

  private context(functionName: string, dequeueCount = 1) {
    return new InvocationContext({
      functionName,
      invocationId: `${functionName}-${++this.seq}`,
      triggerMetadata: { dequeueCount },
      logHandler: (level, ...a) => this.logLines.push(`${level} ${a.join(" ")}`),
    });
  }

  /** One rotation timer tick: the timer enqueues, the worker takes each message. */
  async tick(label = "timer tick"): Promise<PassResult[]> {
    const ctx = this.context("rotationTimer");
    await makeRotationTimerHandler(() => Promise.resolve(this.runtime), this.queue)({ isPastDue: false } as unknown as Timer, ctx);
    const results: PassResult[] = [];
    for (const m of (ctx.extraOutputs.get(this.queue) as RotationMessage[] | undefined) ?? []) {
      const r = await this.deliver(m);
      if (r && !(r instanceof Error)) results.push(r);
    }
    for (const r of results) this.narrate(`${this.day()} ${label}: run ${r.runId} → ${r.status}${describe(r.journal)}`);
    return results;
  }

  /** One queue delivery to the worker; a rejected delivery (the queue redelivers it) comes back as the error. */
  async deliver(message: RotationMessage, dequeueCount = 1): Promise<PassResult | undefined | Error> {
    try {
      const r = await makeRotationWorkerHandler(() => Promise.resolve(this.runtime))(JSON.stringify(message), this.context("rotationWorker", dequeueCount));
      if (r) this.passes.push(r);
      return r;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  /** POST /api/rotations as an operator would send it. */
  async request(mode: RotationMode): Promise<{ status: number; body: Record<string, unknown>; message?: RotationMessage }> {
    const ctx = this.context("startRotation");
    const res = await makeStartRotationHandler(() => Promise.resolve(this.runtime), this.queue)(
      new HttpRequest({
        method: "POST",
        url: "http://localhost/api/rotations",
        body: { string: JSON.stringify({ set: this.set.name, mode }) },
        headers: { "content-type": "application/json" },
      }),
      ctx,
    );
    const body = (res.jsonBody ?? {}) as Record<string, unknown>;
    this.narrate(
      `${this.day()} POST /api/rotations {mode: ${mode}} → ${res.status ?? 200}${typeof body["runId"] === "string" ? ` (run ${body["runId"]})` : ""}`,
    );
    return { status: res.status ?? 200, body, message: ctx.extraOutputs.get(this.queue) as RotationMessage | undefined };
  }

  /**
   * As an operator would: a 409 from a pass that holds the lease but has not opened its run yet
   * says "send the request again", so send it again (at most `attempts` times, 100 ms apart).
   */
  async requestUntilAccepted(mode: RotationMode, attempts = 30): Promise<{ status: number; body: Record<string, unknown>; message?: RotationMessage }> {
    let answer = await this.request(mode);
    for (let i = 1; i < attempts && answer.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await this.request(mode);
    }
    return answer;
  }

  advanceDays(days: number): void {
    this.world.clock.advance(days * DAY_MS);
  }

  // ── an administrator, behind the product's back ────────────────────────────────────────────

  targets() {
    return this.world.gateway.servers().filter((s) => s.clientId === this.set.clientId);
  }

  addServer(name: string, secret: string, why: string): void {
    const t0 = this.targets()[0] ?? this.world.gateway.servers()[0]!;
    this.world.gateway.seedServer({
      name,
      tokenName: t0.tokenName,
      tokenUrl: t0.tokenUrl,
      clientId: this.set.clientId,
      clientSecret: secret,
      scopes: t0.scopes,
      additionalParameters: t0.additionalParameters,
    });
    this.narrate(`${this.day()} admin adds MCP server ${name} (${why})`);
  }

  deleteServer(index: number): string {
    const t = this.targets()[index]!;
    this.world.gateway.deleteServer(t.id);
    this.narrate(`${this.day()} admin deletes MCP server ${t.name}`);
    return t.name;
  }

  moveServer(index: number): string {
    const t = this.targets()[index]!;
    this.world.gateway.editServer(t.id, { clientId: this.seeded.otherClientId });
    this.narrate(`${this.day()} admin points MCP server ${t.name} at another app's client ID`);
    return t.name;
  }

  editByHand(index: number): string {
    const t = this.targets()[index]!;
    this.world.gateway.setServerSecret(t.id, `typed-by-hand~${String(this.seq).padStart(4, "0")}-not-the-secret-000000`);
    this.narrate(`${this.day()} admin pastes a wrong secret into MCP server ${t.name} by hand`);
    return t.name;
  }

  // ── ground truth ──────────────────────────────────────────────────────────────────────────

  async convergence(): Promise<ConvergenceReport> {
    const { world, set } = this;
    const current = world.keyVault
      .versions(set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1);
    const value = current?.value ?? "";
    const targets = this.targets();
    const staleTargets = targets
      .filter((t) => t.clientSecret !== value)
      .map((t) => t.name)
      .sort();
    const accepted = value !== "" && world.entra.isSecretAccepted(world.tenantId, set.clientId, value);
    const creds = world.entra.passwordCredentials(this.seeded.appObjectId);
    const currentCred = creds.find((c) => c.hint === value.slice(0, 3) && c.keyId === current?.tags["keyId"]);
    const tracked = new Set(
      world.keyVault
        .versions(set.keyVault.secretName)
        .map((v) => v.tags["keyId"])
        .filter(Boolean),
    );
    const leftOver = creds.filter(
      (c) =>
        c !== currentCred &&
        ((c.displayName ?? "").startsWith(managedDisplayNamePrefix(set.name)) || tracked.has(c.keyId) || c.keyId === this.seeded.handMade.keyId),
    );
    const stuckRuns: string[] = [];
    for (const runId of await this.runtime.journals.listRuns(set.name)) {
      const run: RunJournal | undefined = await this.runtime.journals.readRun(set.name, runId);
      if (run && !FINISHED.has(run.status)) stuckRuns.push(`${runId} (${run.status})`);
    }
    const previousRetired = leftOver.length === 0;
    return {
      converged: accepted && staleTargets.length === 0 && previousRetired && stuckRuns.length === 0,
      staleTargets,
      previousRetired,
      stuckRuns,
      targets: targets.length,
      ...(current?.tags["keyId"] ? { currentKeyId: current.tags["keyId"] } : {}),
    };
  }

  private day(): string {
    return `[${this.world.clock.now().toISOString().slice(0, 16).replace("T", " ")}]`;
  }
}

function describe(run: RunJournal): string {
  const last = run.steps.at(-1);
  if (!last) return "";
  const dropped = run.targets.filter((t) => t.outcome).map((t) => `${t.name} ${t.outcome}`);
  return ` at ${last.name}${last.detail ? `: ${last.detail}` : ""}${last.error ? ` [${last.error.code}]` : ""}${dropped.length ? ` (dropped: ${dropped.join(", ")})` : ""}`;
}

// ── named scenarios (npm run demo -- --scenario <name>; tests/rotation/lifecycle.test.ts) ──────

export interface LifecycleScenario {
  description: string;
  seed: SeedSetOptions;
  run(l: Lifecycle): Promise<void>;
}

const GATEWAY_PATCH = "^PATCH /mcp-servers/[^/]+/authentication$";

/** Daily ticks until the estate converges, at most `maxDays`. */
export async function untilConverged(l: Lifecycle, maxDays = 5): Promise<void> {
  for (let d = 0; d < maxDays && !(await l.convergence()).converged; d++) {
    l.advanceDays(1);
    await l.tick("daily tick");
  }
}

export const LIFECYCLE_SCENARIOS: Readonly<Record<string, LifecycleScenario>> = {
  "vanished-target": {
    description:
      "A run records its targets, the gateway refuses updates for a while, and meanwhile one MCP server is deleted and another moved to another app.",
    seed: { secretExpiresInDays: 5, targets: 6, otherTargets: 2 },
    async run(l) {
      l.world.gateway.server.faults.add({ route: GATEWAY_PATCH, status: 500, times: 1_000 });
      await l.tick("timer tick (gateway answers 500 to every update)");
      l.world.gateway.server.faults.clear();
      l.deleteServer(0);
      l.moveServer(0);
      await untilConverged(l);
    },
  },
  "emergency-during-pass": {
    description: "A rotation waits out its grace period; while a slow pass holds the lease, an operator sends an emergency request.",
    seed: { secretExpiresInDays: 5, targets: 6, otherTargets: 2 },
    async run(l) {
      await l.tick();
      l.advanceDays(0.25);
      l.world.gateway.setLatency(150);
      const pass = l.tick("timer tick (slow gateway)");
      await new Promise((r) => setTimeout(r, 200));
      const em = await l.requestUntilAccepted("emergency");
      // The worker finds the lease taken; the queue would deliver the message again.
      const delivered = em.message ? await l.deliver(em.message) : undefined;
      if (delivered instanceof Error) l.logLines.push(`info delivery deferred: ${delivered.message}`);
      await pass;
      l.world.gateway.setLatency(0);
      // A redelivery after the pass finds the request applied already.
      if (em.message) await l.deliver(em.message, 2);
      await untilConverged(l, 2);
    },
  },
  "failure-after-promote": {
    description: "Right after the new secret is promoted the gateway API token is revoked (401 on every call) for two days; then an admin fixes it.",
    seed: { secretExpiresInDays: 5, targets: 6, otherTargets: 2 },
    async run(l) {
      let armed = false;
      l.hooks.afterStep = (step) => {
        if (step === "promote" && !armed) {
          armed = true;
          l.world.gateway.server.faults.add({ route: "^(GET|PATCH|POST) /mcp-servers", status: 401, times: 1_000_000 });
        }
      };
      await l.tick("timer tick (gateway token revoked after promote)");
      l.advanceDays(1);
      await l.tick("daily tick (still revoked)");
      l.world.gateway.server.faults.clear();
      l.advanceDays(1);
      await l.tick("daily tick (token fixed)");
      await untilConverged(l);
    },
  },
  drift: {
    description: "After a completed rotation, an admin clones a server from an old copy (the retired secret) and pastes a wrong secret into another.",
    seed: { secretExpiresInDays: 5, targets: 6, otherTargets: 2 },
    async run(l) {
      await l.tick();
      l.advanceDays(1.1);
      await l.tick();
      l.addServer("cloned-from-old-copy", l.seeded.handMade.secretText, "cloned from an old copy holding the retired secret");
      l.editByHand(1);
      l.advanceDays(1);
      await l.tick("daily tick");
      await untilConverged(l);
    },
  },
};
