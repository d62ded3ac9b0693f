import type { CredentialSet } from "../config/schema.js";
import type { AppRegistration, PasswordCredential } from "../entra/types.js";
import type { SecretVersion } from "../vault/types.js";
import type { RotationJournalStore } from "./journal.js";
import { managedDisplayNamePrefix } from "./policy.js";

/**
 * Orphans (DESIGN.md § Orphan sweep): credentials created by a run that died before the stash (or
 * whose rollback could not remove them). Only such a credential's value can be held by nobody.
 * A credential that was ever promoted is never an orphan, whatever the state of Key Vault now:
 *   - a version of the secret, enabled OR disabled, carries its keyId (an administrator disabling
 *     the current version does not make its credential unused — issue 23), or
 *   - a run journal records its promotion, or the set's state names it current (the secret itself
 *     may have been deleted).
 * One still stashed (an enabled pending version holds it) belongs to a run in progress.
 */

/** Credentials this service created (display name `mcp-sso-rotator/<set>/<runId>`) that Key Vault shows no sign of promotion or stash for. */
export function orphanCandidates(set: CredentialSet, facts: OrphanFacts): PasswordCredential[] {
  const prefix = managedDisplayNamePrefix(set.name);
  const promoted = new Set(facts.versions.map((v) => v.tags["keyId"]).filter((k): k is string => !!k));
  const stashed = new Set(facts.pendingVersions.filter((v) => v.enabled && v.tags["keyId"]).map((v) => v.tags["keyId"]));
  return facts.app.passwordCredentials.filter((c) => (c.displayName ?? "").startsWith(prefix) && !promoted.has(c.keyId) && !stashed.has(c.keyId));
}

/** The part of the planner's facts an orphan is judged by (src/rotation/planner.ts Facts). */
export interface OrphanFacts {
  app: AppRegistration;
  /** Every version of the secret, enabled or not. */
  versions: readonly SecretVersion[];
  /** Every version of its pending companion. */
  pendingVersions: readonly SecretVersion[];
}

/** The shape of RotationJournalStore.newRunId. */
const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

/** What the journals know about promotions, for the planner: keyIds some run promoted, and the one the set's state names current. */
export interface PromotionRecord {
  promotedKeyIds: ReadonlySet<string>;
  recordedCurrentKeyId?: string;
}

export async function readPromotionRecord(
  journals: RotationJournalStore,
  set: CredentialSet,
  facts: OrphanFacts,
  abortSignal?: AbortSignal,
): Promise<PromotionRecord> {
  const state = await journals.readState(set.name, abortSignal);
  const promoted = new Set<string>();
  if (state.currentKeyId) promoted.add(state.currentKeyId);
  const prefix = managedDisplayNamePrefix(set.name);
  // Candidates are rare (a crash before the stash): reading each one's journal costs nothing in the common case.
  for (const c of orphanCandidates(set, facts)) {
    const runId = (c.displayName ?? "").slice(prefix.length);
    // A display name is anyone's to write on the app: only a run ID of ours names a journal.
    if (!RUN_ID.test(runId)) continue;
    const run = await journals.readRun(set.name, runId, abortSignal);
    if (run?.promotedVersion && run.newCredential?.keyId === c.keyId) promoted.add(c.keyId);
  }
  return { promotedKeyIds: promoted, ...(state.currentKeyId ? { recordedCurrentKeyId: state.currentKeyId } : {}) };
}
