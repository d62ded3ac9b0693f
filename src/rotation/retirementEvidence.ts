import type { CredentialSet } from "../config/schema.js";
import type { SignInActivityApi } from "../entra/signInActivity.js";
import { ensureRotatorError } from "../errors.js";
import type { Logger } from "../logging.js";

/**
 * Usage-aware retirement: before `removePassword(previous)`, ask Entra when the previous credential
 * last signed in (Graph beta appCredentialSignInActivities). A sign-in after every target was
 * verified means something outside the gateway still uses the old secret: hold retirement and open
 * an incident saying when and what to do, until it has been quiet for the configured period or an
 * operator forces it (an emergency). No row is "unknown", not "unused": the grace period rules, and
 * the journal says so. A missing AuditLog.Read.All or P1/P2 licence is a warning, never a failure.
 */
export const RETIRE_HELD_CHECK = "retire-held";

interface SignInEvidenceSettings {
  enabled: boolean;
  /** A held credential is retired once it has not signed in for this long. */
  quietPeriodHours: number;
  /** How far the report may lag the sign-ins it counts. */
  reportLatencyHours: number;
}

const SIGN_IN_EVIDENCE_DEFAULTS: SignInEvidenceSettings = { enabled: true, quietPeriodHours: 24, reportLatencyHours: 4 };

function signInEvidenceSettings(set: CredentialSet): SignInEvidenceSettings {
  const s = set.signInEvidence ?? {};
  return {
    enabled: s.enabled ?? SIGN_IN_EVIDENCE_DEFAULTS.enabled,
    quietPeriodHours: s.quietPeriodHours ?? SIGN_IN_EVIDENCE_DEFAULTS.quietPeriodHours,
    reportLatencyHours: s.reportLatencyHours ?? SIGN_IN_EVIDENCE_DEFAULTS.reportLatencyHours,
  };
}

/** The held-retirement finding an incident carries: when, which key, and what to do. */
interface RetirementHold {
  keyId: string;
  lastSignInAt: string;
  targetsVerifiedAt: string;
  /** The earliest time a quiet credential would be retired. */
  retireNoEarlierThan: string;
  hint: string;
}

export interface RetirementEvidenceDeps {
  signIns: Pick<SignInActivityApi, "credentialLastSignIn">;
  /** Opens or updates the set's retire-held incident; `undefined` resolves it. */
  reportHold?(set: string, hold: RetirementHold | undefined, runId: string): Promise<void>;
}

export type RetirementDecision =
  | { kind: "retire"; basis: "quiet" | "quiet-period" | "unknown" | "unavailable" | "forced" | "off"; note: string }
  | { kind: "hold"; hold: RetirementHold; note: string };

export interface RetirementEvidenceInput {
  set: CredentialSet;
  /** The run deciding, named on the retire-held incident. */
  runId: string;
  /** When every target held the newer secret: a sign-in after it is an outside consumer. */
  targetsVerifiedAt: string;
  previousKeyId: string;
  now: Date;
  /** An operator's emergency: the old secret goes now, whatever the evidence says. */
  force: boolean;
  deps?: RetirementEvidenceDeps;
  log: Logger;
  abortSignal?: AbortSignal;
}

const HOUR = 3_600_000;

export async function checkRetirementEvidence(input: RetirementEvidenceInput): Promise<RetirementDecision> {
  const { set, runId, previousKeyId: keyId, now, deps, log } = input;
  const settings = signInEvidenceSettings(set);
  const decide = async (d: RetirementDecision): Promise<RetirementDecision> => {
    if (d.kind === "retire" && d.basis === "unavailable") log.warn(`retire ${keyId}: ${d.note}`);
    else if (d.kind === "retire") log.info(`retire ${keyId}: ${d.note}`);
    else log.warn(`retirement of ${keyId} held: ${d.note}`);
    // A failing alert channel never blocks rotation.
    await deps
      ?.reportHold?.(set.name, d.kind === "hold" ? d.hold : undefined, runId)
      .catch((e: unknown) => log.warn(`retire-held incident could not be reported: ${ensureRotatorError(e).message}`));
    return d;
  };
  if (!deps || !settings.enabled) return { kind: "retire", basis: "off", note: "sign-in evidence is not enabled; the grace period rules" };
  if (input.force) return decide({ kind: "retire", basis: "forced", note: "emergency: retired without consulting sign-in evidence" });

  let last: string | undefined;
  try {
    last = (await deps.signIns.credentialLastSignIn(set.clientId, keyId, { abortSignal: input.abortSignal }))?.lastSignInDateTime;
  } catch (e) {
    const err = ensureRotatorError(e);
    if (err.code === "ABORTED") throw err;
    return decide({
      kind: "retire",
      basis: "unavailable",
      note: `sign-in evidence unavailable (${err.code}: ${err.message}) — ${err.hint} Retiring on the grace period.`,
    });
  }
  const verifiedAt = input.targetsVerifiedAt;
  if (!last) {
    return decide({
      kind: "retire",
      basis: "unknown",
      note: `Entra has no sign-in activity for ${keyId}: usage unknown (not proven unused); retiring on the grace period`,
    });
  }
  const lastMs = Date.parse(last);
  if (lastMs <= Date.parse(verifiedAt)) {
    const settled = now.getTime() >= Date.parse(verifiedAt) + settings.reportLatencyHours * HOUR;
    return decide({
      kind: "retire",
      basis: settled ? "quiet" : "unknown",
      note: settled
        ? `last sign-in ${last}, before every target was verified (${verifiedAt}): nobody else uses it`
        : `last sign-in ${last}, before every target was verified (${verifiedAt}); the report may still lag (${settings.reportLatencyHours} h), so the grace period rules`,
    });
  }
  const quietFor = now.getTime() - lastMs;
  const needed = Math.max(settings.quietPeriodHours, settings.reportLatencyHours) * HOUR;
  if (quietFor >= needed) {
    return decide({
      kind: "retire",
      basis: "quiet-period",
      note: `last sign-in ${last} after the targets were verified, but quiet for ${Math.floor(quietFor / HOUR)} h (≥ ${needed / HOUR} h)`,
    });
  }
  const retireNoEarlierThan = new Date(lastMs + needed).toISOString();
  const hold: RetirementHold = {
    keyId,
    lastSignInAt: last,
    targetsVerifiedAt: verifiedAt,
    retireNoEarlierThan,
    hint:
      `Something outside the gateway still signs in with the previous client secret (key ${keyId}) of app ${set.clientId}: Entra saw it at ${last}, after every gateway target held the new one (${verifiedAt}). ` +
      `Find it in the Entra sign-in logs (Service principal sign-ins, filter by application ID ${set.clientId}, credential key ID ${keyId}) and give it the current secret from Key Vault (${set.keyVault.secretName}). ` +
      `Retirement waits until the key has been quiet for ${needed / HOUR} h (not before ${retireNoEarlierThan}); POST /api/rotations with mode "emergency" retires it now.`,
  };
  return decide({
    kind: "hold",
    hold,
    note: `previous key ${keyId} signed in at ${last}, after every target was verified (${verifiedAt}); waiting until ${retireNoEarlierThan}`,
  });
}
