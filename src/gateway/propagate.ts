import { abortableDelay } from "../clock.js";
import { RotatorError, ensureRotatorError, type ErrorSummary } from "../errors.js";
import { silentLogger, type Logger } from "../logging.js";
import { runBounded } from "./bounded.js";
import { GatewayErrorCode } from "./errors.js";
import { provesPickup, type PickupExpectation } from "./proof.js";
import { normaliseUrl, sameClientId } from "./match.js";
import type { GatewayAdapter, GatewayTarget, PickupProof } from "./types.js";

/**
 * Pushing one secret to many targets, and proving afterwards that each holds it. One target's
 * failure never stops the others: every target ends with an outcome the journal records.
 */

export interface TargetOutcome {
  id: string;
  name: string;
  ok: boolean;
  /** PATCH attempts made (0 when the target already held the secret). */
  attempts: number;
  /** The target held the secret before we wrote it (a resumed run, or a write whose answer was lost). */
  alreadyHeld?: boolean;
  /** The ETag after our write, when known. */
  etag?: string;
  error?: ErrorSummary;
}

/** How a target proves it holds the new secret: the group's proof and what promote wrote (default: fingerprint). */
export interface PickupRule {
  proof: PickupProof;
  promotedVersion?: string;
  promotedAt?: number;
}

/** The one proof rule (proof.ts) for `secret` under `rule`. */
function proverFor(secret: string, rule: PickupRule | undefined): (t: GatewayTarget) => boolean {
  const expected: PickupExpectation = {
    secret,
    ...(rule?.promotedVersion !== undefined ? { promotedVersion: rule.promotedVersion } : {}),
    ...(rule?.promotedAt !== undefined ? { promotedAt: rule.promotedAt } : {}),
  };
  return (t) => provesPickup(t, expected, rule?.proof ?? "fingerprint");
}

interface PropagateRetryOptions {
  /** PATCH attempts per target (default 4). */
  maxAttempts?: number;
  baseDelayInMs?: number;
  maxDelayInMs?: number;
}

export interface PropagateOptions {
  adapter: GatewayAdapter;
  targets: GatewayTarget[];
  secret: string;
  maxConcurrency: number;
  abortSignal?: AbortSignal;
  /** Called once per target as soon as it is settled (write its journal entry here). An error thrown here stops the propagation. */
  onTargetDone?: (targetId: string, outcome: TargetOutcome) => void | Promise<void>;
  /** Send If-Match with the ETag last read (default true). */
  useIfMatch?: boolean;
  retry?: PropagateRetryOptions;
  /** Injected by tests so backoff does not slow them down. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  logger?: Logger;
  /** How a target proves it already holds the secret (default: fingerprint). */
  pickup?: PickupRule;
}

const DEFAULT_RETRY: Required<PropagateRetryOptions> = { maxAttempts: 4, baseDelayInMs: 250, maxDelayInMs: 5_000 };

/**
 * Updates every target's client secret with at most `maxConcurrency` writes in flight.
 *
 * Per target: a target whose listed fingerprint already proves it holds the secret is not
 * written. Otherwise PATCH (with If-Match); on a retryable failure, back off, then READ the
 * target before writing again — the lost answer of a PATCH that was applied, or a 412 after
 * our own earlier write, shows up as "already holds the secret" and ends the target as done;
 * a target whose client ID or token URL changed meanwhile is not written (GATEWAY_TARGET_CHANGED);
 * otherwise the fresh ETag is used for the next attempt.
 *
 * Resolves with one outcome per target, in the input order. Rejects only when `signal` aborts
 * or `onTargetDone` throws (after the writes in flight settle).
 */
export async function propagateSecret(options: PropagateOptions): Promise<TargetOutcome[]> {
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const sleep = options.sleep ?? abortableDelay;
  const log = options.logger ?? silentLogger;
  const useIfMatch = options.useIfMatch ?? true;
  const { adapter, secret, abortSignal: signal } = options;
  const proves = proverFor(secret, options.pickup);

  const one = async (target: GatewayTarget): Promise<TargetOutcome> => {
    const outcome: TargetOutcome = { id: target.id, name: target.name, ok: false, attempts: 0 };
    if (proves(target)) return { ...outcome, ok: true, alreadyHeld: true, ...(target.etag ? { etag: target.etag } : {}) };

    let etag = target.etag;
    let lastError: RotatorError | undefined;
    for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
      signal?.throwIfAborted();
      if (lastError) {
        // 412 needs no pause (someone else wrote; a fresh read suffices); anything else backs off.
        if (lastError.code !== GatewayErrorCode.PreconditionFailed) await sleep(backoff(attempt - 1, retry), signal);
        const check = await recheck(adapter, target, proves, signal);
        if (check.kind === "held") return { ...outcome, ok: true, alreadyHeld: true, ...(check.etag ? { etag: check.etag } : {}) };
        if (check.kind === "changed") return { ...outcome, error: scrubSummary(check.error, secret) };
        if (check.kind === "fresh") etag = check.etag;
        // "unreadable": keep the ETag we have; the write will tell.
      }
      outcome.attempts++;
      try {
        const updated = await adapter.updateClientSecret(target.id, secret, {
          ...(useIfMatch && etag ? { ifMatch: etag } : {}),
          ...(signal ? { abortSignal: signal } : {}),
        });
        return { ...outcome, ok: true, ...(updated.etag ? { etag: updated.etag } : {}) };
      } catch (e) {
        const err = failureUnlessAborted(e, signal);
        lastError = err;
        const retryable = err.retryable || err.code === GatewayErrorCode.PreconditionFailed;
        log.warn(
          `target ${target.name} [target=${target.id}] attempt ${attempt}/${retry.maxAttempts} failed: ${err.code}${retryable ? "" : " (not retryable)"}`,
        );
        if (!retryable) break;
      }
    }
    return { ...outcome, error: scrubSummary(lastError!.toJSON(), secret) };
  };

  return runBounded(options.targets, options.maxConcurrency, signal, one, options.onTargetDone);
}

type Recheck = { kind: "held"; etag?: string } | { kind: "changed"; error: ErrorSummary } | { kind: "fresh"; etag?: string } | { kind: "unreadable" };

/** A gateway call's failure, judged per target by the caller — unless the run was cancelled, which ends the whole step. */
function failureUnlessAborted(e: unknown, signal?: AbortSignal): RotatorError {
  const err = ensureRotatorError(e);
  if (err.code === "ABORTED" || signal?.aborted) throw err;
  return err;
}

/** Reads the target again before a retry: does it already hold the secret, and is it still ours? */
async function recheck(adapter: GatewayAdapter, listed: GatewayTarget, proves: (t: GatewayTarget) => boolean, signal?: AbortSignal): Promise<Recheck> {
  let fresh: GatewayTarget;
  try {
    fresh = await adapter.readTarget(listed.id, signal ? { abortSignal: signal } : {});
  } catch (e) {
    const err = failureUnlessAborted(e, signal);
    if (err.code === GatewayErrorCode.TargetNotFound || err.code === GatewayErrorCode.TargetNotOAuth2) return { kind: "changed", error: err.toJSON() };
    return { kind: "unreadable" };
  }
  if (proves(fresh)) return { kind: "held", ...(fresh.etag ? { etag: fresh.etag } : {}) };
  const what: string[] = [];
  if (!sameClientId(fresh.clientId, listed.clientId)) what.push("client ID");
  if (listed.tokenUrl && normaliseUrl(fresh.tokenUrl) !== normaliseUrl(listed.tokenUrl)) what.push("token URL");
  if (what.length > 0) {
    return {
      kind: "changed",
      error: new RotatorError(
        GatewayErrorCode.TargetChanged,
        `Gateway: MCP server ${listed.name} (${listed.id}) changed its ${what.join(" and ")} while the rotation ran; its secret was not written`,
        { hint: "Someone edited this MCP server's Authentication step. Check it in the gateway console; the next run rediscovers targets by client ID." },
      ).toJSON(),
    };
  }
  return { kind: "fresh", ...(fresh.etag ? { etag: fresh.etag } : {}) };
}

// ── verification ───────────────────────────────────────────────────────────────

export interface VerifyOptions {
  adapter: GatewayAdapter;
  targets: GatewayTarget[];
  secret: string;
  clientId: string;
  /** The token URL every target must use; default: the one each target had when listed. */
  expectedTokenUrl?: string;
  /** Also ask the gateway to fetch a token with what it stores (when the adapter can). */
  useTestConnection: boolean;
  maxConcurrency?: number;
  abortSignal?: AbortSignal;
  /** How a target proves it holds the secret (default: fingerprint). */
  pickup?: PickupRule;
}

export interface TargetVerification {
  id: string;
  name: string;
  ok: boolean;
  /** The target proves it holds the secret by the group's proof (the name predates other proofs than the fingerprint). */
  fingerprintMatches: boolean;
  clientIdUnchanged: boolean;
  tokenUrlUnchanged: boolean;
  testConnection?: { ok: boolean; detail: string };
  /** What the target reported of its pickup (status or version proofs), secret-free. */
  pickupDetail?: string;
  error?: ErrorSummary;
}

/**
 * Reads every target back: it proves it holds `secret` (fingerprint), still uses the set's
 * client ID and the expected token URL, and — when asked and the secret matches — the gateway
 * itself fetches a token with it. Never throws for one target; rejects only on abort.
 */
export async function verifyTargets(options: VerifyOptions): Promise<TargetVerification[]> {
  const { adapter, secret, abortSignal: signal } = options;
  const canTest = options.useTestConnection && adapter.testConnection !== undefined;
  const proves = proverFor(secret, options.pickup);

  const one = async (target: GatewayTarget): Promise<TargetVerification> => {
    const result: TargetVerification = {
      id: target.id,
      name: target.name,
      ok: false,
      fingerprintMatches: false,
      clientIdUnchanged: false,
      tokenUrlUnchanged: false,
    };
    let fresh: GatewayTarget;
    try {
      fresh = await adapter.readTarget(target.id, signal ? { abortSignal: signal } : {});
    } catch (e) {
      const err = failureUnlessAborted(e, signal);
      return { ...result, error: scrubSummary(err.toJSON(), secret) };
    }
    result.fingerprintMatches = proves(fresh);
    if (fresh.pickup?.detail) result.pickupDetail = scrub(fresh.pickup.detail, secret);
    result.clientIdUnchanged = sameClientId(fresh.clientId, options.clientId);
    const expectedUrl = options.expectedTokenUrl ?? target.tokenUrl;
    result.tokenUrlUnchanged = normaliseUrl(fresh.tokenUrl) === normaliseUrl(expectedUrl);
    if (canTest && result.fingerprintMatches) {
      try {
        const t = await adapter.testConnection!(target.id, signal ? { abortSignal: signal } : {});
        result.testConnection = { ok: t.ok, detail: scrub(t.detail, secret) };
      } catch (e) {
        const err = failureUnlessAborted(e, signal);
        result.testConnection = { ok: false, detail: scrub(err.message, secret) };
        result.error = scrubSummary(err.toJSON(), secret);
      }
    }
    result.ok = result.fingerprintMatches && result.clientIdUnchanged && result.tokenUrlUnchanged && (result.testConnection?.ok ?? true);
    return result;
  };

  return runBounded(options.targets, options.maxConcurrency ?? 4, signal, one);
}

// ── canary first ───────────────────────────────────────────────────────────────

export interface CanaryPropagateOptions extends PropagateOptions {
  /** How the canary is verified before anyone else is written (same rules as `verifyTargets`). */
  verify: Pick<VerifyOptions, "clientId" | "expectedTokenUrl" | "useTestConnection" | "pickup">;
}

export interface CanaryPropagation {
  /** The target written and verified first; absent when every target already held the secret. */
  canary?: { outcome: TargetOutcome; verification?: TargetVerification };
  /**
   * "passed": the canary verified and every target was attempted; "write-failed": the canary could
   * not be written (the rest untouched, retry later); "verify-failed": the gateway took the write
   * but the canary does not work with it (the rest untouched, stop).
   */
  status: "passed" | "write-failed" | "verify-failed";
  /** One outcome per target attempted (only the canary's when it did not pass), canary first. */
  outcomes: TargetOutcome[];
}

/**
 * Updates one target first, reads it back and lets the gateway fetch a token with it (test
 * connection), and only then the rest. A gateway that silently drops writes, mangles the secret or
 * cannot use it shows up on one server instead of two thousand; every other target stays on the
 * previous secret, which is still valid (the caller must not retire it).
 *
 * The canary is the first target (in the given order) that does not already prove it holds the secret.
 */
export async function propagateCanaryFirst(options: CanaryPropagateOptions): Promise<CanaryPropagation> {
  const { secret } = options;
  const proves = proverFor(secret, options.pickup);
  const canaryTarget = options.targets.find((t) => !proves(t));
  if (!canaryTarget) return { status: "passed", outcomes: await propagateSecret(options) };

  const [outcome] = await propagateSecret({ ...options, targets: [canaryTarget] });
  if (!outcome!.ok) return { canary: { outcome: outcome! }, status: "write-failed", outcomes: [outcome!] };
  const [verification] = await verifyTargets({
    ...options.verify,
    adapter: options.adapter,
    targets: [canaryTarget],
    secret,
    maxConcurrency: 1,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  });
  if (!verification!.ok) return { canary: { outcome: outcome!, verification: verification! }, status: "verify-failed", outcomes: [outcome!] };
  (options.logger ?? silentLogger).info(
    `canary ${canaryTarget.name} [target=${canaryTarget.id}] holds the new secret and passed verification; updating the other ${options.targets.length - 1}`,
  );
  const rest = await propagateSecret({ ...options, targets: options.targets.filter((t) => t !== canaryTarget) });
  return { canary: { outcome: outcome!, verification: verification! }, status: "passed", outcomes: [outcome!, ...rest] };
}

// ── refresh (consumers that read Key Vault themselves) ─────────────────────────

export interface RefreshOutcome {
  id: string;
  name: string;
  /** The target, read after the refresh, proves pickup. */
  ok: boolean;
  /** The consumer cannot be asked (TARGET_REFRESH_REFUSED): the caller falls back to the documented pickup delay. */
  refused?: boolean;
  error?: ErrorSummary;
  /** The target as read after the refresh (which proof it gave goes on its journal entry). */
  after?: GatewayTarget;
}

export interface RefreshOptions {
  adapter: GatewayAdapter;
  targets: GatewayTarget[];
  /** Whether a target read after its refresh proves pickup (the one proof rule, bound by the caller). */
  proves: (t: GatewayTarget) => boolean;
  maxConcurrency: number;
  abortSignal?: AbortSignal;
  onTargetDone?: (targetId: string, outcome: RefreshOutcome) => void | Promise<void>;
  logger?: Logger;
}

/**
 * Asks each consumer to fetch the promoted secret from Key Vault, canary first: a consumer whose
 * identity cannot read the vault shows up on one target, and the rest are not asked until the
 * canary proves pickup (or is refused, which says nothing about the others' access). Resolves with
 * one outcome per target asked; `canaryFailed` when the rest were not asked. Rejects only on abort.
 */
export async function refreshCanaryFirst(options: RefreshOptions): Promise<{ canaryFailed: boolean; outcomes: RefreshOutcome[] }> {
  const { adapter, abortSignal: signal } = options;
  if (!adapter.requestRefresh || options.targets.length === 0) return { canaryFailed: false, outcomes: [] };
  const refresh = adapter.requestRefresh.bind(adapter);
  const one = async (target: GatewayTarget): Promise<RefreshOutcome> => {
    const base = { id: target.id, name: target.name };
    try {
      const after = await refresh(target.id, signal ? { abortSignal: signal } : {});
      const ok = options.proves(after);
      return {
        ...base,
        ok,
        after,
        ...(ok
          ? {}
          : {
              error: new RotatorError(
                "TARGET_REFRESH_FAILED",
                `${target.name} was refreshed but does not report the new secret (${after.pickup?.detail ?? "no status"})`,
                {
                  hint: "The consumer could not fetch the promoted Key Vault version: check its identity's access to the vault; the next pass asks again.",
                },
              ).toJSON(),
            }),
      };
    } catch (e) {
      const err = failureUnlessAborted(e, signal);
      return { ...base, ok: false, ...(err.code === "TARGET_REFRESH_REFUSED" ? { refused: true } : {}), error: err.toJSON() };
    }
  };
  const [first, ...rest] = options.targets;
  const [canary] = await runBounded([first!], 1, signal, one, options.onTargetDone);
  if (!canary!.ok && !canary!.refused) return { canaryFailed: true, outcomes: [canary!] };
  (options.logger ?? silentLogger).info(
    `canary ${canary!.name} [target=${canary!.id}] ${canary!.ok ? "refreshed and proved pickup" : "cannot be asked to refresh"}; refreshing the other ${rest.length}`,
  );
  return { canaryFailed: false, outcomes: [canary!, ...(await runBounded(rest, options.maxConcurrency, signal, one, options.onTargetDone))] };
}

// ── helpers ────────────────────────────────────────────────────────────────────

function backoff(failures: number, r: Required<PropagateRetryOptions>): number {
  const exp = r.baseDelayInMs * 2 ** (failures - 1);
  return Math.min(r.maxDelayInMs, exp / 2 + Math.random() * (exp / 2));
}

function scrub(text: string, secret: string): string {
  return secret ? text.split(secret).join("[REDACTED]") : text;
}

/** Belt and braces: an error text that somehow carries the secret must not reach the journal. */
function scrubSummary(s: ErrorSummary, secret: string): ErrorSummary {
  return { ...s, message: scrub(s.message, secret), hint: scrub(s.hint, secret) };
}
