import type { PasswordCredential } from "../../entra/types.js";
import { effectiveLifetimeDays, managedDisplayNamePrefix, renewalDueAt, renewalWindow } from "../../rotation/policy.js";
import { appOrFinding, daysLeft, maybe, type CheckDefinition } from "../context.js";
import { Findings } from "../findings.js";
import type { Evidence } from "../model.js";
import type { SecretVersion } from "../../vault/types.js";
import { EMERGENCY_HINT } from "./token.js";

/**
 * Every password credential of the app with the days it has left. The current one is the
 * credential Key Vault's latest version names (tag `keyId`), or — for a hand-made secret not yet
 * adopted — the single credential whose hint matches its first three characters. It is judged
 * against the renewal window; credentials this service does not manage are reported, never touched.
 */
export const expiryCheck: CheckDefinition = {
  id: "expiry",
  title: "Expiry horizon of every client secret",
  async run(ctx, f) {
    const { set, now, tuning } = ctx;
    const evidence: Evidence = {};
    const app = await appOrFinding(ctx, f);
    if (!app) return f.outcome("", evidence);
    const secret = maybe(await ctx.shared.secret(), evidence, "keyVaultSecret");
    // The window follows the lifetime new secrets really get; without the policy, the configured one.
    const policy = maybe(await ctx.shared.policy(), evidence, "appManagementPolicy");
    const renewal = renewalWindow(set, effectiveLifetimeDays(set, policy?.maxPasswordLifetimeDays));
    const window = renewal.days;
    evidence.renewWindowDays = Math.round(window * 10) / 10;
    evidence.renewWindowBasis = renewal.basis;

    const creds = [...app.passwordCredentials].sort((a, b) => Date.parse(a.endDateTime) - Date.parse(b.endDateTime));
    const { current, adopted } = currentCredential(set.clientId, secret, creds, f, evidence);
    const currentLine = current ? judgeCurrent(current, adopted, { now, window, expiryErrorDays: tuning.expiryErrorDays }, f, evidence) : undefined;
    listCredentials(creds, { current, previousKeyId: secret?.tags["previousKeyId"], prefix: managedDisplayNamePrefix(set.name), now, window }, f, evidence);

    return f.outcome(currentLine ? `${currentLine}; ${creds.length} credential(s) on the app` : `${creds.length} credential(s) on the app`, evidence);
  },
};

/**
 * The credential Key Vault's current secret is: the one its `keyId` tag names, or — for a
 * hand-made secret not yet adopted — the one whose hint matches its first three characters
 * (the earliest ending, when hints collide and the expiry dates do not tell them apart).
 */
function currentCredential(
  clientId: string,
  secret: SecretVersion | undefined,
  creds: readonly PasswordCredential[],
  f: Findings,
  evidence: Evidence,
): { current?: PasswordCredential; adopted: boolean } {
  const keyId = secret?.tags["keyId"];
  if (keyId) {
    const current = creds.find((c) => c.keyId.toLowerCase() === keyId.toLowerCase());
    if (!current) {
      f.fail(
        "critical",
        `Key Vault's current secret is credential ${keyId}, which no longer exists on the app — Entra refuses it (AADSTS7000215)`,
        `Someone removed the credential from the app registration. ${EMERGENCY_HINT}`,
        7000215,
      );
    }
    return { current, adopted: true };
  }
  if (secret?.value) {
    const hint = secret.value.slice(0, 3);
    let candidates = creds.filter((c) => c.hint === hint);
    if (candidates.length > 1 && secret.expiresOn) {
      const exp = secret.expiresOn.getTime();
      const byDate = candidates.filter((c) => Math.abs(Date.parse(c.endDateTime) - exp) < 86_400_000);
      if (byDate.length) candidates = byDate;
    }
    if (candidates.length === 0) {
      f.fail(
        "critical",
        `no credential of the app has the hint ${hint}… of the Key Vault secret — it is not a secret of this app (AADSTS7000215)`,
        `Store a current secret VALUE of app ${clientId} in Key Vault (not its secret ID, not another app's secret). ${EMERGENCY_HINT}`,
        7000215,
      );
      return { adopted: false };
    }
    // Ambiguous hints: judge by the earliest end date, the cautious choice.
    if (candidates.length > 1) evidence.currentAmbiguousAmong = candidates.map((c) => c.keyId);
    return { current: candidates[0], adopted: false };
  }
  if (secret === undefined && !("keyVaultSecret" in evidence)) evidence.keyVaultSecret = "none";
  return { adopted: true };
}

/** Judges the current credential's days left against the renewal window; returns the summary's line about it. */
function judgeCurrent(
  current: PasswordCredential,
  adopted: boolean,
  horizon: { now: Date; window: number; expiryErrorDays: number },
  f: Findings,
  evidence: Evidence,
): string {
  const left = daysLeft(horizon.now, current.endDateTime);
  const renewDueAt = renewalDueAt(current.endDateTime, horizon.window);
  evidence.currentKeyId = current.keyId;
  evidence.currentAdopted = adopted;
  evidence.currentEndDateTime = current.endDateTime;
  evidence.currentDaysLeft = left;
  evidence.renewDueAt = renewDueAt;
  if (left <= 0) {
    f.fail("critical", `the current secret (hint ${current.hint ?? "?"}…) expired on ${current.endDateTime} (AADSTS7000222)`, EMERGENCY_HINT, 7000222);
  } else if (left < horizon.expiryErrorDays) {
    f.fail(
      "error",
      `the current secret expires in ${left} days (${current.endDateTime}); renewal was due on ${renewDueAt}`,
      `Rotation is overdue: check the rotation check and the last run's error, then run a forced rotation (POST /api/rotations {"mode": "force"}).`,
    );
  } else if (left < horizon.window) {
    f.warn(
      "warning",
      `the current secret expires in ${left} days, inside the ${Math.round(horizon.window * 10) / 10}-day renewal window (due since ${renewDueAt})`,
      "The next scheduled rotation renews it; if none runs, check the rotation timer and the rotation check.",
    );
  }
  return `the current secret has ${left} days left (renewal due ${renewDueAt})`;
}

/** Lists every credential with its role, and reports those this service does not manage that expire soon or have expired. */
function listCredentials(
  creds: readonly PasswordCredential[],
  o: { current?: PasswordCredential; previousKeyId?: string; prefix: string; now: Date; window: number },
  f: Findings,
  evidence: Evidence,
): void {
  const lines: string[] = [];
  const unmanagedSoon: string[] = [];
  const unmanagedExpired: string[] = [];
  for (const c of creds) {
    const left = daysLeft(o.now, c.endDateTime);
    const isCurrent = o.current?.keyId === c.keyId;
    const isPrevious = o.previousKeyId !== undefined && o.previousKeyId.toLowerCase() === c.keyId.toLowerCase();
    const managed = isCurrent || isPrevious || (c.displayName ?? "").startsWith(o.prefix);
    const role = isCurrent ? "current" : isPrevious ? "previous" : managed ? "managed" : "unmanaged";
    lines.push(`${role} ${c.keyId} hint ${c.hint ?? "?"}… "${c.displayName ?? ""}" ends ${c.endDateTime} (${left} days)`);
    if (managed) continue;
    const label = `${c.keyId} ("${c.displayName ?? "no name"}", hint ${c.hint ?? "?"}…)`;
    if (left <= 0) unmanagedExpired.push(label);
    else if (left < o.window) unmanagedSoon.push(`${label} in ${left} days`);
  }
  evidence.credentials = lines;
  if (unmanagedSoon.length) {
    f.warn(
      "info",
      `credential(s) not managed by this service expire soon: ${unmanagedSoon.join("; ")}`,
      "This service never changes them. If anything besides the gateway uses them, renew them there; otherwise delete them from the app registration.",
    );
  }
  if (unmanagedExpired.length) {
    f.warn(
      "info",
      `expired credential(s) not managed by this service remain on the app: ${unmanagedExpired.join("; ")}`,
      "Delete them from Certificates & secrets once nothing refers to them; this service never deletes what it did not create.",
    );
  }
}
