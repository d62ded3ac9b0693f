import { ensureRotatorError } from "../errors.js";
import { GatewayErrorCode } from "../gateway/errors.js";
import { sameClientId } from "../gateway/match.js";
import type { GatewayAdapter, GatewayTarget } from "../gateway/types.js";
import type { Logger } from "../logging.js";
import type { RunJournal, TargetRecord } from "./model.js";

/**
 * The run's view of its targets. Targets are rediscovered on every pass; one recorded earlier that
 * the gateway no longer lists — deleted, or moved to another client ID — is dropped from the run
 * with the gateway's answer as evidence, so it can never hold the run (and the retirement of the
 * old secret) hostage. DESIGN.md § Targets that vanish.
 */

/** A target the run still has to bring to the new secret (not dropped as gone or moved). */
function isLive(rec: TargetRecord): boolean {
  return rec.outcome === undefined;
}

export function liveTargets(run: RunJournal): TargetRecord[] {
  return run.targets.filter(isLive);
}

/** Adds listed targets the run has not seen yet; a dropped target that reappears is live again. */
export function mergeTargets(run: RunJournal, targets: GatewayTarget[], group = 0): void {
  for (const t of targets) {
    const rec = run.targets.find((r) => r.id === t.id);
    if (!rec) {
      run.targets.push({ id: t.id, name: t.name, updated: false, verified: false, attempts: 0, ...(group ? { group } : {}) });
    } else if (!isLive(rec)) {
      delete rec.outcome;
      delete rec.evidence;
      Object.assign(rec, { updated: false, verified: false });
    }
  }
}

/** Codes with which a write or read-back says the target is no longer ours. */
const VANISHED_CODES: ReadonlySet<string> = new Set([GatewayErrorCode.TargetNotFound, GatewayErrorCode.TargetNotOAuth2, GatewayErrorCode.TargetChanged]);

export interface SettleOptions {
  gateway: GatewayAdapter;
  clientId: string;
  /** This pass's listing: targets on it are live by definition. */
  listed: GatewayTarget[];
  now: Date;
  log: Logger;
  abortSignal?: AbortSignal;
  /** Only this group's records are suspects: another group's are not on this listing by design. */
  group?: number;
}

/**
 * Reads back every live record that the listing lacks (or whose last error says it changed) and
 * drops those the gateway proves are gone or moved. A read that fails for another reason keeps
 * the record: an outage is not evidence. Returns the records dropped by this call.
 */
export async function dropVanishedTargets(run: RunJournal, options: SettleOptions): Promise<TargetRecord[]> {
  const listedIds = new Set(options.listed.map((t) => t.id));
  const suspects = liveTargets(run)
    .filter((r) => (r.group ?? 0) === (options.group ?? 0))
    .filter((r) => !listedIds.has(r.id) || (r.error !== undefined && VANISHED_CODES.has(r.error.code)));
  const dropped: TargetRecord[] = [];
  for (const rec of suspects) {
    const verdict = await classify(rec, options);
    if (!verdict) continue;
    rec.outcome = verdict.outcome;
    rec.evidence = `${verdict.evidence} (checked ${options.now.toISOString()})`;
    rec.updated = false;
    rec.verified = false;
    delete rec.error;
    dropped.push(rec);
    options.log.warn(`target ${rec.name} [target=${rec.id}] dropped from the run as ${verdict.outcome}: ${verdict.evidence}`);
  }
  return dropped;
}

async function classify(rec: TargetRecord, options: SettleOptions): Promise<{ outcome: "gone" | "moved"; evidence: string } | undefined> {
  let fresh: GatewayTarget;
  try {
    fresh = await options.gateway.readTarget(rec.id, options.abortSignal ? { abortSignal: options.abortSignal } : {});
  } catch (e) {
    const err = ensureRotatorError(e);
    if (err.code === "ABORTED" || options.abortSignal?.aborted) throw err;
    if (err.code === GatewayErrorCode.TargetNotFound) return { outcome: "gone", evidence: `the gateway answered 404 (${err.code}) to reading it back` };
    if (err.code === GatewayErrorCode.TargetNotOAuth2)
      return { outcome: "moved", evidence: `its authentication is no longer OAuth2 client credentials (${err.code})` };
    options.log.warn(`target ${rec.name} [target=${rec.id}] is not listed and could not be read back (${err.code}); kept for the next pass`);
    return undefined;
  }
  if (!sameClientId(fresh.clientId, options.clientId)) {
    return { outcome: "moved", evidence: `its client ID is now ${fresh.clientId.slice(0, 8)}…, not the set's` };
  }
  return undefined;
}

/**
 * Targets left on anything but the current secret when a run stops: after promote, every live
 * target not verified, plus every target the plan saw that the run never reached (its listing
 * failed). Before promote the old secret is still the current one, so nothing is stale.
 */
export function staleTargetNames(run: RunJournal): string[] {
  const reconciling = run.plan?.action === "noop";
  if (!run.promotedVersion && !reconciling) return [];
  const names = new Set(
    liveTargets(run)
      .filter((t) => !t.verified)
      .map((t) => t.name),
  );
  if (!reconciling) {
    const reached = new Set(run.targets.map((t) => t.name));
    for (const n of run.plan?.targets.names ?? []) if (!reached.has(n)) names.add(n);
  }
  return [...names].sort();
}
