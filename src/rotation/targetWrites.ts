import { RotatorError } from "../errors.js";
import type { GatewayTarget, PickupProof, TargetFilter } from "../gateway/types.js";
import { propagateCanaryFirst, refreshCanaryFirst, verifyTargets, type PickupRule, type TargetOutcome, type TargetVerification } from "../gateway/propagate.js";
import { proofSeen, provesPickup } from "../gateway/proof.js";
import type { TargetRecord } from "./model.js";
import type { StepContext } from "./stepContext.js";
import { liveTargets } from "./targets.js";

/**
 * Writing the secret to a run's targets and reading it back, through the adapter's capabilities
 * (src/gateway/types.ts GatewayCapabilities): how many at once, whether the gateway tests the
 * connection. The steps (propagate, verify-targets, retire) and reconcile decide when; this does it.
 */
/**
 * The listing filter of a rotation: the set's client ID AND its tenant (GUID, domain or authority
 * host form). A server with the client ID but another tenant is recorded on the run as `drift`
 * with the reason (never written; the gateway-drift probe reports it too).
 */
function rotationTargetFilter(ctx: StepContext): TargetFilter {
  const { set } = ctx.deps;
  return {
    clientId: set.clientId,
    tenant: { tenantId: set.tenantId, authorityHosts: [set.authorityHost] },
    onDrift: (t, why) => reportUnwritten(ctx, t, "drift", why),
    onRefreshedByConsumer: (t, why) => reportUnwritten(ctx, t, "refreshed", why),
  };
}

/** A listed target that is reported on the run and never written (drift, or refreshed by the consumer itself). */
function reportUnwritten(ctx: StepContext, t: GatewayTarget, outcome: "drift" | "refreshed", why: string): void {
  const { run } = ctx;
  let rec = run.targets.find((r) => r.id === t.id);
  if (!rec) {
    rec = { id: t.id, name: t.name, updated: false, verified: false, attempts: 0, ...(ctx.group ? { group: ctx.group } : {}) };
    run.targets.push(rec);
  }
  Object.assign(rec, { updated: false, verified: false, outcome, evidence: `${why} (checked ${ctx.deps.clock.now().toISOString()})` });
  delete rec.error;
}

/** When this run's promote finished: a `status` proof must be newer, and a `time` window starts there. */
export function promotedAt(ctx: StepContext): number | undefined {
  const step = ctx.run.steps.filter((s) => s.name === "promote" && s.status === "done").at(-1);
  const at = Date.parse(step?.endedAt ?? "");
  return Number.isFinite(at) ? at : undefined;
}

/** The group's proof with what this run promoted (reconcile passes the current Key Vault version's instead). */
export function pickupRuleOf(ctx: StepContext): PickupRule {
  const at = promotedAt(ctx);
  return {
    proof: ctx.deps.gateway.capabilities.pickupProof,
    ...(ctx.run.promotedVersion !== undefined ? { promotedVersion: ctx.run.promotedVersion } : {}),
    ...(at !== undefined ? { promotedAt: at } : {}),
  };
}

/** Whether a listed target proves pickup of `secret` under `rule` (the one rule, src/gateway/proof.ts); `rec` gives the ETag this run's write left. */
export function targetProves(t: GatewayTarget, secret: string, rule: PickupRule, rec?: Pick<TargetRecord, "etag" | "updated">): boolean {
  return provesPickup(t, { secret, ...rule, ...(rec?.updated && rec.etag ? { writtenEtag: rec.etag } : {}) }, rule.proof);
}

/**
 * A fresh listing of the context's group. It becomes this pass's listing (passListing), so a later
 * step that only needs to know which targets exist does not page through the gateway again.
 */
export function listRotationTargets(ctx: StepContext): Promise<GatewayTarget[]> {
  const listing = ctx.deps.gateway.listTargets(rotationTargetFilter(ctx), { abortSignal: ctx.abortSignal });
  const group = ctx.group ?? 0;
  const { listings } = ctx;
  if (listings) {
    listings.set(group, listing);
    // A failed listing is not this pass's listing: the next caller lists again.
    listing.catch(() => {
      if (listings.get(group) === listing) listings.delete(group);
    });
  }
  return listing;
}

/**
 * The group's listing already made in this pass, else a fresh one. Its targets' contents (fingerprint,
 * ETag, status) are as they were when listed, possibly before this pass wrote them: use it only for
 * which targets exist, and prove pickup by reading each one back (verify-targets does). Whatever
 * decides from a listed target's contents (what to write, what lags before retiring) lists afresh.
 */
export function passListing(ctx: StepContext): Promise<GatewayTarget[]> {
  return ctx.listings?.get(ctx.group ?? 0) ?? listRotationTargets(ctx);
}

/**
 * Writes `secret` to `targets`, canary first, and records each outcome on the run's target records.
 * When the canary does not work after the write (read-back or the gateway's test connection fails),
 * nothing else is written and CANARY_FAILED is thrown: every other target keeps the previous secret,
 * which stays valid because a failed run never retires it.
 */
export async function pushSecret(ctx: StepContext, targets: GatewayTarget[], secret: string, rule: PickupRule = pickupRuleOf(ctx)): Promise<TargetOutcome[]> {
  const { set, gateway } = ctx.deps;
  const { run } = ctx;
  const records = new Map(run.targets.map((r) => [r.id, r]));
  const result = await propagateCanaryFirst({
    adapter: gateway,
    targets,
    secret,
    maxConcurrency: gateway.capabilities.maxConcurrency,
    abortSignal: ctx.abortSignal,
    retry: { maxAttempts: ctx.deps.targetAttempts ?? 4 },
    sleep: (ms, signal) => ctx.deps.clock.sleep(ms, signal),
    logger: ctx.log,
    pickup: rule,
    verify: { clientId: set.clientId, useTestConnection: usesTestConnection(ctx), pickup: rule },
    onTargetDone: async (targetId, outcome) => {
      const rec = records.get(targetId)!;
      rec.attempts += outcome.attempts;
      rec.updated = outcome.ok;
      if (!outcome.ok) rec.verified = false;
      if (outcome.ok && outcome.etag) rec.etag = outcome.etag;
      if (outcome.error) rec.error = outcome.error;
      else delete rec.error;
      if (outcome.ok && !outcome.alreadyHeld) await ctx.deps.hooks?.afterTargetUpdated?.(targetId);
    },
  });
  const canary = result.canary;
  if (canary?.verification) recordVerification(records.get(canary.outcome.id)!, canary.verification, gateway.capabilities.pickupProof);
  if (result.status === "verify-failed" && canary?.verification) {
    const rec = records.get(canary.outcome.id)!;
    const others = targets.length - 1;
    await ctx.save();
    throw new RotatorError(
      "CANARY_FAILED",
      `The canary MCP server ${rec.name} (${rec.id}) took the new secret but failed verification (${rec.error?.code ?? "unknown"}: ${rec.error?.message ?? "no detail"}); the other ${others} target(s) were not touched`,
      {
        hint:
          `The gateway does not hold or cannot use the new secret on ${rec.name}. The other ${others} MCP server(s) still hold the previous secret, which stays valid (the previous credential is not retired). ` +
          `Check ${rec.name} in the gateway console (token URL, client ID, its test connection) and the gateway's health, fix what it shows, then start a forced rotation or let the next pass reconcile (it tries the canary again first).`,
        retryable: false,
      },
    );
  }
  return result.outcomes;
}

export function usesTestConnection(ctx: StepContext): boolean {
  const { gateway } = ctx.deps;
  return gateway.capabilities.testConnection && gateway.testConnection !== undefined;
}

/** Marks a run record from a read-back; a failed one is sent back to propagation with the reason. */
function recordVerification(rec: TargetRecord, v: TargetVerification, proof: PickupProof): boolean {
  rec.verified = v.ok;
  if (v.ok) {
    delete rec.error;
    rec.proof = proof;
    return true;
  }
  delete rec.proof;
  rec.updated = false;
  rec.error = v.error ?? {
    code: v.fingerprintMatches ? "TARGET_TEST_FAILED" : "TARGET_SECRET_MISMATCH",
    message:
      v.testConnection && !v.testConnection.ok
        ? v.testConnection.detail
        : !v.fingerprintMatches && v.pickupDetail
          ? `pickup not proven: ${v.pickupDetail}`
          : `fingerprint ${v.fingerprintMatches ? "matches" : "does not match"}; client ID ${v.clientIdUnchanged ? "unchanged" : "changed"}; token URL ${v.tokenUrlUnchanged ? "unchanged" : "changed"}`,
    hint: "The target does not hold a working copy of the new secret; it is updated again on the next pass.",
  };
  return false;
}

/**
 * Reads back the live records that are listed (fingerprint, client ID, token URL, and the gateway's
 * test connection when configured) and marks each verified or not. Returns the names that failed.
 * Read-backs and test connections go through the same adapter, so they share its rate budget with updates.
 */
export async function readBackTargets(ctx: StepContext, listed: GatewayTarget[], secret: string, rule: PickupRule = pickupRuleOf(ctx)): Promise<string[]> {
  const { set, gateway } = ctx.deps;
  const { run } = ctx;
  const known = new Map(listed.map((t) => [t.id, t]));
  const records = new Map(run.targets.map((r) => [r.id, r]));
  const toCheck = liveTargets(run)
    .map((r) => known.get(r.id))
    .filter((t): t is GatewayTarget => t !== undefined);
  const checks = await verifyTargets({
    adapter: gateway,
    targets: toCheck,
    secret,
    clientId: set.clientId,
    useTestConnection: usesTestConnection(ctx),
    maxConcurrency: gateway.capabilities.maxConcurrency,
    abortSignal: ctx.abortSignal,
    pickup: rule,
  });
  const bad: string[] = [];
  for (const v of checks) {
    const rec = records.get(v.id)!;
    if (!recordVerification(rec, v, gateway.capabilities.pickupProof)) bad.push(rec.name);
  }
  return bad;
}

/**
 * Asks a `keyVault` group's consumers to fetch the promoted secret, canary first, and records each
 * outcome with its proof. A consumer that refuses to be asked falls back to `time`: it is assumed to
 * pick the secret up `maxPickupDelayMs` after promote, with a warning. Returns the names that failed
 * (not refused) and whether the canary failed (the rest were then not asked).
 */
export async function refreshTargets(ctx: StepContext, targets: GatewayTarget[], rule: PickupRule): Promise<{ failed: string[]; canaryFailed: boolean }> {
  const { gateway } = ctx.deps;
  const records = new Map(ctx.run.targets.map((r) => [r.id, r]));
  const delayMs = gateway.capabilities.maxPickupDelayMs ?? 0;
  const result = await refreshCanaryFirst({
    adapter: gateway,
    targets,
    proves: (t) => provesPickup(t, { secret: "", ...rule }, rule.proof),
    maxConcurrency: gateway.capabilities.maxConcurrency,
    abortSignal: ctx.abortSignal,
    logger: ctx.log,
    onTargetDone: (id, o) => {
      const rec = records.get(id)!;
      rec.attempts++;
      if (o.ok) {
        Object.assign(rec, { updated: true, verified: true, proof: o.after ? proofSeen(o.after, rule.proof) : rule.proof });
        delete rec.error;
      } else if (o.refused) {
        // Documented fallback: the consumer refreshes by itself within its maximum pickup delay.
        Object.assign(rec, { updated: true, verified: false, proof: "time" });
        delete rec.error;
        ctx.log.warn(
          `${rec.name} [target=${id}] cannot be asked to refresh (${o.error?.code ?? "refused"}): pickup is assumed ${delayMs / 3_600_000} h after promote, and retirement waits for it`,
        );
      } else {
        Object.assign(rec, { updated: false, verified: false });
        delete rec.proof;
        if (o.error) rec.error = o.error;
      }
    },
  });
  return { failed: result.outcomes.filter((o) => !o.ok && !o.refused).map((o) => o.name), canaryFailed: result.canaryFailed };
}
