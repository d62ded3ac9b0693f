import { proofSeen } from "../gateway/proof.js";
import { RotatorError, ensureRotatorError } from "../errors.js";
import type { SecretVersion } from "../vault/types.js";
import { tokenUrlFor } from "../entra/token.js";
import { graphScope } from "../entra/scope.js";
import { retireCredential } from "./steps.js";
import type { StepContext, StepOutcome } from "./stepContext.js";
import { listRotationTargets, pushSecret, readBackTargets, refreshTargets, targetProves } from "./targetWrites.js";
import type { PickupRule } from "../gateway/propagate.js";
import { dropVanishedTargets, liveTargets, mergeTargets } from "./targets.js";
import { retirementDue, targetsVerifiedAt, type RetirementContext } from "./retirement.js";
import { getSetApplication } from "../entra/application.js";
import { groupRecords, inGroup, oneSaveAtATime, runGroups } from "./groups.js";
import type { GatewayTarget } from "../gateway/types.js";
import type { TargetRecord } from "./model.js";

/**
 * Reconcile on every pass (DESIGN.md § Reconcile on every pass). When no rotation is due, the pass
 * still brings the estate to the current Key Vault secret: every target that holds anything else —
 * a server cloned from an old copy, a hand edit, a run that failed after promote — is updated and
 * read back, and a retirement left pending (the current version's `previousKeyId` once its
 * `retireAfter` has passed) is finished once every target verifies. Key Vault's tags are the
 * record, so this works whatever happened to the run that promoted the secret.
 *
 * Targets that stay stale fail the step with TARGETS_STALE naming them: on-call gets a critical
 * incident, and the previous credential is kept, because a target still uses it (I1).
 */
export interface ReconcileSummary {
  /** Targets brought to the current secret by this pass. */
  repaired: number;
  /** keyId of the previous credential retired by this pass. */
  retired?: string;
}

export async function reconcileStep(ctx: StepContext): Promise<StepOutcome & { summary?: ReconcileSummary }> {
  const { set, vault, clock, redactor } = ctx.deps;
  const groups = runGroups(ctx.deps);
  if (groups.every((g) => g.adapter.capabilities.pickupProof === "operator")) {
    const { gateway } = ctx.deps;
    return { kind: "skipped", detail: `${gateway.kind} gateway: its targets cannot be read back, so drift is not repaired automatically` };
  }
  const current = await vault.getLatest(set.keyVault.secretName, { abortSignal: ctx.abortSignal });
  if (!current?.enabled || !current.value) return { kind: "skipped", detail: "Key Vault holds no current secret to reconcile with" };
  const secret = current.value;
  redactor.add(secret);

  // Each group is repaired on its own and all at once, each at its own limit; a group that stays
  // stale (or is slow) does not stop or delay the others, and the first failure (in group order) is
  // raised once all ran (the previous credential is then kept).
  const entraAccepts = memo((stale: number) => probeCurrentSecret(ctx, secret, stale));
  const promotedOn = current.createdOn?.getTime();
  const promotingWrites = memo((_: void) => writesOfPromotingRun(ctx, current));
  const save = oneSaveAtATime(() => ctx.save());
  type GroupResult = { repair?: GroupRepair; refreshLagging?: string[]; error?: unknown };
  const results = await Promise.all(
    groups.map(async (group): Promise<GroupResult> => {
      const caps = group.adapter.capabilities;
      const rule: PickupRule = { proof: caps.pickupProof, promotedVersion: current.version, ...(promotedOn !== undefined ? { promotedAt: promotedOn } : {}) };
      const groupCtx = { ...inGroup(ctx, group), save };
      try {
        if (caps.delivery === "keyVault" && group.adapter.requestRefresh && (caps.pickupProof === "status" || caps.pickupProof === "version")) {
          return { refreshLagging: await refreshGroupToCurrent(groupCtx, rule) };
        }
        if (caps.delivery !== "push" || caps.pickupProof === "operator" || caps.pickupProof === "time") return {};
        return { repair: await repairGroup(groupCtx, secret, entraAccepts, rule, promotingWrites) };
      } catch (error) {
        return { error };
      }
    }),
  );
  const failed = results.find((r) => r.error !== undefined);
  if (ctx.abortSignal.aborted && failed) throw failed.error;
  const failure = failed === undefined ? undefined : failed.error instanceof Error ? failed.error : ensureRotatorError(failed.error);
  const repairs = results.flatMap((r) => (r.repair ? [r.repair] : []));
  const refreshLagging = results.flatMap((r) => r.refreshLagging ?? []);
  if (failure !== undefined) throw failure;

  // Every repaired group verified on the current secret, or TARGETS_STALE was thrown above; the rule
  // checks it again. Groups that cannot be read back here hold the retirement: an operator group
  // until its run is confirmed (that run retires, not reconcile), a time group until its window ends.
  const promoted = current.createdOn?.getTime();
  const lagging = (): Promise<string[]> => {
    const names = [
      ...refreshLagging,
      ...repairs.flatMap((r) => r.stale.filter((x) => liveTargets(ctx.run).some((t) => t.id === x.id && !t.verified)).map((t) => t.name)),
    ];
    for (const group of groups) {
      const caps = group.adapter.capabilities;
      const records = groupRecords(ctx.run, group.index).filter((r) => r.outcome === undefined);
      if (groups.length > 1 && caps.pickupProof === "operator")
        names.push(
          ...records.map((r) => `${r.name} (awaiting operator confirmation)`),
          ...(records.length ? [] : [`${group.label} (awaiting operator confirmation)`]),
        );
      if (caps.pickupProof === "time" && (promoted === undefined || clock.now().getTime() < promoted + (caps.maxPickupDelayMs ?? 0)))
        names.push(`${group.label} (pickup window not over)`);
    }
    return Promise.resolve(names);
  };
  const retired = await finishPendingRetirement(ctx, current, lagging);
  const superseded = await retireSuperseded(ctx, current.tags, lagging);
  const listedCount = repairs.reduce((n, r) => n + r.listed.length, 0);
  const repaired = repairs.reduce((n, r) => n + r.repaired, 0);
  const anyStale = repairs.some((r) => r.stale.length > 0);
  ctx.log.info(`reconciled: ${repaired} of ${listedCount} target(s) repaired${retired ? `; retired ${retired}` : ""}`);
  const parts = [anyStale ? `${repaired} of ${listedCount} target(s) repaired and verified` : `all ${listedCount} target(s) hold the current secret`];
  if (retired) parts.push(`retired previous credential ${retired}`);
  if (superseded.length) parts.push(`retired superseded credential(s) ${superseded.join(", ")}`);
  const retiredAny = retired ?? superseded[0];
  return { kind: "done", detail: parts.join("; "), summary: { repaired, ...(retiredAny ? { retired: retiredAny } : {}) } };
}

interface GroupRepair {
  listed: GatewayTarget[];
  stale: GatewayTarget[];
  repaired: number;
}

/** The first call's promise, for every call: the token request is made once per pass. */
function memo<A, T>(f: (a: A) => Promise<T>): (a: A) => Promise<T> {
  let p: Promise<T> | undefined;
  return (a) => (p ??= f(a));
}

/** I1: push only a secret Entra accepts right now (asked once per pass, only when something is stale). */
async function probeCurrentSecret(ctx: StepContext, secret: string, stale: number): Promise<void> {
  const { set, token } = ctx.deps;
  const probe = await token.requestToken(
    { tokenUrl: tokenUrlFor(set.authorityHost, set.tenantId), clientId: set.clientId, clientSecret: secret, scope: graphScope(set.graphBaseUrl) },
    { abortSignal: ctx.abortSignal },
  );
  if (!probe.ok) {
    throw new RotatorError(
      "CURRENT_SECRET_REFUSED",
      `Entra refuses the current Key Vault secret (${probe.aadsts ? `AADSTS${probe.aadsts}` : probe.error}); ${stale} drifted target(s) were not touched`,
      {
        hint: "The secret in Key Vault no longer works: start an emergency rotation (POST /api/rotations with mode emergency, or `mcp-sso-rotator rotate --emergency`).",
        ...(probe.aadsts ? { aadsts: probe.aadsts } : {}),
      },
    );
  }
}

/** Brings one pushable group to the current secret, canary first, and reads it back. */
async function repairGroup(
  ctx: StepContext,
  secret: string,
  entraAccepts: (stale: number) => Promise<void>,
  rule: PickupRule,
  promotingWrites: () => Promise<Map<string, TargetRecord>>,
): Promise<GroupRepair> {
  const { set, gateway, clock } = ctx.deps;
  const { run } = ctx;
  const group = ctx.group ?? 0;
  // Only this tenant's servers: one with the client ID but another tenant is drift, never written.
  const listed = await listRotationTargets(ctx);
  // An undated status is proven by the ETag the promoting run's write left (read only for status proofs).
  const written = rule.proof === "status" ? await promotingWrites() : new Map<string, TargetRecord>();
  const stale = listed.filter((t) => !targetProves(t, secret, rule, written.get(t.id)));
  if (stale.length === 0) return { listed, stale, repaired: 0 };
  await entraAccepts(stale.length);
  mergeTargets(run, stale, group);
  await pushSecret(ctx, stale, secret, rule);
  await dropVanishedTargets(run, { gateway, clientId: set.clientId, listed, now: clock.now(), log: ctx.log, abortSignal: ctx.abortSignal, group });
  await readBackTargets(ctx, listed, secret, rule);
  const mine = liveTargets(run).filter((t) => (t.group ?? 0) === group);
  const repaired = mine.filter((t) => t.verified).length;
  await ctx.save();
  const left = mine.filter((t) => !t.verified);
  if (left.length > 0) {
    const names = left.map((t) => t.name);
    throw new RotatorError(
      "TARGETS_STALE",
      `${left.length} MCP server(s) hold a secret other than the current one and could not be repaired: ${names.join(", ")} (${left.map((t) => t.error?.code ?? "unknown").join(", ")})`,
      {
        hint:
          `Open ${names.join(", ")} in the gateway console and fix what the run journal names for each (GET /api/rotations/${run.runId}); ` +
          "the next pass repairs them. Until then the previous credential is kept, and those servers break the day it expires.",
      },
    );
  }
  return { listed, stale, repaired };
}

/**
 * A `keyVault` group on every pass: a consumer that does not report the current Key Vault version
 * (an automatic refresh that failed, a consumer added since) is asked to refresh, canary first.
 * One that still does not report it fails the step naming it (an incident; the previous credential
 * is kept). Returns the names that hold retirement: those refused a refresh whose documented
 * pickup delay after the version's creation has not passed.
 */
async function refreshGroupToCurrent(ctx: StepContext, rule: PickupRule): Promise<string[]> {
  const { gateway, clock } = ctx.deps;
  const { run } = ctx;
  const listed = await listRotationTargets(ctx);
  mergeTargets(run, listed, ctx.group ?? 0);
  const stale = listed.filter((t) => !targetProves(t, "", rule));
  for (const t of listed.filter((x) => !stale.includes(x)))
    Object.assign(
      run.targets.find((r) => r.id === t.id)!,
      { updated: true, verified: true, proof: proofSeen(t, rule.proof) },
    );
  if (stale.length === 0) return [];
  const { failed } = await refreshTargets(ctx, stale, rule);
  await ctx.save();
  if (failed.length > 0) {
    throw new RotatorError(
      "TARGET_REFRESH_FAILED",
      `${failed.length} consumer(s) do not report the current Key Vault version ${rule.promotedVersion ?? ""} and could not be refreshed: ${failed.join(", ")}`,
      {
        hint: `Check ${failed.join(", ")}: its managed identity needs get (and list) on the vault's secrets; the run journal names the error. Until it reports the current version the previous credential is kept.`,
        retryable: false,
      },
    );
  }
  const assumedFrom = (rule.promotedAt ?? Number.NaN) + (gateway.capabilities.maxPickupDelayMs ?? 0);
  const waiting = groupRecords(run, ctx.group ?? 0).filter((r) => r.proof === "time" && r.outcome === undefined);
  if (clock.now().getTime() >= assumedFrom) {
    for (const r of waiting) r.verified = true;
    return [];
  }
  const when = Number.isFinite(assumedFrom) ? new Date(assumedFrom).toISOString() : "an unknown time";
  return waiting.map((r) => `${r.name} (cannot be asked to refresh; pickup assumed only from ${when})`);
}

/** The target records the run that promoted `current` wrote (with the ETag each write left), by target ID. */
async function writesOfPromotingRun(ctx: StepContext, current: SecretVersion): Promise<Map<string, TargetRecord>> {
  const runId = current.tags["runId"];
  const run = runId ? await ctx.journals.readRun(ctx.deps.set.name, runId, ctx.abortSignal).catch(() => undefined) : undefined;
  return new Map((run?.targets ?? []).filter((r) => r.updated && r.etag !== undefined).map((r) => [r.id, r]));
}

/** The retirement rule's context for a reconciling pass (src/rotation/retirement.ts). */
function ruleContext(ctx: StepContext): RetirementContext {
  const { set, clock, retirementEvidence } = ctx.deps;
  return {
    set,
    runId: ctx.run.runId,
    now: clock.now(),
    emergency: ctx.run.mode === "emergency",
    evidence: retirementEvidence,
    log: ctx.log,
    abortSignal: ctx.abortSignal,
  };
}

/**
 * When every target held the secret `version` holds: the verify-targets of the run that promoted it
 * (its `runId` tag). Without that journal, the promotion itself — earlier, so any later sign-in
 * with the old key counts as an outside consumer: the safe side.
 */
async function verifiedAtFor(ctx: StepContext, version: SecretVersion): Promise<string> {
  const runId = version.tags["runId"];
  const run = runId ? await ctx.journals.readRun(ctx.deps.set.name, runId, ctx.abortSignal).catch(() => undefined) : undefined;
  return run ? targetsVerifiedAt(run) : (version.createdOn?.toISOString() ?? ctx.run.createdAt);
}

/** Retires the credential the current version replaced, through the retirement rule (grace from the version's `retireAfter`). */
async function finishPendingRetirement(ctx: StepContext, current: SecretVersion, laggingTargets: () => Promise<string[]>): Promise<string | undefined> {
  const { set, graph } = ctx.deps;
  const tags = current.tags;
  const previousKeyId = tags["previousKeyId"];
  if (!previousKeyId || previousKeyId === "none" || previousKeyId === tags["keyId"]) return undefined;
  const app = ctx.facts?.app ?? (await getSetApplication(graph, set, { abortSignal: ctx.abortSignal }));
  if (!app.passwordCredentials.some((c) => c.keyId === previousKeyId)) return undefined;
  const verdict = await retirementDue(
    {
      path: "pending-retirement",
      keyId: previousKeyId,
      laggingTargets,
      retireAfter: tags["retireAfter"],
      targetsVerifiedAt: await verifiedAtFor(ctx, current),
    },
    ruleContext(ctx),
  );
  if (!verdict.due) {
    ctx.log.info(`previous credential ${previousKeyId} kept: ${verdict.note}`);
    return undefined;
  }
  await retireCredential(ctx, previousKeyId, "reconcile");
  return previousKeyId;
}

/**
 * A credential two rotations old: its successor was promoted (its version's `previousKeyId` names
 * it) yet it is still on the app — a run failed before retiring it and the next rotation only knew
 * its own previous credential. Keeping it forever breaks I6 and sprawls (I3), so it is retired
 * through the retirement rule like any other, its grace period ending at its successor's
 * `retireAfter`. Found by `npm run chaos` (seed 129 of the first campaign).
 */
async function retireSuperseded(ctx: StepContext, currentTags: Record<string, string>, laggingTargets: () => Promise<string[]>): Promise<string[]> {
  const { set, graph, vault } = ctx.deps;
  const keep = new Set([currentTags["keyId"], currentTags["previousKeyId"]]);
  const versions = await vault.listVersions(set.keyVault.secretName, { abortSignal: ctx.abortSignal });
  const app = await getSetApplication(graph, set, { abortSignal: ctx.abortSignal });
  const live = new Set(app.passwordCredentials.map((c) => c.keyId));
  const retired: string[] = [];
  for (const keyId of new Set(versions.map((v) => v.tags["keyId"]).filter((k): k is string => k !== undefined))) {
    if (keep.has(keyId) || !live.has(keyId)) continue;
    const successor = versions.find((v) => v.tags["previousKeyId"] === keyId && v.tags["keyId"] !== keyId);
    if (!successor) continue; // not superseded by any promotion: nothing says it may go
    const verdict = await retirementDue(
      { path: "superseded", keyId, laggingTargets, retireAfter: successor.tags["retireAfter"], targetsVerifiedAt: await verifiedAtFor(ctx, successor) },
      ruleContext(ctx),
    );
    if (!verdict.due) {
      ctx.log.info(`superseded credential ${keyId} kept: ${verdict.note}`);
      continue;
    }
    await retireCredential(ctx, keyId, "reconcile");
    retired.push(keyId);
  }
  return retired;
}
