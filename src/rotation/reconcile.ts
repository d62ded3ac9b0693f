import { RotatorError } from "../errors.js";
import { fingerprintMatches } from "../gateway/fingerprint.js";
import { graphScope } from "../entra/scope.js";
import { tenantTokenUrl } from "./policy.js";
import { listRotationTargets, pushSecret, readBackTargets, retireCredential, type StepContext, type StepOutcome } from "./steps.js";
import { dropVanishedTargets, liveTargets, mergeTargets } from "./targets.js";
import { checkRetirementEvidence } from "./retirementEvidence.js";

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
  const { set, gateway, vault, token, clock, redactor } = ctx.deps;
  const { run } = ctx;
  if (gateway.kind === "manual") return { kind: "skipped", detail: "manual gateway: its targets cannot be read back, so drift is not repaired automatically" };
  const current = await vault.getLatest(set.keyVault.secretName, { abortSignal: ctx.signal });
  if (!current?.enabled || !current.value) return { kind: "skipped", detail: "Key Vault holds no current secret to reconcile with" };
  const secret = current.value;
  redactor.add(secret);

  // Only this tenant's servers: one with the client ID but another tenant is drift, never written.
  const listed = await listRotationTargets(ctx);
  const stale = listed.filter((t) => !fingerprintMatches(t, secret));
  let repaired = 0;
  if (stale.length > 0) {
    // I1: push only a secret Entra accepts right now.
    const probe = await token.requestToken(
      { tokenUrl: tenantTokenUrl(set), clientId: set.clientId, clientSecret: secret, scope: graphScope(set.graphBaseUrl) },
      { abortSignal: ctx.signal },
    );
    if (!probe.ok) {
      throw new RotatorError("CURRENT_SECRET_REFUSED", `Entra refuses the current Key Vault secret (${probe.aadsts ? `AADSTS${probe.aadsts}` : probe.error}); ${stale.length} drifted target(s) were not touched`, {
        hint: "The secret in Key Vault no longer works: start an emergency rotation (POST /api/rotations with mode emergency, or `mcp-sso-rotator rotate --emergency`).",
        ...(probe.aadsts ? { aadsts: probe.aadsts } : {}),
      });
    }
    mergeTargets(run, stale);
    await pushSecret(ctx, stale, secret);
    await dropVanishedTargets(run, { gateway, clientId: set.clientId, listed, now: clock.now(), log: ctx.log, abortSignal: ctx.signal });
    await readBackTargets(ctx, listed, secret);
    repaired = liveTargets(run).filter((t) => t.verified).length;
    await ctx.save();
    const left = liveTargets(run).filter((t) => !t.verified);
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
  }

  const retired = await finishPendingRetirement(ctx, current.tags);
  const superseded = await retireSuperseded(ctx, current.tags);
  ctx.log.info(`reconciled: ${repaired} of ${listed.length} target(s) repaired${retired ? `; retired ${retired}` : ""}`);
  const parts = [stale.length > 0 ? `${repaired} of ${listed.length} target(s) repaired and verified` : `all ${listed.length} target(s) hold the current secret`];
  if (retired) parts.push(`retired previous credential ${retired}`);
  if (superseded.length) parts.push(`retired superseded credential(s) ${superseded.join(", ")}`);
  const retiredAny = retired ?? superseded[0];
  return { kind: "done", detail: parts.join("; "), summary: { repaired, ...(retiredAny ? { retired: retiredAny } : {}) } };
}

/** Retires the credential the current version replaced, once its grace period is over. Every target verified already. */
async function finishPendingRetirement(ctx: StepContext, tags: Record<string, string>): Promise<string | undefined> {
  const { set, graph, clock } = ctx.deps;
  const previousKeyId = tags["previousKeyId"];
  if (!previousKeyId || previousKeyId === "none" || previousKeyId === tags["keyId"]) return undefined;
  const app = ctx.facts?.app ?? (await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: ctx.signal }));
  if (!app.passwordCredentials.some((c) => c.keyId === previousKeyId)) return undefined;
  const retireAfter = Date.parse(tags["retireAfter"] ?? "");
  if (Number.isFinite(retireAfter) && clock.now().getTime() < retireAfter) {
    ctx.log.info(`previous credential ${previousKeyId} retires after ${tags["retireAfter"]}`);
    return undefined;
  }
  // The same evidence gate as the run's retire step: an outside consumer of the old secret holds it.
  const evidence = await checkRetirementEvidence({ set, run: ctx.run, previousKeyId, now: clock.now(), force: ctx.run.mode === "emergency", deps: ctx.deps.retirementEvidence, log: ctx.log, abortSignal: ctx.signal });
  if (evidence.kind === "hold") {
    ctx.log.warn(`previous credential ${previousKeyId} kept: ${evidence.note}`);
    return undefined;
  }
  await retireCredential(ctx, previousKeyId, "reconcile");
  return previousKeyId;
}

/**
 * A credential two rotations old: its successor was promoted (its version's `previousKeyId` names
 * it) and that successor's grace period is over, yet it is still on the app — a run failed before
 * retiring it and the next rotation only knew its own previous credential. Every target verified on
 * the current secret already (the caller checked), so nothing uses it (I1); keeping it forever
 * breaks I6 and sprawls (I3). Found by `npm run chaos` (seed 129 of the first campaign).
 */
async function retireSuperseded(ctx: StepContext, currentTags: Record<string, string>): Promise<string[]> {
  const { set, graph, vault, clock } = ctx.deps;
  const keep = new Set([currentTags["keyId"], currentTags["previousKeyId"]]);
  const versions = await vault.listVersions(set.keyVault.secretName, { abortSignal: ctx.signal });
  const app = await graph.getApplication({ appId: set.clientId, objectId: set.applicationObjectId }, { abortSignal: ctx.signal });
  const live = new Set(app.passwordCredentials.map((c) => c.keyId));
  const retired: string[] = [];
  for (const keyId of new Set(versions.map((v) => v.tags["keyId"]).filter((k): k is string => k !== undefined))) {
    if (keep.has(keyId) || !live.has(keyId)) continue;
    const successor = versions.find((v) => v.tags["previousKeyId"] === keyId && v.tags["keyId"] !== keyId);
    const graceOver = successor !== undefined && Number.isFinite(Date.parse(successor.tags["retireAfter"] ?? "")) && clock.now().getTime() >= Date.parse(successor.tags["retireAfter"]!);
    if (!graceOver) continue;
    await retireCredential(ctx, keyId, "reconcile");
    retired.push(keyId);
  }
  return retired;
}
