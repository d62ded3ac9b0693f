import type { ContainerClient } from "@azure/storage-blob";
import type { CredentialSet } from "../config/schema.js";
import { RotatorError, ensureRotatorError, type ErrorSummary } from "../errors.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../logging.js";
import type { Redactor } from "../redact.js";
import type { GraphApplicationsApi, TokenEndpointClient, TokenResult } from "../entra/types.js";
import type { SecretStore } from "../vault/types.js";
import type { GatewayAdapter, GatewayTarget } from "../gateway/types.js";
import { fingerprintMatches } from "../gateway/fingerprint.js";
import { propagateSecret, verifyTargets } from "../gateway/propagate.js";
import { acquireSetLease } from "./lease.js";
import { RotationJournalStore } from "./journal.js";
import { ProcessCrash, type RotationHooks } from "./hooks.js";
import { FINISHED, STEPS, type Plan, type RotationMode, type RunJournal, type RunStatus, type StepName, type StepRecord } from "./model.js";
import { identifyAdoption, makePlan, heldKeyIds, type AdoptionResult, type Facts } from "./planner.js";
import { managedDisplayName, pendingSecretName, renewWindowDays, tenantTokenUrl } from "./policy.js";
import { DAY_MS } from "../clock.js";

export interface RotationEvent {
  type: "started" | "succeeded" | "failed" | "waiting" | "awaiting_confirmation" | "noop";
  set: string;
  runId: string;
  mode: RotationMode;
  step?: StepName;
  error?: ErrorSummary;
  detail?: string;
  targets?: { total: number; verified: number; names?: string[] };
}

export interface RotationDeps {
  set: CredentialSet;
  graph: GraphApplicationsApi;
  token: TokenEndpointClient;
  vault: SecretStore;
  gateway: GatewayAdapter;
  container: ContainerClient;
  clock: Clock;
  logger: Logger;
  redactor: Redactor;
  onEvent?: (event: RotationEvent) => void | Promise<void>;
  hooks?: RotationHooks;
  lease?: { durationSeconds?: number; renewEveryMs?: number };
  /** Per-target update attempts within one pass. */
  targetAttempts?: number;
}

export interface RotationRequest {
  mode: RotationMode;
  trigger: RunJournal["trigger"];
  /** A run created by the HTTP API (queued journal); otherwise a new ID is made. */
  runId?: string;
  abortSignal?: AbortSignal;
}

export interface PassResult {
  runId: string;
  status: RunStatus;
  journal: RunJournal;
}

interface PassContext {
  run: RunJournal;
  signal: AbortSignal;
  /** The new secret's value, in memory only for this pass. */
  secret?: string;
  facts?: Facts;
}

/** Outcome of one step: carry on, or stop this pass leaving the run resumable. */
type StepOutcome = { kind: "done"; detail?: string } | { kind: "skipped"; detail: string } | { kind: "pause"; status: RunStatus; detail: string };

/**
 * The rotation state machine (DESIGN.md § Rotation state machine). One call is one pass: it holds
 * the set's lease, resumes the active run at its first step not recorded as done, or plans a new
 * one, and stops when the run finishes or has to wait (replication, grace period, failing targets,
 * operator confirmation). Every side effect is keyed by the new credential's keyId so a pass that
 * dies anywhere is finished by the next without creating a second credential.
 */
export class RotationRunner {
  private readonly journals: RotationJournalStore;

  constructor(private readonly deps: RotationDeps) {
    this.journals = new RotationJournalStore(deps.container, deps.redactor);
  }

  get journalStore(): RotationJournalStore {
    return this.journals;
  }

  /** Reads everything and returns the plan; writes nothing (dry run). */
  async dryRun(mode: RotationMode, abortSignal?: AbortSignal): Promise<Plan> {
    const facts = await this.observe(abortSignal);
    const adoption = await this.adoptionFor(facts, abortSignal);
    return makePlan({ set: this.deps.set, facts, mode, now: this.deps.clock.now(), adoption });
  }

  async runPass(request: RotationRequest): Promise<PassResult> {
    const { set, logger } = this.deps;
    const lease = await acquireSetLease(this.deps.container, set.name, {
      ...this.deps.lease,
      logger,
      abortSignal: request.abortSignal,
    });
    const signal = request.abortSignal ? AbortSignal.any([lease.signal, request.abortSignal]) : lease.signal;
    let crashed = false;
    try {
      const run = await this.openRun(request, signal);
      const log = logger.child({ set: set.name, run: run.runId });
      log.info(`pass ${run.passes} of ${run.mode} run (${request.trigger}) starting`);
      const ctx: PassContext = { run, signal };
      await this.execute(ctx, log);
      return { runId: run.runId, status: run.status, journal: run };
    } catch (e) {
      if (e instanceof ProcessCrash) crashed = true;
      throw e;
    } finally {
      // A crashed process never releases its lease; it expires on its own.
      if (!crashed) await lease.release();
    }
  }

  /** Resumes the set's active run or starts a new one; journals it before anything else happens. */
  private async openRun(request: RotationRequest, signal: AbortSignal): Promise<RunJournal> {
    const { set, clock } = this.deps;
    const state = await this.journals.readState(set.name, signal);
    if (state.activeRunId) {
      const active = await this.journals.readRun(set.name, state.activeRunId, signal);
      if (active && !FINISHED.has(active.status)) {
        if (request.mode === "emergency" && active.mode !== "emergency") active.mode = "emergency";
        active.passes++;
        active.status = "running";
        active.updatedAt = clock.now().toISOString();
        await this.journals.writeRun(active, signal);
        return active;
      }
    }
    const now = clock.now();
    const runId = request.runId ?? RotationJournalStore.newRunId(now);
    const existing = request.runId ? await this.journals.readRun(set.name, runId, signal) : undefined;
    const run: RunJournal = existing ?? {
      runId,
      set: set.name,
      mode: request.mode,
      trigger: request.trigger,
      status: "running",
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      passes: 0,
      displayName: managedDisplayName(set.name, runId),
      steps: [],
      targets: [],
    };
    run.passes++;
    run.status = "running";
    if (existing) await this.journals.writeRun(run, signal);
    else await this.journals.createRun(run, signal);
    await this.journals.writeState({ ...state, activeRunId: run.runId }, signal);
    await this.emit({ type: "started", set: set.name, runId: run.runId, mode: run.mode });
    return run;
  }

  private async execute(ctx: PassContext, log: Logger): Promise<void> {
    const { run } = ctx;
    for (const step of STEPS) {
      if (isDone(run, step)) continue;
      const started = this.deps.clock.now();
      let outcome: StepOutcome;
      try {
        ctx.signal.throwIfAborted();
        outcome = await this.runStep(step, ctx, log);
      } catch (e) {
        if (e instanceof ProcessCrash) throw e;
        const err = ensureRotatorError(e, "STEP_FAILED");
        const retryable = err.retryable || err.code === "LEASE_LOST" || err.code === "ABORTED";
        this.record(run, step, started, retryable ? "waiting" : "failed", err.message, err.toJSON());
        log.error(`step ${step} failed: ${err.code}: ${err.message} — ${err.hint}`);
        if (!retryable) await this.rollbackIfUnpromoted(ctx, log);
        await this.finishPass(ctx, retryable ? "waiting" : "failed", step, err.toJSON());
        return;
      }
      if (outcome.kind === "pause") {
        this.record(run, step, started, "waiting", outcome.detail);
        log.info(`step ${step} waiting: ${outcome.detail}`);
        await this.finishPass(ctx, outcome.status, step);
        return;
      }
      this.record(run, step, started, outcome.kind, outcome.detail);
      log.info(`step ${step} ${outcome.kind}${outcome.detail ? `: ${outcome.detail}` : ""}`);
      if (step === "plan" && run.plan?.action === "noop") {
        await this.journals.writeRun(run, ctx.signal);
        await this.deps.hooks?.afterStep?.(step);
        await this.finishPass(ctx, "noop");
        return;
      }
      await this.journals.writeRun(run, ctx.signal);
      await this.deps.hooks?.afterStep?.(step);
    }
    await this.finishPass(ctx, run.retireBlockedReason ? "needs_attention" : "succeeded");
  }

  private runStep(step: StepName, ctx: PassContext, log: Logger): Promise<StepOutcome> {
    switch (step) {
      case "plan":
        return this.stepPlan(ctx, log);
      case "create":
        return this.stepCreate(ctx, log);
      case "stash":
        return this.stepStash(ctx, log);
      case "verify-entra":
        return this.stepVerifyEntra(ctx);
      case "promote":
        return this.stepPromote(ctx);
      case "propagate":
        return this.stepPropagate(ctx, log);
      case "verify-targets":
        return this.stepVerifyTargets(ctx);
      case "retire":
        return this.stepRetire(ctx, log);
    }
  }

  // ── observe & plan ───────────────────────────────────────────────────────────

  private async observe(signal?: AbortSignal): Promise<Facts> {
    const { set, graph, vault, gateway } = this.deps;
    const [app, policy, versions, pendingVersions, targets] = await Promise.all([
      graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: signal }),
      graph.getAppManagementPolicy({ abortSignal: signal }).catch((e: unknown) => {
        // Reading the tenant policy needs Policy.Read.All, which some tenants will not grant; without
        // it addPassword still answers with the policy's error code, so rotation stays safe.
        const err = ensureRotatorError(e);
        if (err.code !== "GRAPH_FORBIDDEN") throw err;
        this.deps.logger.warn(`cannot read the tenant's app management policy (${err.code}); lifetime is not clamped in advance`);
        return { passwordAdditionBlocked: false };
      }),
      vault.listVersions(set.keyVault.secretName, { abortSignal: signal }),
      vault.listVersions(pendingSecretName(set.keyVault.secretName), { abortSignal: signal }),
      gateway.listTargets({ clientId: set.clientId }, { abortSignal: signal }),
    ]);
    const current = await vault.getLatest(set.keyVault.secretName, { abortSignal: signal });
    if (current?.value) this.deps.redactor.add(current.value);
    return { app, policy, current: current?.enabled ? current : undefined, versions, pendingVersions, targets };
  }

  private async adoptionFor(facts: Facts, signal?: AbortSignal): Promise<AdoptionResult | undefined> {
    if (!facts.current || facts.current.tags["keyId"]) return undefined;
    return identifyAdoption(this.deps.set, facts, this.deps.token, signal);
  }

  private async stepPlan(ctx: PassContext, log: Logger): Promise<StepOutcome> {
    const { set, vault, graph, clock } = this.deps;
    const facts = await this.observe(ctx.signal);
    ctx.facts = facts;
    const adoption = await this.adoptionFor(facts, ctx.signal);
    const plan = makePlan({ set, facts, mode: ctx.run.mode, now: clock.now(), adoption });
    ctx.run.plan = plan;

    if (adoption?.status === "adopted" && adoption.keyId && facts.current) {
      await vault.updateProperties(
        set.keyVault.secretName,
        facts.current.version,
        { tags: { ...facts.current.tags, keyId: adoption.keyId, appId: set.clientId, adoptedBy: ctx.run.runId } },
        { abortSignal: ctx.signal },
      );
      log.info(`adopted the hand-made Key Vault secret as keyId ${adoption.keyId}`);
    } else if (adoption) {
      log.warn(`adoption ${adoption.status}: ${adoption.detail}`);
    }

    // Orphan sweep (I2): a managed credential whose value no enabled version holds can never be used.
    for (const orphan of plan.orphans) {
      await graph.removePassword(facts.app.id, orphan.keyId, { abortSignal: ctx.signal });
      log.warn(`removed orphaned managed credential ${orphan.keyId} (${orphan.displayName ?? "no name"}): no Key Vault version holds its value`);
    }

    if (plan.action === "rotate") {
      const currentKeyId = facts.current?.tags["keyId"] ?? (adoption?.status === "adopted" ? adoption.keyId : undefined);
      const previous = currentKeyId ? facts.app.passwordCredentials.find((c) => c.keyId === currentKeyId) : undefined;
      if (previous) {
        ctx.run.previousCredential = { keyId: previous.keyId, hint: previous.hint, endDateTime: previous.endDateTime, displayName: previous.displayName };
      }
      if (adoption && adoption.status !== "adopted") {
        ctx.run.retireBlockedReason = `the existing Key Vault secret was not identified (${adoption.status}): ${adoption.detail}`;
      }
    }
    return { kind: "done", detail: `${plan.action}: ${plan.reason}` };
  }

  // ── create & stash ───────────────────────────────────────────────────────────

  private async stepCreate(ctx: PassContext, log: Logger): Promise<StepOutcome> {
    const { set, graph, clock, redactor } = this.deps;
    const { run } = ctx;
    const plan = run.plan!;
    const app = await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: ctx.signal });
    // addPassword is not idempotent. A credential carrying this run's name whose value was never
    // stashed (the pass died, or the response was lost) is unusable: remove it, then create afresh.
    for (const stale of app.passwordCredentials.filter((c) => c.displayName === run.displayName)) {
      await graph.removePassword(app.id, stale.keyId, { abortSignal: ctx.signal });
      log.warn(`removed credential ${stale.keyId} left by an interrupted create (its value was never stored)`);
    }
    const endDateTime = new Date(clock.now().getTime() + plan.lifetimeDays * DAY_MS).toISOString();
    const created = await graph.addPassword(app.id, { displayName: run.displayName, endDateTime }, { abortSignal: ctx.signal });
    redactor.add(created.secretText);
    ctx.secret = created.secretText;
    await this.deps.hooks?.afterEffect?.("create", "addPassword");
    run.newCredential = { keyId: created.keyId, hint: created.hint, endDateTime: created.endDateTime, displayName: run.displayName };
    return { kind: "done", detail: `keyId ${created.keyId}, expires ${created.endDateTime}${plan.clampedByPolicyDays ? ` (lifetime clamped to ${plan.clampedByPolicyDays} days by tenant policy)` : ""}` };
  }

  private async stepStash(ctx: PassContext, log: Logger): Promise<StepOutcome> {
    const { set, vault, graph } = this.deps;
    const { run } = ctx;
    const cred = run.newCredential!;
    if (ctx.secret === undefined) {
      // A resumed pass: the previous one died after create was journaled. Either its stash reached
      // Key Vault before the journal (adopt that version), or the value is gone for good.
      const pendingName = pendingSecretName(set.keyVault.secretName);
      const stashed = (await vault.listVersions(pendingName, { abortSignal: ctx.signal })).find((v) => v.enabled && v.tags["keyId"] === cred.keyId);
      if (stashed) {
        run.pendingVersion = stashed.version;
        return { kind: "done", detail: `found the value already stored as ${pendingName} version ${stashed.version}` };
      }
      const app = await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: ctx.signal });
      await graph.removePassword(app.id, cred.keyId, { abortSignal: ctx.signal });
      log.warn(`credential ${cred.keyId} was created but its value never reached Key Vault; removed it and creating a new one`);
      run.newCredential = undefined;
      await this.stepCreate(ctx, log);
      return this.stepStash(ctx, log);
    }
    try {
      const v = await vault.setSecret(pendingSecretName(set.keyVault.secretName), ctx.secret, {
        tags: { keyId: cred.keyId, appId: set.clientId, runId: run.runId, state: "pending" },
        expiresOn: new Date(cred.endDateTime),
        contentType: "client-secret",
        abortSignal: ctx.signal,
      });
      run.pendingVersion = v.version;
    } catch (e) {
      // A secret whose value nobody holds must not survive (I2): roll the credential back.
      const err = ensureRotatorError(e, "VAULT_STASH_FAILED");
      const app = await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: ctx.signal });
      await graph.removePassword(app.id, cred.keyId, { abortSignal: ctx.signal });
      log.error(`stash failed; rolled back credential ${cred.keyId}`);
      run.newCredential = undefined;
      throw new RotatorError("VAULT_STASH_FAILED", `Storing the new secret in Key Vault failed: ${err.message}`, {
        hint: `The new credential was removed again. ${err.hint}`,
        status: err.status,
        retryable: false,
        cause: err,
      });
    }
    await this.deps.hooks?.afterEffect?.("stash", "setSecret");
    return { kind: "done", detail: `stored as ${pendingSecretName(set.keyVault.secretName)} version ${run.pendingVersion}` };
  }

  /** The new secret's value for a resumed pass: from the pending companion, or the promoted version. */
  private async loadSecret(ctx: PassContext): Promise<string> {
    if (ctx.secret !== undefined) return ctx.secret;
    const { set, vault, redactor } = this.deps;
    const { run } = ctx;
    const v = run.promotedVersion
      ? await vault.getVersion(set.keyVault.secretName, run.promotedVersion, { abortSignal: ctx.signal })
      : await vault.getVersion(pendingSecretName(set.keyVault.secretName), run.pendingVersion!, { abortSignal: ctx.signal });
    if (!v.value || v.tags["keyId"] !== run.newCredential?.keyId) {
      throw new RotatorError("VAULT_VERSION_MISMATCH", `Key Vault version does not hold credential ${run.newCredential?.keyId}`, {
        hint: "Someone changed the secret during the rotation; inspect the secret's versions and start a forced rotation.",
      });
    }
    redactor.add(v.value);
    ctx.secret = v.value;
    return v.value;
  }

  // ── verify at Entra ──────────────────────────────────────────────────────────

  private async stepVerifyEntra(ctx: PassContext): Promise<StepOutcome> {
    const { set, token, clock } = this.deps;
    const { run } = ctx;
    const secret = await this.loadSecret(ctx);
    const needed = set.verification.consecutiveSuccesses;
    const deadline = clock.now().getTime() + set.verification.budgetSeconds * 1000;
    run.verify ??= { consecutive: 0, attempts: 0, firstAttemptAt: clock.now().toISOString() };
    run.verify.consecutive = 0;
    for (;;) {
      ctx.signal.throwIfAborted();
      run.verify.attempts++;
      const res = await token
        .requestToken(
          { tokenUrl: tenantTokenUrl(set), clientId: set.clientId, clientSecret: secret, scope: "https://graph.microsoft.com/.default" },
          { abortSignal: ctx.signal },
        )
        .catch((e: unknown) => {
          const err = ensureRotatorError(e);
          if (err.code === "ABORTED") throw err;
          return { ok: false, status: 0, error: err.code, description: err.message } satisfies TokenResult as TokenResult;
        });
      if (res.ok) {
        run.verify.consecutive++;
        if (run.verify.consecutive >= needed) {
          return { kind: "done", detail: `${needed} consecutive token requests succeeded after ${run.verify.attempts} attempt(s)` };
        }
      } else {
        run.verify.consecutive = 0;
        run.verify.lastAadsts = res.aadsts;
        // 7000215 is expected while the secret replicates; anything else from Entra is final.
        if (res.aadsts !== undefined && res.aadsts !== 7000215) {
          throw new RotatorError("VERIFY_REJECTED", `Entra refused the new secret with AADSTS${res.aadsts}`, {
            hint: "The app registration or tenant changed during the rotation; run the health probe and fix what it reports.",
            aadsts: res.aadsts,
            status: res.status,
          });
        }
      }
      if (clock.now().getTime() >= deadline) {
        return {
          kind: "pause",
          status: "waiting",
          detail: `secret not yet accepted ${needed}× in a row within ${set.verification.budgetSeconds}s (last: ${res.ok ? "ok" : (res.aadsts ? `AADSTS${res.aadsts}` : res.error)}); the next pass resumes verification`,
        };
      }
      await clock.sleep(set.verification.intervalMs, ctx.signal);
    }
  }

  // ── promote ──────────────────────────────────────────────────────────────────

  private async stepPromote(ctx: PassContext): Promise<StepOutcome> {
    const { set, vault, clock } = this.deps;
    const { run } = ctx;
    const cred = run.newCredential!;
    const secret = await this.loadSecret(ctx);
    const latest = await vault.getLatest(set.keyVault.secretName, { abortSignal: ctx.signal });
    const graceMs = (run.mode === "emergency" ? 0 : set.secret.gracePeriodHours) * 3_600_000;
    run.retireAfter ??= new Date(clock.now().getTime() + graceMs).toISOString();
    if (latest?.tags["keyId"] === cred.keyId) {
      run.promotedVersion = latest.version;
    } else {
      const v = await vault.setSecret(set.keyVault.secretName, secret, {
        tags: {
          keyId: cred.keyId,
          appId: set.clientId,
          runId: run.runId,
          expiresOn: cred.endDateTime,
          previousKeyId: run.previousCredential?.keyId ?? "none",
          retireAfter: run.retireAfter,
        },
        expiresOn: new Date(cred.endDateTime),
        contentType: "client-secret",
        abortSignal: ctx.signal,
      });
      run.promotedVersion = v.version;
      await this.deps.hooks?.afterEffect?.("promote", "setSecret");
    }
    if (run.pendingVersion) {
      await vault.updateProperties(
        pendingSecretName(set.keyVault.secretName),
        run.pendingVersion,
        { enabled: false, tags: { keyId: cred.keyId, appId: set.clientId, runId: run.runId, state: "consumed" } },
        { abortSignal: ctx.signal },
      );
    }
    return { kind: "done", detail: `current version ${run.promotedVersion}; previous credential retires after ${run.retireAfter}` };
  }

  // ── propagate & verify targets ───────────────────────────────────────────────

  private async stepPropagate(ctx: PassContext, log: Logger): Promise<StepOutcome> {
    const { set, gateway } = this.deps;
    const { run } = ctx;
    const secret = await this.loadSecret(ctx);
    const targets = await gateway.listTargets({ clientId: set.clientId }, { abortSignal: ctx.signal });
    mergeTargets(run, targets);

    if (gateway.kind === "manual") {
      if (run.confirmedBy) {
        for (const t of run.targets) Object.assign(t, { updated: true, verified: true });
        return { kind: "done", detail: `operator ${run.confirmedBy} confirmed ${run.targets.length} target(s)` };
      }
      return {
        kind: "pause",
        status: "awaiting_confirmation",
        detail: `update the client secret of ${run.targets.length} MCP server(s) by hand from Key Vault version ${run.promotedVersion}, then POST /api/rotations/${run.runId}/confirm`,
      };
    }

    const maxConcurrency = set.gateway.kind === "cequence" ? set.gateway.maxConcurrency : 1;
    const pending = targets.filter((t) => !run.targets.find((r) => r.id === t.id)!.updated || !fingerprintMatches(t, secret));
    const outcomes = await propagateSecret({
      adapter: gateway,
      targets: pending,
      secret,
      maxConcurrency,
      signal: ctx.signal,
      retry: { maxAttempts: this.deps.targetAttempts ?? 4 },
      sleep: (ms, signal) => this.deps.clock.sleep(ms, signal),
      logger: log,
      onTargetDone: async (targetId, outcome) => {
        const rec = run.targets.find((r) => r.id === targetId)!;
        rec.attempts += outcome.attempts;
        rec.updated = outcome.ok;
        if (!outcome.ok) rec.verified = false;
        if (outcome.error) rec.error = outcome.error;
        else delete rec.error;
        if (outcome.ok && !outcome.alreadyHeld) await this.deps.hooks?.afterTargetUpdated?.(targetId);
      },
    });
    await this.journals.writeRun(run, ctx.signal);
    const failed = run.targets.filter((t) => !t.updated);
    if (failed.length > 0) {
      log.warn(`${failed.length} target(s) not updated: ${failed.map((t) => `${t.name} (${t.error?.code ?? "unknown"})`).join(", ")}`);
      return {
        kind: "pause",
        status: "waiting",
        detail: `${run.targets.length - failed.length}/${run.targets.length} targets updated; ${failed.length} keep failing and are retried on the next pass`,
      };
    }
    const updated = outcomes.filter((o) => o.ok && !o.alreadyHeld).length;
    return { kind: "done", detail: `${updated} updated, ${targets.length - updated} already held the new secret (${targets.length} total)` };
  }

  private async stepVerifyTargets(ctx: PassContext): Promise<StepOutcome> {
    const { set, gateway } = this.deps;
    const { run } = ctx;
    if (gateway.kind === "manual") return { kind: "skipped", detail: "manual gateway: verified by operator confirmation" };
    const secret = await this.loadSecret(ctx);
    const testConnection = set.gateway.kind === "cequence" && set.gateway.testConnection && gateway.testConnection !== undefined;
    const listed = await gateway.listTargets({ clientId: set.clientId }, { abortSignal: ctx.signal });
    const known = new Map(listed.map((t) => [t.id, t]));
    const checks = await verifyTargets({
      adapter: gateway,
      // A target deleted since propagation is read back too, and reported as such.
      targets: run.targets.map((r) => known.get(r.id) ?? ({ id: r.id, name: r.name, tokenName: "", tokenUrl: "", clientId: set.clientId, scopes: [], additionalParameters: {} } as GatewayTarget)),
      secret,
      clientId: set.clientId,
      useTestConnection: testConnection,
      maxConcurrency: set.gateway.kind === "cequence" ? set.gateway.maxConcurrency : 1,
      signal: ctx.signal,
    });
    const bad: string[] = [];
    for (const v of checks) {
      const rec = run.targets.find((r) => r.id === v.id)!;
      rec.verified = v.ok;
      if (!v.ok) {
        rec.updated = false;
        rec.error = v.error ?? {
          code: v.fingerprintMatches ? "TARGET_TEST_FAILED" : "TARGET_SECRET_MISMATCH",
          message: v.testConnection && !v.testConnection.ok ? v.testConnection.detail : `fingerprint ${v.fingerprintMatches ? "matches" : "does not match"}; client ID ${v.clientIdUnchanged ? "unchanged" : "changed"}; token URL ${v.tokenUrlUnchanged ? "unchanged" : "changed"}`,
          hint: "The target does not hold a working copy of the new secret; it is updated again on the next pass.",
        };
        bad.push(rec.name);
      }
    }
    if (bad.length > 0) {
      // Send the run back to propagate for these targets on the next pass.
      run.steps = run.steps.filter((s) => !(s.name === "propagate" && s.status === "done"));
      return { kind: "pause", status: "waiting", detail: `${bad.length} target(s) failed read-back: ${bad.join(", ")}` };
    }
    return { kind: "done", detail: `${run.targets.length}/${run.targets.length} targets hold the new secret${testConnection ? " and fetched a token" : ""}` };
  }

  // ── retire ───────────────────────────────────────────────────────────────────

  private async stepRetire(ctx: PassContext, log: Logger): Promise<StepOutcome> {
    const { set, graph, vault, gateway, clock } = this.deps;
    const { run } = ctx;
    const previous = run.previousCredential;
    if (run.retireBlockedReason) return { kind: "skipped", detail: `nothing retired: ${run.retireBlockedReason}` };
    if (!previous) return { kind: "skipped", detail: "no previous managed credential to retire" };
    const graceOver = run.mode === "emergency" || clock.now().getTime() >= Date.parse(run.retireAfter ?? "0");
    if (!graceOver) return { kind: "pause", status: "waiting", detail: `grace period runs until ${run.retireAfter}` };

    // I1: never retire while any target still lacks the new secret — including targets added since.
    if (gateway.kind !== "manual") {
      const secret = await this.loadSecret(ctx);
      const targets = await gateway.listTargets({ clientId: set.clientId }, { abortSignal: ctx.signal });
      const lagging = targets.filter((t) => !fingerprintMatches(t, secret));
      if (lagging.length > 0) {
        mergeTargets(run, targets);
        for (const t of lagging) {
          const rec = run.targets.find((r) => r.id === t.id)!;
          Object.assign(rec, { updated: false, verified: false });
        }
        run.steps = run.steps.filter((s) => !((s.name === "propagate" || s.name === "verify-targets") && s.status === "done"));
        return { kind: "pause", status: "waiting", detail: `${lagging.length} target(s) do not hold the new secret yet (${lagging.map((t) => t.name).join(", ")}); propagating again before retiring` };
      }
    }

    const app = await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: ctx.signal });
    await graph.removePassword(app.id, previous.keyId, { abortSignal: ctx.signal });
    await this.deps.hooks?.afterEffect?.("retire", "removePassword");
    const versions = await vault.listVersions(set.keyVault.secretName, { abortSignal: ctx.signal });
    let disabled = 0;
    for (const v of versions) {
      if (v.enabled && v.tags["keyId"] === previous.keyId) {
        await vault.updateProperties(set.keyVault.secretName, v.version, { enabled: false }, { abortSignal: ctx.signal });
        disabled++;
      }
    }
    log.info(`retired credential ${previous.keyId}; disabled ${disabled} Key Vault version(s)`);
    return { kind: "done", detail: `removed ${previous.keyId} and disabled ${disabled} Key Vault version(s)` };
  }

  // ── bookkeeping ──────────────────────────────────────────────────────────────

  /** On a permanent failure before promotion, nothing of this run may survive (I2, I3). */
  private async rollbackIfUnpromoted(ctx: PassContext, log: Logger): Promise<void> {
    const { set, graph, vault } = this.deps;
    const { run } = ctx;
    if (!run.newCredential || run.promotedVersion) return;
    try {
      const app = await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId });
      await graph.removePassword(app.id, run.newCredential.keyId);
      if (run.pendingVersion) {
        await vault.updateProperties(pendingSecretName(set.keyVault.secretName), run.pendingVersion, {
          enabled: false,
          tags: { keyId: run.newCredential.keyId, appId: set.clientId, runId: run.runId, state: "rolled-back" },
        });
      }
      log.warn(`rolled back credential ${run.newCredential.keyId}`);
    } catch (e) {
      // The orphan sweep of the next run removes it; say so rather than hide the failure.
      log.error(`rollback of ${run.newCredential.keyId} failed (${ensureRotatorError(e).code}); the next run's orphan sweep removes it`);
    }
  }

  private record(run: RunJournal, name: StepName, started: Date, status: StepRecord["status"], detail?: string, error?: ErrorSummary): void {
    const ended = this.deps.clock.now();
    run.steps.push({
      name,
      status,
      startedAt: started.toISOString(),
      endedAt: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(),
      ...(detail ? { detail } : {}),
      ...(error ? { error } : {}),
    });
  }

  private async finishPass(ctx: PassContext, status: RunStatus, step?: StepName, error?: ErrorSummary): Promise<void> {
    const { set, clock } = this.deps;
    const { run } = ctx;
    run.status = status;
    run.updatedAt = clock.now().toISOString();
    if (error) run.error = error;
    else if (status === "succeeded") delete run.error;
    // Journal and state are written even if the lease was lost mid-step: they only describe.
    await this.journals.writeRun(run);
    const state = await this.journals.readState(set.name);
    const finished = FINISHED.has(status);
    const verified = run.targets.filter((t) => t.verified).length;
    state.lastRun = { runId: run.runId, status, mode: run.mode, at: run.updatedAt, ...(step ? { step } : {}), ...(error ? { error } : {}) };
    if (finished) delete state.activeRunId;
    else state.activeRunId = run.runId;
    if (status === "succeeded" || status === "needs_attention") {
      state.lastSuccessAt = run.updatedAt;
      state.failureStreak = 0;
    } else if (status === "failed" || (status === "waiting" && error)) {
      state.failureStreak = (state.failureStreak ?? 0) + 1;
    }
    const cred = run.promotedVersion ? run.newCredential : run.plan?.current;
    if (cred) {
      state.currentKeyId = cred.keyId;
      state.currentExpiresOn = cred.endDateTime;
      state.nextRotationAt = new Date(Date.parse(cred.endDateTime) - renewWindowDays(set) * DAY_MS).toISOString();
    }
    if (run.targets.length > 0 || run.plan) state.targetsVerified = { verified: run.targets.length ? verified : 0, total: run.targets.length || run.plan?.targets.total || 0 };
    await this.journals.writeState(state);

    const type: RotationEvent["type"] =
      status === "succeeded" || status === "needs_attention"
        ? "succeeded"
        : status === "failed"
          ? "failed"
          : status === "awaiting_confirmation"
            ? "awaiting_confirmation"
            : status === "noop"
              ? "noop"
              : "waiting";
    await this.emit({
      type,
      set: set.name,
      runId: run.runId,
      mode: run.mode,
      ...(step ? { step } : {}),
      ...(error ? { error } : {}),
      detail: run.steps.at(-1)?.detail,
      targets: { total: run.targets.length, verified, ...(status === "awaiting_confirmation" ? { names: run.targets.map((t) => t.name) } : {}) },
    });
  }

  private async emit(event: RotationEvent): Promise<void> {
    try {
      await this.deps.onEvent?.(event);
    } catch (e) {
      // Alerting must never break a rotation.
      this.deps.logger.warn(`rotation event ${event.type} could not be delivered: ${ensureRotatorError(e).message}`);
    }
  }
}

function isDone(run: RunJournal, step: StepName): boolean {
  return run.steps.some((s) => s.name === step && (s.status === "done" || s.status === "skipped"));
}

function mergeTargets(run: RunJournal, targets: GatewayTarget[]): void {
  for (const t of targets) {
    if (!run.targets.some((r) => r.id === t.id)) run.targets.push({ id: t.id, name: t.name, updated: false, verified: false, attempts: 0 });
  }
}

export { heldKeyIds };
