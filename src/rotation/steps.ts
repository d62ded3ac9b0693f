import { markOperatorConfirmations } from "./operatorConfirmations.js";
import { proofSeen } from "../gateway/proof.js";
import { RotatorError, ensureRotatorError, type ErrorSummary } from "../errors.js";
import type { TokenResult } from "../entra/types.js";
import { DAY_MS } from "../clock.js";
import type { CredentialRef, RotationDeps } from "./model.js";
import type { StepContext, StepOutcome } from "./stepContext.js";
import {
  listRotationTargets,
  passListing,
  pickupRuleOf,
  promotedAt,
  pushSecret,
  readBackTargets,
  refreshTargets,
  targetProves,
  usesTestConnection,
} from "./targetWrites.js";
import { describeVaultProblem, identifyAdoption, makePlan, type AdoptionResult, type Facts } from "./planner.js";
import { readPromotionRecord } from "./orphans.js";
import { pendingSecretName } from "./policy.js";
import { tokenUrlFor } from "../entra/token.js";
import { dropVanishedTargets, liveTargets, mergeTargets } from "./targets.js";
import { graphScope } from "../entra/scope.js";
import { retirementDue, targetsVerifiedAt } from "./retirement.js";
import { groupRecords, inGroup, longestPickupDelayMs, oneSaveAtATime, runGroups, type RunGroup } from "./groups.js";
import type { GatewayTarget } from "../gateway/types.js";
import { assertStashedValue, sealSecret } from "./secretCheck.js";
import { getSetApplication } from "../entra/application.js";

/**
 * The steps of the rotation state machine (DESIGN.md § Rotation state machine), one function
 * each. The runner decides which step runs next and journals its outcome; a step only does its
 * work, idempotently, keyed by the new credential's keyId. Writing to targets and reading them
 * back is src/rotation/targetWrites.ts; what a gateway can do is its adapter's capabilities.
 */

// ── observe & plan ────────────────────────────────────────────────────────

export async function observe(deps: RotationDeps, signal?: AbortSignal): Promise<Facts> {
  const { set, graph, vault } = deps;
  const [app, policy, versions, pendingVersions, targets] = await Promise.all([
    getSetApplication(graph, set, { abortSignal: signal }),
    graph.getAppManagementPolicy({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: signal }).catch((e: unknown): Facts["policy"] => {
      // Reading the policies needs Policy.Read.ApplicationConfiguration, which some tenants will not grant;
      // without it addPassword still answers with the policy's error code, so rotation stays safe.
      const err = ensureRotatorError(e);
      if (err.code !== "GRAPH_FORBIDDEN") throw err;
      deps.logger.warn(`cannot read the app management policies (${err.code}); lifetime is not clamped in advance`);
      return { passwordAdditionBlocked: false, source: "unknown", detail: `unreadable (${err.code}): grant Policy.Read.ApplicationConfiguration` };
    }),
    vault.listVersions(set.keyVault.secretName, { abortSignal: signal }),
    vault.listVersions(pendingSecretName(set.keyVault.secretName), { abortSignal: signal }),
    listEveryGroup(deps, signal),
  ]);
  const current = await vault.getLatest(set.keyVault.secretName, { abortSignal: signal });
  if (current?.value) deps.redactor.add(current.value);
  return { app, policy, current: current?.enabled ? current : undefined, versions, pendingVersions, targets };
}

/** The targets of every group (IDs in each group's namespace), listed in parallel. */
async function listEveryGroup(deps: RotationDeps, signal?: AbortSignal): Promise<GatewayTarget[]> {
  const lists = await Promise.all(runGroups(deps).map((g) => g.adapter.listTargets({ clientId: deps.set.clientId }, { abortSignal: signal })));
  return lists.flat();
}

export async function adoptionFor(deps: RotationDeps, facts: Facts, signal?: AbortSignal): Promise<AdoptionResult | undefined> {
  if (!facts.current || facts.current.tags["keyId"]) return undefined;
  return identifyAdoption(deps.set, facts, deps.token, signal);
}

export async function planStep(ctx: StepContext): Promise<StepOutcome> {
  const log = ctx.log;
  const { set, vault, clock } = ctx.deps;
  const facts = await observe(ctx.deps, ctx.abortSignal);
  ctx.facts = facts;
  const adoption = await adoptionFor(ctx.deps, facts, ctx.abortSignal);
  const record = await readPromotionRecord(ctx.journals, set, facts, ctx.abortSignal);
  const plan = makePlan({ set, facts, mode: ctx.run.mode, now: clock.now(), adoption, record });
  const warnings = groupWarnings(ctx.deps);
  if (warnings.length > 0) {
    plan.warnings = warnings;
    for (const w of warnings) log.warn(w);
  }
  ctx.run.plan = plan;

  if (plan.vaultProblem && plan.action === "noop") {
    // Never "no secret yet", never a rotation nobody asked for: the operator decides (issue 23).
    const { what, remedy } = describeVaultProblem(set, plan.vaultProblem);
    throw new RotatorError("VAULT_CURRENT_DISABLED", `${what}; nothing was changed`, {
      hint: `Consumers that read Key Vault get no current secret now, while targets may still use credential ${plan.vaultProblem.keyId}, which is kept. Either ${remedy}.`,
      retryable: false,
    });
  }

  if (adoption?.status === "adopted" && adoption.keyId && facts.current) {
    await vault.updateProperties(
      set.keyVault.secretName,
      facts.current.version,
      { tags: { ...facts.current.tags, keyId: adoption.keyId, appId: set.clientId, adoptedBy: ctx.run.runId } },
      { abortSignal: ctx.abortSignal },
    );
    log.info(`adopted the hand-made Key Vault secret as keyId ${adoption.keyId}`);
  } else if (adoption) {
    log.warn(`adoption ${adoption.status}: ${adoption.detail}`);
  }

  await sweepOrphans(ctx, facts, plan.orphans);

  if (plan.action === "rotate") {
    const currentKeyId = plan.vaultProblem?.keyId ?? facts.current?.tags["keyId"] ?? (adoption?.status === "adopted" ? adoption.keyId : undefined);
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

/**
 * Orphan sweep (I2): removes credentials created by a run that died before the stash
 * (src/rotation/orphans.ts), each through the retirement rule. Only on a consistent view of Key
 * Vault: a listing that lacks the version just read as current (a 404 for a moment, a partial
 * answer) would make the live credential look like an orphan.
 */
async function sweepOrphans(ctx: StepContext, facts: Facts, orphans: readonly CredentialRef[]): Promise<void> {
  const { set, graph, clock } = ctx.deps;
  const log = ctx.log;
  const consistent = facts.current !== undefined && facts.versions.some((v) => v.version === facts.current!.version);
  if (!consistent && orphans.length > 0) {
    log.warn(
      `orphan sweep skipped: Key Vault's answers disagree (no current version, or a listing without it); ${orphans.length} candidate(s) wait for the next pass`,
    );
  }
  for (const orphan of consistent ? orphans : []) {
    const created = facts.app.passwordCredentials.find((c) => c.keyId === orphan.keyId)?.startDateTime;
    // Its value never reached Key Vault: no target and no reader can have it, so its grace ends at
    // its creation, and any sign-in since then is someone holding it after all.
    const verdict = await retirementDue(
      { path: "orphan", keyId: orphan.keyId, laggingTargets: () => Promise.resolve([]), retireAfter: created, targetsVerifiedAt: created ?? ctx.run.createdAt },
      {
        set,
        runId: ctx.run.runId,
        now: clock.now(),
        emergency: ctx.run.mode === "emergency",
        evidence: ctx.deps.retirementEvidence,
        log,
        abortSignal: ctx.abortSignal,
      },
    );
    if (!verdict.due) {
      log.warn(`orphaned managed credential ${orphan.keyId} kept: ${verdict.note}`);
      continue;
    }
    await graph.removePassword(facts.app.id, orphan.keyId, { abortSignal: ctx.abortSignal });
    log.warn(
      `removed orphaned managed credential ${orphan.keyId} (${orphan.displayName ?? "no name"}): created by a run that never stored its value; ${verdict.note}`,
    );
  }
}

// ── create & stash ────────────────────────────────────────────────────────

export async function createStep(ctx: StepContext): Promise<StepOutcome> {
  const log = ctx.log;
  const { set, graph, clock, redactor } = ctx.deps;
  const { run } = ctx;
  const plan = run.plan!;
  const app = await getSetApplication(graph, set, { abortSignal: ctx.abortSignal });
  // addPassword is not idempotent. A credential carrying this run's name whose value was never
  // stashed (the pass died, or the response was lost) is unusable: remove it, then create afresh.
  const named = app.passwordCredentials.filter((c) => c.displayName === run.displayName);
  if (named.length > 0) {
    // One whose value an enabled Key Vault version holds was stashed by another pass of this run —
    // one that took the lease over from us — and targets may use it already: never remove it (I1).
    const { vault } = ctx.deps;
    const [versions, pending] = await Promise.all([
      vault.listVersions(set.keyVault.secretName, { abortSignal: ctx.abortSignal }),
      vault.listVersions(pendingSecretName(set.keyVault.secretName), { abortSignal: ctx.abortSignal }),
    ]);
    const held = new Set([...versions, ...pending].filter((v) => v.enabled && v.tags["keyId"]).map((v) => v.tags["keyId"]));
    const taken = named.find((c) => held.has(c.keyId));
    if (taken) {
      throw new RotatorError("LEASE_LOST", `Credential ${taken.keyId} of run ${run.runId} is already stored in Key Vault: another pass carried this run on`, {
        hint: "This pass lost its lease to another instance; nothing was changed. The next pass resumes from the journal.",
        retryable: true,
      });
    }
  }
  ctx.abortSignal.throwIfAborted();
  for (const stale of named) {
    await graph.removePassword(app.id, stale.keyId, { abortSignal: ctx.abortSignal });
    log.warn(`removed credential ${stale.keyId} left by an interrupted create (its value was never stored)`);
  }
  const endDateTime = new Date(clock.now().getTime() + plan.lifetimeDays * DAY_MS).toISOString();
  const created = await graph.addPassword(app.id, { displayName: run.displayName, endDateTime }, { abortSignal: ctx.abortSignal });
  redactor.add(created.secretText);
  ctx.secret = created.secretText;
  await ctx.deps.hooks?.afterEffect?.("create", "addPassword");
  run.newCredential = { keyId: created.keyId, hint: created.hint, endDateTime: created.endDateTime, displayName: run.displayName };
  return {
    kind: "done",
    detail: `keyId ${created.keyId}, expires ${created.endDateTime}${plan.clampedByPolicyDays ? ` (lifetime clamped to ${plan.clampedByPolicyDays} days by the app management policy)` : ""}`,
  };
}

export async function stashStep(ctx: StepContext): Promise<StepOutcome> {
  const log = ctx.log;
  const { set, vault, graph } = ctx.deps;
  const { run } = ctx;
  const cred = run.newCredential!;
  if (ctx.secret === undefined) {
    // A resumed pass: the previous one died after create was journaled. Either its stash reached
    // Key Vault before the journal (adopt that version), or the value is gone for good.
    const pendingName = pendingSecretName(set.keyVault.secretName);
    const stashed = (await vault.listVersions(pendingName, { abortSignal: ctx.abortSignal })).find((v) => v.enabled && v.tags["keyId"] === cred.keyId);
    if (stashed) {
      run.pendingVersion = stashed.version;
      return { kind: "done", detail: `found the value already stored as ${pendingName} version ${stashed.version}` };
    }
    const app = await getSetApplication(graph, set, { abortSignal: ctx.abortSignal });
    await graph.removePassword(app.id, cred.keyId, { abortSignal: ctx.abortSignal });
    log.warn(`credential ${cred.keyId} was created but its value never reached Key Vault; removed it and creating a new one`);
    run.newCredential = undefined;
    await createStep(ctx);
    return stashStep(ctx);
  }
  try {
    const v = await vault.setSecret(pendingSecretName(set.keyVault.secretName), ctx.secret, {
      tags: { keyId: cred.keyId, appId: set.clientId, runId: run.runId, state: "pending" },
      expiresOn: new Date(cred.endDateTime),
      contentType: "client-secret",
      abortSignal: ctx.abortSignal,
    });
    run.pendingVersion = v.version;
    run.secretSeal = sealSecret(ctx.secret);
  } catch (e) {
    // A secret whose value nobody holds must not survive (I2): roll the credential back.
    const err = ensureRotatorError(e, "VAULT_STASH_FAILED");
    const app = await getSetApplication(graph, set, { abortSignal: ctx.abortSignal });
    await graph.removePassword(app.id, cred.keyId, { abortSignal: ctx.abortSignal });
    log.error(`stash failed; rolled back credential ${cred.keyId}`);
    run.newCredential = undefined;
    throw new RotatorError("VAULT_STASH_FAILED", `Storing the new secret in Key Vault failed: ${err.message}`, {
      hint: `The new credential was removed again. ${err.hint}`,
      status: err.status,
      retryable: false,
      cause: err,
    });
  }
  await ctx.deps.hooks?.afterEffect?.("stash", "setSecret");
  return { kind: "done", detail: `stored as ${pendingSecretName(set.keyVault.secretName)} version ${run.pendingVersion}` };
}

/** The new secret's value for a resumed pass: from the pending companion, or the promoted version. */
async function loadSecret(ctx: StepContext): Promise<string> {
  if (ctx.secret !== undefined) return ctx.secret;
  const { set, vault, redactor } = ctx.deps;
  const { run } = ctx;
  const name = run.promotedVersion ? set.keyVault.secretName : pendingSecretName(set.keyVault.secretName);
  const version = run.promotedVersion ?? run.pendingVersion!;
  const v = await vault.getVersion(name, version, { abortSignal: ctx.abortSignal }).catch((e: unknown) => {
    const err = ensureRotatorError(e);
    if (err.code !== "VAULT_SECRET_NOT_FOUND") throw err;
    // This run wrote that version itself: a 404 is a moment's inconsistency (or a deletion an
    // operator can undo), not the end of the run. Failing here would strand a promoted rotation.
    throw new RotatorError(
      "VAULT_OWN_VERSION_UNAVAILABLE",
      `Key Vault answered 404 for version ${version} of '${name}', which this run wrote: ${err.message}`,
      {
        hint: "The run waits and retries on the next pass. If the secret was deleted, recover it from soft delete (az keyvault secret recover); a stuck-run alert follows if it stays missing.",
        retryable: true,
        cause: err,
      },
    );
  });
  if (!v.value || v.tags["keyId"] !== run.newCredential?.keyId) {
    throw new RotatorError("VAULT_VERSION_MISMATCH", `Key Vault version does not hold credential ${run.newCredential?.keyId}`, {
      hint: "Someone changed the secret during the rotation; inspect the secret's versions and start a forced rotation.",
    });
  }
  assertStashedValue(v.value, { keyId: v.tags["keyId"], hint: run.newCredential?.hint, seal: run.secretSeal }, `Key Vault version ${v.version}`);
  redactor.add(v.value);
  ctx.secret = v.value;
  return v.value;
}

// ── verify at Entra ───────────────────────────────────────────────────────

export async function verifyEntraStep(ctx: StepContext): Promise<StepOutcome> {
  const { set, token, clock } = ctx.deps;
  const { run } = ctx;
  const secret = await loadSecret(ctx);
  const needed = set.verification.consecutiveSuccesses;
  const deadline = clock.now().getTime() + set.verification.budgetSeconds * 1000;
  run.verify ??= { consecutive: 0, attempts: 0, firstAttemptAt: clock.now().toISOString() };
  run.verify.consecutive = 0;
  // A streak must also last: a replica that accepts the secret can be followed by one that refuses it.
  const minStableMs = set.verification.minStableSeconds * 1000;
  let streakSince = 0;
  for (;;) {
    ctx.abortSignal.throwIfAborted();
    run.verify.attempts++;
    const res = await token
      .requestToken(
        { tokenUrl: tokenUrlFor(set.authorityHost, set.tenantId), clientId: set.clientId, clientSecret: secret, scope: graphScope(set.graphBaseUrl) },
        { abortSignal: ctx.abortSignal },
      )
      .catch((e: unknown): TokenResult => {
        const err = ensureRotatorError(e);
        if (err.code === "ABORTED") throw err;
        return { ok: false, status: 0, error: err.code, description: err.message };
      });
    if (res.ok) {
      run.verify.consecutive++;
      if (run.verify.consecutive === 1) streakSince = clock.now().getTime();
      const stableMs = clock.now().getTime() - streakSince;
      if (run.verify.consecutive >= needed && stableMs >= minStableMs) {
        return {
          kind: "done",
          detail: `${run.verify.consecutive} consecutive token requests succeeded over ${Math.round(stableMs / 1000)} s after ${run.verify.attempts} attempt(s)`,
        };
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
        detail: `secret not yet accepted ${needed}× in a row${minStableMs ? ` over ${set.verification.minStableSeconds} s` : ""} within ${set.verification.budgetSeconds}s (last: ${res.ok ? "ok" : res.aadsts ? `AADSTS${res.aadsts}` : res.error}); the next pass resumes verification`,
      };
    }
    await clock.sleep(set.verification.intervalMs, ctx.abortSignal);
  }
}

// ── promote ───────────────────────────────────────────────────────────────

export async function promoteStep(ctx: StepContext): Promise<StepOutcome> {
  const { set, vault, clock } = ctx.deps;
  const { run } = ctx;
  const cred = run.newCredential!;
  const secret = await loadSecret(ctx);
  const latest = await vault.getLatest(set.keyVault.secretName, { abortSignal: ctx.abortSignal });
  const graceMs = (run.mode === "emergency" ? 0 : set.secret.gracePeriodHours) * 3_600_000;
  run.retireAfter ??= new Date(clock.now().getTime() + graceMs).toISOString();
  if (latest && latest.tags["keyId"] !== cred.keyId) await notePreviousFromVault(ctx, latest.tags["keyId"]);
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
      abortSignal: ctx.abortSignal,
    });
    run.promotedVersion = v.version;
    await ctx.deps.hooks?.afterEffect?.("promote", "setSecret");
  }
  if (run.pendingVersion) {
    await vault.updateProperties(
      pendingSecretName(set.keyVault.secretName),
      run.pendingVersion,
      { enabled: false, tags: { keyId: cred.keyId, appId: set.clientId, runId: run.runId, state: "consumed" } },
      { abortSignal: ctx.abortSignal },
    );
  }
  return { kind: "done", detail: `current version ${run.promotedVersion}; previous credential retires after ${run.retireAfter}` };
}

/**
 * The plan can miss the secret Key Vault holds: a transient 404 at plan time, or a secret restored
 * since. Whatever identified credential Key Vault holds as current just before this promote is the
 * one this run replaces; without it as `previousCredential` nothing ever retires it (I6).
 */
async function notePreviousFromVault(ctx: StepContext, keyId: string | undefined): Promise<void> {
  const { run } = ctx;
  if (!keyId || run.previousCredential || run.retireBlockedReason) return;
  const { set, graph } = ctx.deps;
  const app = await getSetApplication(graph, set, { abortSignal: ctx.abortSignal });
  const previous = app.passwordCredentials.find((c) => c.keyId === keyId);
  if (!previous) return;
  run.previousCredential = { keyId: previous.keyId, hint: previous.hint, endDateTime: previous.endDateTime, displayName: previous.displayName };
  ctx.log.warn(
    `the plan found no current secret in Key Vault, but Key Vault holds ${keyId} as current now: it retires after the grace period like any previous credential`,
  );
}

// ── propagate & verify targets ────────────────────────────────────────────

export async function propagateStep(ctx: StepContext): Promise<StepOutcome> {
  if (runGroups(ctx.deps).length === 1) return everyGroup(ctx, propagateGroup);
  // Several groups: each reads its targets back as soon as its own writes are done, so a slow group
  // never delays a fast group's proof; verify-targets then reports what was proven here. A read-back
  // that sends a group back to propagate ends this step waiting, so the next pass propagates again.
  const proven = (ctx.provenInPass ??= new Map());
  return everyGroup(ctx, async (groupCtx) => {
    const outcome = await propagateGroup(groupCtx);
    if (outcome.kind !== "done") return outcome;
    const verified = await verifyGroup(groupCtx);
    if (verified.kind === "pause") return verified;
    proven.set(groupCtx.group ?? 0, verified);
    return outcome;
  });
}

/** Propagation to one target group, canary first (the group's own canary, limiter and concurrency). */
async function propagateGroup(ctx: StepContext): Promise<StepOutcome> {
  const log = ctx.log;
  const { set, gateway } = ctx.deps;
  const { run } = ctx;
  const group = ctx.group ?? 0;
  const secret = await loadSecret(ctx);
  const targets = await listRotationTargets(ctx);
  mergeTargets(run, targets, group);
  const records = groupRecords(run, group);

  if (gateway.capabilities.delivery === "operator") {
    // Each server is confirmed on its own (or all at once); the group is done when none is left.
    const todo = markOperatorConfirmations(records, run.confirmedBy, ctx.deps.clock.now().toISOString());
    // A group with no server listed still waits for one confirmation of the whole run.
    if (todo.length === 0 && (records.length > 0 || run.confirmedBy)) {
      delete run.awaitingConfirmationSince;
      const by = [...new Set(records.map((t) => t.confirmedBy).filter((b) => b !== undefined))];
      return { kind: "done", detail: `${records.length} target(s) confirmed by hand (${by.join(", ")})` };
    }
    run.awaitingConfirmationSince ??= ctx.deps.clock.now().toISOString();
    return {
      kind: "pause",
      status: "awaiting_confirmation",
      detail: `update the client secret of ${todo.length} MCP server(s) by hand from Key Vault version ${run.promotedVersion} (${records.length - todo.length}/${records.length} confirmed; to do: ${todo.map((t) => t.name).join(", ")}), then confirm each: POST /api/rotations/${run.runId}/confirm with "target", or mcp-sso-rotator confirm ${run.runId} --target <name>`,
    };
  }
  const settle = { gateway, clientId: set.clientId, listed: targets, now: ctx.deps.clock.now(), log, abortSignal: ctx.abortSignal, group };
  if (gateway.capabilities.delivery === "keyVault") return refreshGroup(ctx, targets, settle);

  await dropVanishedTargets(run, settle);
  const rule = pickupRuleOf(ctx);
  const pending = targets.filter((t) => {
    const rec = run.targets.find((r) => r.id === t.id)!;
    return !rec.updated || !targetProves(t, secret, rule, rec);
  });
  const outcomes = await pushSecret(ctx, pending, secret);
  // A write that found the target deleted or re-pointed is evidence too.
  await dropVanishedTargets(run, { ...settle, now: ctx.deps.clock.now() });
  await ctx.save();
  const live = liveTargets(run).filter((t) => (t.group ?? 0) === group);
  const failed = live.filter((t) => !t.updated);
  const dropped = groupRecords(run, group).length - live.length;
  if (outcomes.length < pending.length) {
    // The canary could not be written: nobody else was touched; the next pass starts over with a canary.
    const canary = outcomes[0]!;
    log.warn(
      `canary ${canary.name} [target=${canary.id}] could not be updated (${canary.error?.code ?? "unknown"}); the other ${pending.length - 1} target(s) were not touched`,
    );
    return {
      kind: "pause",
      status: "waiting",
      detail: `0 of ${pending.length} updated: the canary ${canary.name} could not be updated (${canary.error?.code ?? "unknown"}); the other ${pending.length - 1} target(s) were not touched and keep the previous secret; retried on the next pass`,
      error: noProgressError(ctx, outcomes, pending.length),
    };
  }
  if (failed.length > 0) {
    log.warn(`${failed.length} target(s) not updated: ${failed.map((t) => `${t.name} (${t.error?.code ?? "unknown"})`).join(", ")}`);
    // Progress is a target updated by this pass; a pass whose every write failed moved nothing.
    const progressed = outcomes.length === 0 || outcomes.some((o) => o.ok);
    return {
      kind: "pause",
      status: "waiting",
      detail: `${live.length - failed.length} of ${live.length} targets updated; ${failed.length} keep failing and are retried on the next pass`,
      ...(progressed ? {} : { error: noProgressError(ctx, outcomes, pending.length) }),
    };
  }
  const updated = outcomes.filter((o) => o.ok && !o.alreadyHeld).length;
  const canary = outcomes.find((o) => o.ok && !o.alreadyHeld);
  return {
    kind: "done",
    detail:
      `${updated} updated, ${live.length - updated} already held the new secret: ${live.length} of ${live.length} hold it` +
      `${canary ? ` (canary ${canary.name} updated and verified first)` : ""}${dropped ? `; ${dropped} dropped as gone or moved` : ""}`,
  };
}

/**
 * A `keyVault` group: promote delivered the secret to Key Vault; each consumer is asked to fetch it
 * now (canary first) and proves pickup by its report. Without a refresh call the consumer fetches on
 * its own schedule and the retire step checks its report. A consumer that could not fetch fails the
 * step with an incident naming it; reconcile asks again on every pass and retirement waits.
 */
async function refreshGroup(ctx: StepContext, targets: GatewayTarget[], settle: Parameters<typeof dropVanishedTargets>[1]): Promise<StepOutcome> {
  const { gateway } = ctx.deps;
  const { run } = ctx;
  const proof = gateway.capabilities.pickupProof;
  if (!gateway.requestRefresh) return { kind: "done", detail: `${targets.length} target(s) read the secret from Key Vault; pickup is proven by ${proof}` };
  await dropVanishedTargets(run, settle);
  const rule = pickupRuleOf(ctx);
  const pending: GatewayTarget[] = [];
  for (const t of targets) {
    const rec = run.targets.find((r) => r.id === t.id)!;
    if (rec.outcome !== undefined) continue;
    if (targetProves(t, "", rule)) Object.assign(rec, { updated: true, verified: true, proof: proofSeen(t, proof) });
    else if (rec.proof !== "time") pending.push(t);
  }
  const { failed, canaryFailed } = await refreshTargets(ctx, pending, rule);
  await ctx.save();
  if (failed.length > 0) {
    const codes = groupRecords(run, ctx.group ?? 0)
      .filter((r) => failed.includes(r.name))
      .map((r) => r.error?.code ?? "unknown");
    throw new RotatorError(
      "TARGET_REFRESH_FAILED",
      `${failed.length} consumer(s) did not pick up the promoted Key Vault version ${run.promotedVersion ?? ""}: ${failed.join(", ")} (${[...new Set(codes)].join(", ")})` +
        (canaryFailed ? `; the canary failed, so the other ${pending.length - 1} were not asked` : ""),
      {
        hint:
          `Check ${failed.join(", ")}: its managed identity needs get (and list) on the vault's secrets and a network path to the vault; the run journal names the error. ` +
          "The previous credential is kept until it reports the new version; every pass asks it again.",
        retryable: false,
      },
    );
  }
  const live = liveTargets(run).filter((t) => (t.group ?? 0) === (ctx.group ?? 0));
  const byTime = live.filter((t) => t.proof === "time").length;
  return {
    kind: "done",
    detail: `${live.length - byTime} of ${live.length} consumer(s) refreshed and proven by ${proof}${byTime ? `; ${byTime} cannot be asked and are assumed to pick it up ${(gateway.capabilities.maxPickupDelayMs ?? 0) / 3_600_000} h after promote` : ""}`,
  };
}

/** Names the dependency that kept a propagate pass from updating anything, with what it answered. */
function noProgressError(ctx: StepContext, outcomes: readonly { error?: ErrorSummary }[], pending: number): ErrorSummary {
  const first = outcomes.find((o) => o.error)?.error;
  const answered = first ? `${first.code}${first.status !== undefined ? ` (HTTP ${first.status})` : ""}` : "an error";
  const config = ctx.deps.set.gateway;
  // The kind names the gateway for people; where it lives is its base URL, when it has one.
  const where = `the ${ctx.deps.gateway.kind} gateway${"baseUrl" in config ? ` at ${config.baseUrl}` : ""}`;
  return new RotatorError(
    "PROPAGATE_NO_PROGRESS",
    `No MCP server was updated: ${where} answered ${answered} to the update of ${outcomes.length} of ${pending} target(s) tried`,
    {
      hint: `Fix ${where} (its status, the API token's rights, its rate limits); the run keeps the previous secret valid and the next pass retries.${first?.hint ? ` ${first.hint}` : ""}`,
      ...(first?.status !== undefined ? { status: first.status } : {}),
      retryable: true,
    },
  ).toJSON();
}

export async function verifyTargetsStep(ctx: StepContext): Promise<StepOutcome> {
  return everyGroup(ctx, async (groupCtx) => ctx.provenInPass?.get(groupCtx.group ?? 0) ?? verifyGroup(groupCtx));
}

async function verifyGroup(ctx: StepContext): Promise<StepOutcome> {
  const { set, gateway } = ctx.deps;
  const { run } = ctx;
  const group = ctx.group ?? 0;
  if (gateway.capabilities.pickupProof === "operator") return { kind: "skipped", detail: `${gateway.kind} gateway: verified by operator confirmation` };
  if (gateway.capabilities.delivery === "keyVault")
    return { kind: "skipped", detail: `${gateway.kind}: proven by ${gateway.capabilities.pickupProof} when refreshed; checked again before retiring` };
  if (gateway.capabilities.pickupProof === "time") {
    return {
      kind: "skipped",
      detail: `${gateway.kind}: nothing to read back; pickup is assumed ${gateway.capabilities.maxPickupDelayMs ?? 0} ms after promote, and retirement waits for it`,
    };
  }
  const secret = await loadSecret(ctx);
  const testConnection = usesTestConnection(ctx);
  // Propagate's listing of this pass, when it ran: every target is read back below, so a listing made
  // before the writes still names the right targets, and 10,000 servers are not paged through twice.
  const listed = await passListing(ctx);
  mergeTargets(run, listed, group);
  await dropVanishedTargets(run, { gateway, clientId: set.clientId, listed, now: ctx.deps.clock.now(), log: ctx.log, abortSignal: ctx.abortSignal, group });
  const bad = await readBackTargets(ctx, listed, secret);
  throwIfGatewayRefusedEveryReadBack(ctx);
  // A live record neither listed nor provably gone (the read-back failed) is not verified yet.
  const listedIds = new Set(listed.map((t) => t.id));
  for (const rec of liveTargets(run).filter((r) => (r.group ?? 0) === group)) {
    if (!listedIds.has(rec.id)) {
      Object.assign(rec, { updated: false, verified: false });
      bad.push(rec.name);
    }
  }
  if (bad.length > 0) {
    // Send the run back to propagate for these targets on the next pass.
    run.steps = run.steps.filter((s) => !(s.name === "propagate" && s.status === "done"));
    return { kind: "pause", status: "waiting", detail: `${bad.length} target(s) failed read-back: ${bad.join(", ")}` };
  }
  const live = liveTargets(run).filter((r) => (r.group ?? 0) === group).length;
  return { kind: "done", detail: `${live}/${live} targets hold the new secret${testConnection ? " and fetched a token" : ""}` };
}

/** Codes recordVerification gives a read-back that reached the target and found it wrong (not a failed call). */
const READ_BACK_VERDICTS: ReadonlySet<string> = new Set(["TARGET_SECRET_MISMATCH", "TARGET_TEST_FAILED"]);

/**
 * verify-targets reuses propagate's listing, so a gateway that stopped answering after propagate
 * (a revoked API token, an outage) shows up on the read-backs, not on a listing. When not one
 * read-back of the group got an answer, the step fails with the gateway's error as a failed listing
 * did: the run names the stale targets and opens an incident, instead of waiting quietly.
 */
function throwIfGatewayRefusedEveryReadBack(ctx: StepContext): void {
  const live = liveTargets(ctx.run).filter((r) => (r.group ?? 0) === (ctx.group ?? 0));
  if (live.length === 0 || live.some((r) => r.verified || r.error === undefined || READ_BACK_VERDICTS.has(r.error.code))) return;
  const first = live[0]!.error!;
  throw new RotatorError(
    "TARGETS_UNREADABLE",
    `None of ${live.length} target(s) could be read back after propagate: the gateway answered ${first.code} (${first.message})`,
    {
      hint: `${first.hint} The run keeps the previous credential and the next pass verifies again.`,
      ...(first.status !== undefined ? { status: first.status } : {}),
      upstreamCode: first.code,
    },
  );
}

/**
 * Runs a target step for every group at once and combines the outcomes. A set with one group gets
 * that group's outcome unchanged. Each group works at its own limit (its adapter's limiter,
 * concurrency and canary), and every group runs to its end even when another pauses or fails: a
 * slow or broken group never holds another's proof back, and each group saves its own progress as
 * it goes (one journal write at a time). The first error, in group order, is rethrown after all ran.
 * Combined: any `waiting` wins (the pass is retried), then `awaiting_confirmation`, else done.
 */
async function everyGroup(ctx: StepContext, step: (ctx: StepContext) => Promise<StepOutcome>): Promise<StepOutcome> {
  const groups = runGroups(ctx.deps);
  if (groups.length === 1) return step(inGroup(ctx, groups[0]!));
  const save = oneSaveAtATime(() => ctx.save());
  const results = await Promise.all(
    groups.map(async (group): Promise<{ group: RunGroup; outcome?: StepOutcome; error?: unknown }> => {
      try {
        return { group, outcome: await step({ ...inGroup(ctx, group), save }) };
      } catch (error) {
        return { group, error };
      }
    }),
  );
  if (ctx.abortSignal.aborted) throw results.find((r) => r.error !== undefined)?.error ?? ctx.abortSignal.reason;
  const failed = results.find((r) => r.error !== undefined);
  if (failed) {
    await save();
    throw failed.error;
  }
  const detail = results.map((r) => `${r.group.label}: ${r.outcome!.detail ?? "done"}`).join("; ");
  const paused = results.map((r) => r.outcome!).filter((o): o is Extract<StepOutcome, { kind: "pause" }> => o.kind === "pause");
  if (paused.some((o) => o.status === "waiting")) return { kind: "pause", status: "waiting", detail };
  if (paused.length > 0) return { kind: "pause", status: paused[0]!.status, detail };
  if (results.every((r) => r.outcome!.kind === "skipped")) return { kind: "skipped", detail };
  return { kind: "done", detail };
}

/** The planner's advice on groups: a grace period shorter than a `time` group's pickup delay ends before that group can be assumed to have picked up. */
export function groupWarnings(deps: Pick<RotationDeps, "set" | "gateway" | "groups">): string[] {
  const delayMs = longestPickupDelayMs(deps);
  const graceMs = deps.set.secret.gracePeriodHours * 3_600_000;
  if (graceMs >= delayMs) return [];
  return [
    `the grace period (${deps.set.secret.gracePeriodHours} h) is shorter than the longest pickup delay of the set's target groups (${delayMs / 3_600_000} h): ` +
      `retirement waits for the delay anyway — raise secret.gracePeriodHours to at least ${Math.ceil(delayMs / 3_600_000)} so the plan says when it really happens`,
  ];
}

// ── retire ────────────────────────────────────────────────────────────────

export async function retireStep(ctx: StepContext): Promise<StepOutcome> {
  const { set, clock } = ctx.deps;
  const { run } = ctx;
  const previous = run.previousCredential;
  if (run.retireBlockedReason) return { kind: "skipped", detail: `nothing retired: ${run.retireBlockedReason}` };
  if (!previous) return { kind: "skipped", detail: "no previous managed credential to retire" };

  // I1: never retire while any target still lacks the new secret — including targets added since —
  // in any group: every group must have proven pickup.
  // Every group is listed at once: the slowest group's listing bounds the check, not their sum.
  const laggingTargets = async (): Promise<string[]> => (await Promise.all(runGroups(ctx.deps).map((g) => laggingInGroup(inGroup(ctx, g))))).flat();
  const verdict = await retirementDue(
    { path: "retire", keyId: previous.keyId, laggingTargets, retireAfter: run.retireAfter, targetsVerifiedAt: targetsVerifiedAt(run) },
    {
      set,
      runId: run.runId,
      now: clock.now(),
      emergency: run.mode === "emergency",
      evidence: ctx.deps.retirementEvidence,
      log: ctx.log,
      abortSignal: ctx.abortSignal,
    },
  );
  if (!verdict.due) {
    const detail = verdict.heldBy === "targets" ? `${verdict.note}; propagating again before retiring` : verdict.note;
    return { kind: "pause", status: "waiting", detail };
  }
  const disabled = await retireCredential(ctx, previous.keyId, "retire");
  return { kind: "done", detail: `removed ${previous.keyId} and disabled ${disabled} Key Vault version(s); ${verdict.note}` };
}

/** The names of one group's targets that have not proven pickup of the new secret. */
async function laggingInGroup(ctx: StepContext): Promise<string[]> {
  const { gateway, clock } = ctx.deps;
  const { run } = ctx;
  const group = ctx.group ?? 0;
  const proof = gateway.capabilities.pickupProof;
  if (proof === "operator") return []; // the operator's confirmation (propagate) is the proof
  if (proof === "time") {
    const records = groupRecords(run, group).filter((r) => r.outcome === undefined);
    const start = promotedAt(ctx);
    const until = start === undefined ? undefined : start + (gateway.capabilities.maxPickupDelayMs ?? 0);
    if (until === undefined || clock.now().getTime() < until) {
      const when = until === undefined ? "an unknown time (promote is not journaled)" : new Date(until).toISOString();
      return records.map((r) => `${r.name} (pickup assumed only from ${when})`);
    }
    for (const r of records) Object.assign(r, { updated: true, verified: true, proof: "time" });
    return [];
  }
  const secret = await loadSecret(ctx);
  const rule = pickupRuleOf(ctx);
  const targets = await listRotationTargets(ctx);
  // A consumer that refused to be asked to refresh is assumed to have picked up once its documented delay passed.
  const assumedFrom = (rule.promotedAt ?? Number.NaN) + (gateway.capabilities.maxPickupDelayMs ?? 0);
  const byTime = (t: GatewayTarget): boolean => run.targets.find((r) => r.id === t.id)?.proof === "time";
  const lagging = targets.filter(
    (t) =>
      !targetProves(
        t,
        secret,
        rule,
        run.targets.find((r) => r.id === t.id),
      ) && !(byTime(t) && clock.now().getTime() >= assumedFrom),
  );
  if (lagging.length > 0 && lagging.every(byTime)) {
    const when = Number.isFinite(assumedFrom) ? new Date(assumedFrom).toISOString() : "an unknown time (promote is not journaled)";
    return lagging.map((t) => `${t.name} (cannot be asked to refresh; pickup assumed only from ${when})`);
  }
  for (const t of targets.filter((x) => byTime(x) && !lagging.includes(x)))
    Object.assign(
      run.targets.find((r) => r.id === t.id)!,
      { verified: true },
    );
  if (lagging.length > 0) {
    mergeTargets(run, targets, group);
    for (const t of lagging) {
      const rec = run.targets.find((r) => r.id === t.id)!;
      Object.assign(rec, { updated: false, verified: false });
    }
    run.steps = run.steps.filter((s) => !((s.name === "propagate" || s.name === "verify-targets") && s.status === "done"));
  }
  return lagging.map((t) => t.name);
}

/**
 * Removes a credential from the app and disables every Key Vault version holding it. The caller
 * has proved that no target uses it and that its grace period is over. Returns the versions disabled.
 */
export async function retireCredential(ctx: StepContext, keyId: string, step: "retire" | "reconcile"): Promise<number> {
  const { set, graph, vault } = ctx.deps;
  const app = await getSetApplication(graph, set, { abortSignal: ctx.abortSignal });
  if (app.passwordCredentials.some((c) => c.keyId === keyId)) {
    await graph.removePassword(app.id, keyId, { abortSignal: ctx.abortSignal });
    await ctx.deps.hooks?.afterEffect?.(step, "removePassword");
  }
  const versions = await vault.listVersions(set.keyVault.secretName, { abortSignal: ctx.abortSignal });
  let disabled = 0;
  for (const v of versions) {
    if (v.enabled && v.tags["keyId"] === keyId) {
      await vault.updateProperties(set.keyVault.secretName, v.version, { enabled: false }, { abortSignal: ctx.abortSignal });
      disabled++;
    }
  }
  ctx.log.info(`retired credential ${keyId}; disabled ${disabled} Key Vault version(s)`);
  return disabled;
}
