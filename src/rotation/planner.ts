import type { CredentialSet } from "../config/schema.js";
import { RotatorError } from "../errors.js";
import type { AppManagementPolicy, AppRegistration, PasswordCredential, TokenEndpointClient } from "../entra/types.js";
import type { GatewayTarget } from "../gateway/types.js";
import type { SecretVersion } from "../vault/types.js";
import type { CredentialRef, Plan, RotationMode } from "./model.js";
import { daysBetween, effectiveLifetimeDays, managedDisplayNamePrefix, renewalDueAt, renewalWindow } from "./policy.js";
import { tokenUrlFor } from "../entra/token.js";
import { graphScope } from "../entra/scope.js";
import { orphanCandidates, type PromotionRecord } from "./orphans.js";

/** Everything the planner looks at, read once per pass. */
export interface Facts {
  app: AppRegistration;
  policy: AppManagementPolicy;
  /** Latest enabled version of the secret, with its value (undefined: no secret yet). */
  current?: SecretVersion;
  /** Properties of every version of the secret and of its pending companion. */
  versions: SecretVersion[];
  pendingVersions: SecretVersion[];
  targets: GatewayTarget[];
}

export interface AdoptionResult {
  status: NonNullable<Plan["adoption"]>["status"];
  keyId?: string;
  detail: string;
}

const toRef = (c: PasswordCredential): CredentialRef => ({
  keyId: c.keyId,
  hint: c.hint,
  endDateTime: c.endDateTime,
  displayName: c.displayName,
});

/**
 * The current version disabled (or the secret deleted) by hand while its credential is still on
 * the app: Key Vault readers get nothing (or an older secret) now, but the credential was promoted
 * and targets or other consumers may use it. Never "no secret yet", never an orphan (issue 23).
 */
export interface VaultCurrentProblem {
  state: "disabled" | "deleted";
  keyId: string;
  version?: string;
}

function vaultCurrentProblem(facts: Pick<Facts, "app" | "current" | "versions">, recordedCurrentKeyId?: string): VaultCurrentProblem | undefined {
  const onApp = new Set(facts.app.passwordCredentials.map((c) => c.keyId));
  const enabledKeys = new Set(facts.versions.filter((v) => v.enabled).map((v) => v.tags["keyId"]));
  // A credential a later promotion names as its previous one is not current, whatever its version's state.
  const superseded = new Set(facts.versions.map((v) => v.tags["previousKeyId"]));
  const currentKeyId = facts.current?.tags["keyId"];
  const disabled = facts.versions.find((v) => {
    const keyId = v.tags["keyId"];
    if (v.enabled || !keyId || !onApp.has(keyId) || enabledKeys.has(keyId) || superseded.has(keyId)) return false;
    // Newer than whatever Key Vault serves now: nothing served, what it serves is the one it replaced,
    // or created after it (an emergency that replaced a credential removed by hand names no previous one
    // Key Vault still serves, and that older version stays enabled).
    if (currentKeyId === undefined) return !facts.current;
    const servedAt = facts.current?.createdOn?.getTime();
    return v.tags["previousKeyId"] === currentKeyId || (servedAt !== undefined && (v.createdOn?.getTime() ?? 0) > servedAt);
  });
  if (disabled) return { state: "disabled", keyId: disabled.tags["keyId"]!, version: disabled.version };
  if (facts.versions.length === 0 && recordedCurrentKeyId && onApp.has(recordedCurrentKeyId)) return { state: "deleted", keyId: recordedCurrentKeyId };
  return undefined;
}

/** What a VaultCurrentProblem is, and the remedy, in words (the plan's reason and the error's hint share it). */
export function describeVaultProblem(set: CredentialSet, p: VaultCurrentProblem): { what: string; remedy: string } {
  const name = set.keyVault.secretName;
  return p.state === "disabled"
    ? {
        what: `Key Vault's current version ${p.version} of '${name}' (credential ${p.keyId}, still on the app) is disabled`,
        remedy: `re-enable that version (az keyvault secret set-attributes --vault-name <vault> --name ${name} --version ${p.version} --enabled true), or run an emergency rotation (mcp-sso-rotator rotate --set ${set.name} --emergency) to replace it`,
      }
    : {
        what: `the Key Vault secret '${name}' is gone (deleted?) while credential ${p.keyId}, which a run promoted into it, is still on the app`,
        remedy: `recover the secret from soft delete (az keyvault secret recover --vault-name <vault> --name ${name}), or run an emergency rotation (mcp-sso-rotator rotate --set ${set.name} --emergency) once the name can be written`,
      };
}

/** Credentials this service created for the set, or adopted (a Key Vault version names its keyId). */
function managedCredentials(set: CredentialSet, facts: Pick<Facts, "app" | "versions">): PasswordCredential[] {
  const tracked = new Set(facts.versions.map((v) => v.tags["keyId"]).filter((k): k is string => !!k));
  const prefix = managedDisplayNamePrefix(set.name);
  return facts.app.passwordCredentials.filter((c) => (c.displayName ?? "").startsWith(prefix) || tracked.has(c.keyId));
}

/**
 * Identifies which credential a hand-made Key Vault secret is: it must work at the token endpoint,
 * and its hint (first three characters) plus end date must single out one credential — or the
 * operator names it with `secret.adoptKeyId`. Anything else is reported, never guessed.
 */
export async function identifyAdoption(set: CredentialSet, facts: Facts, token: TokenEndpointClient, abortSignal?: AbortSignal): Promise<AdoptionResult> {
  const current = facts.current;
  if (!current?.value) return { status: "unidentified", detail: "Key Vault holds no readable secret to adopt" };
  const probe = await token.requestToken(
    { tokenUrl: tokenUrlFor(set.authorityHost, set.tenantId), clientId: set.clientId, clientSecret: current.value, scope: graphScope(set.graphBaseUrl) },
    { abortSignal },
  );
  if (!probe.ok) {
    return {
      status: "not-working",
      detail: `the secret in Key Vault is refused by Entra (${probe.aadsts ? `AADSTS${probe.aadsts}` : probe.error}); it is not adopted`,
    };
  }
  const hint = current.value.slice(0, 3);
  const candidates = facts.app.passwordCredentials.filter((c) => c.hint === hint);
  const adoptKeyId = set.secret.adoptKeyId;
  if (adoptKeyId) {
    const named = candidates.find((c) => c.keyId.toLowerCase() === adoptKeyId.toLowerCase());
    return named
      ? { status: "adopted", keyId: named.keyId, detail: `adopted keyId ${named.keyId} named by secret.adoptKeyId` }
      : {
          status: "ambiguous",
          detail: `secret.adoptKeyId ${adoptKeyId} is not a credential of the app whose hint matches the Key Vault secret — fix adoptKeyId`,
        };
  }
  // Never choose among same-hint candidates by dates: an expiry that matches is a coincidence as
  // likely as a proof, and retiring the wrong one is an outage. Ambiguity is reported instead.
  if (candidates.length === 1) {
    const c = candidates[0]!;
    return { status: "adopted", keyId: c.keyId, detail: `adopted keyId ${c.keyId} (hint ${hint}…, ends ${c.endDateTime})` };
  }
  if (candidates.length === 0) {
    return { status: "unidentified", detail: `no credential of the app has hint ${hint}…; the Key Vault secret belongs to another app?` };
  }
  return {
    status: "ambiguous",
    detail:
      `${candidates.length} credentials share hint ${hint}… (${candidates.map((c) => c.keyId).join(", ")}); ` +
      `set secret.adoptKeyId to the right one — nothing will be retired until then`,
  };
}

export interface PlanInput {
  set: CredentialSet;
  facts: Facts;
  mode: RotationMode;
  now: Date;
  adoption?: AdoptionResult;
  /** What the journals know about promotions (src/rotation/orphans.ts); none read: nothing is an orphan but by Key Vault's record. */
  record?: PromotionRecord;
}

export function makePlan({ set, facts, mode, now, adoption, record }: PlanInput): Plan {
  // New secrets live as long as the effective policy allows; the renewal window follows that
  // lifetime, or a cap below the window would make every fresh secret due at once.
  const lifetimeDays = effectiveLifetimeDays(set, facts.policy.maxPasswordLifetimeDays);
  const clampedByPolicyDays = lifetimeDays < set.secret.lifetimeDays ? lifetimeDays : undefined;
  const renewal = renewalWindow(set, lifetimeDays);
  const window = renewal.days;
  const managed = managedCredentials(set, facts);
  const vaultProblem = vaultCurrentProblem(facts, record?.recordedCurrentKeyId);
  const currentKeyId = vaultProblem?.keyId ?? facts.current?.tags["keyId"] ?? (adoption?.status === "adopted" ? adoption.keyId : undefined);
  const currentCred = currentKeyId ? facts.app.passwordCredentials.find((c) => c.keyId === currentKeyId) : undefined;
  const managedIds = new Set([...managed.map((c) => c.keyId), ...(currentKeyId ? [currentKeyId] : [])]);
  const promoted = record?.promotedKeyIds ?? new Set<string>();
  const orphans = orphanCandidates(set, facts)
    .filter((c) => !promoted.has(c.keyId) && c.keyId !== currentKeyId)
    .map(toRef);
  const unmanaged = facts.app.passwordCredentials
    .filter((c) => !managedIds.has(c.keyId))
    .map((c) => ({ ...toRef(c), daysLeft: round1(daysBetween(now, new Date(c.endDateTime))) }));

  const decided = decide({ facts, mode, now, adoption, currentCred, window, renewalBasis: renewal.basis });
  const { current } = decided;
  let { action, reason } = decided;
  if (vaultProblem) {
    // Reported for what it is. A scheduled pass changes nothing (the pass fails with
    // VAULT_CURRENT_DISABLED); an operator's forced or emergency rotation replaces the credential,
    // which then retires through the retirement rule like any previous one.
    const { what, remedy } = describeVaultProblem(set, vaultProblem);
    action = mode === "scheduled" ? "noop" : "rotate";
    reason = mode === "scheduled" ? `${what}: ${remedy}` : `${mode} rotation requested; ${what}`;
  }

  const plan: Plan = {
    action,
    reason,
    mode,
    current,
    ...(vaultProblem ? { vaultProblem } : {}),
    renewWindowDays: round1(window),
    renewWindowBasis: renewal.basis,
    ...(renewal.renewBeforeClamped ? { renewBeforeClamped: renewal.renewBeforeClamped } : {}),
    renewDueAt: currentCred ? renewalDueAt(currentCred.endDateTime, window) : undefined,
    lifetimeDays,
    clampedByPolicyDays,
    policy: { source: facts.policy.source, detail: facts.policy.detail },
    gracePeriodHours: mode === "emergency" ? 0 : set.secret.gracePeriodHours,
    targets: { total: facts.targets.length, names: facts.targets.map((t) => t.name) },
    unmanagedCredentials: unmanaged,
    orphans,
    adoption: adoption ? { status: adoption.status, keyId: adoption.keyId, detail: adoption.detail } : undefined,
  };
  if (plan.action === "rotate" && facts.policy.passwordAdditionBlocked) {
    throw new RotatorError(
      "POLICY_BLOCKS_PASSWORD_ADDITION",
      `The app management policy in effect forbids adding client secrets to app ${set.clientId}: ${facts.policy.detail}`,
      {
        hint:
          "Ask a tenant admin to exempt this app from the passwordAddition restriction (an appManagementPolicy assigned to the app, " +
          "or restrictForAppsCreatedAfterDateTime after the app's creation). Nothing was created.",
        upstreamCode: "CredentialTypeNotAllowedAsPerAppPolicy",
      },
    );
  }
  return plan;
}

/**
 * Whether this pass rotates, and why: a non-scheduled mode always does; otherwise the current
 * credential's days left against the renewal window, or — without an identified current
 * credential — what Key Vault holds (nothing, a vanished credential, a hand-made secret).
 */
function decide(o: {
  facts: Facts;
  mode: RotationMode;
  now: Date;
  adoption?: AdoptionResult;
  currentCred?: PasswordCredential;
  window: number;
  renewalBasis: string;
}): Pick<Plan, "action" | "reason" | "current"> {
  const { facts, mode, now, adoption, currentCred, window, renewalBasis } = o;
  let action: Plan["action"] = "noop";
  let reason: string;
  let current: Plan["current"];
  if (currentCred) {
    const daysLeft = daysBetween(now, new Date(currentCred.endDateTime));
    current = {
      ...toRef(currentCred),
      daysLeft: round1(daysLeft),
      adopted: adoption?.status === "adopted",
      managed: true,
    };
    if (mode !== "scheduled") {
      action = "rotate";
      reason = `${mode} rotation requested`;
    } else if (daysLeft < window) {
      action = "rotate";
      reason = `current secret expires in ${round1(daysLeft)} days, inside the ${round1(window)}-day renewal window (${renewalBasis})`;
    } else {
      reason = `current secret has ${round1(daysLeft)} days left; renewal is due at ${round1(window)} days (${renewalBasis})`;
    }
  } else if (facts.current?.tags["keyId"]) {
    action = "rotate";
    reason = `the credential ${facts.current.tags["keyId"]} that Key Vault holds no longer exists on the app`;
  } else if (!facts.current) {
    action = "rotate";
    reason = "Key Vault holds no secret for this set yet";
  } else {
    // A hand-made secret that could not be identified: rotate only when it is broken or
    // plausibly near expiry (the earliest end date among matching credentials), never retire it.
    action = "rotate";
    reason = `the Key Vault secret could not be adopted (${adoption?.status ?? "unidentified"}); a managed secret replaces it`;
    if (adoption?.status === "ambiguous" && mode === "scheduled") {
      const hint = facts.current.value?.slice(0, 3);
      const ends = facts.app.passwordCredentials.filter((c) => c.hint === hint).map((c) => Date.parse(c.endDateTime));
      const earliest = ends.length ? Math.min(...ends) : now.getTime();
      const daysLeft = daysBetween(now, new Date(earliest));
      if (daysLeft >= window) {
        action = "noop";
        reason = `the Key Vault secret is ambiguous (${adoption.detail}) but every candidate has ≥ ${round1(daysLeft)} days left`;
      }
    }
  }
  return { action, reason, current };
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
