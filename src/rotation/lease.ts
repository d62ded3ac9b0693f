import { RestError, type ContainerClient } from "@azure/storage-blob";
import { RotatorError } from "../errors.js";
import { mapStorageError } from "../storage/jsonBlobs.js";
import type { Logger } from "../logging.js";

/**
 * The single-writer guarantee (I5): one blob lease per credential set. The lease is renewed while
 * the run works; if renewal fails, the run's AbortSignal fires so it stops writing before another
 * instance could take over.
 */
export interface HeldLease {
  readonly leaseId: string;
  /** Aborted when the lease can no longer be renewed. */
  readonly abortSignal: AbortSignal;
  release(): Promise<void>;
}

export interface AcquireLeaseOptions {
  durationSeconds?: number;
  renewEveryMs?: number;
  logger?: Logger;
  abortSignal?: AbortSignal;
}

/** Renewal attempts before a run stops: one failed request is not a lost lease. */
const RENEW_ATTEMPTS = 3;

export async function acquireSetLease(container: ContainerClient, set: string, options: AcquireLeaseOptions = {}): Promise<HeldLease> {
  const duration = options.durationSeconds ?? 30;
  const blob = container.getBlockBlobClient(`leases/${set}`);
  try {
    await container.createIfNotExists({ abortSignal: options.abortSignal });
    if (!(await blob.exists({ abortSignal: options.abortSignal }))) {
      await blob.upload("", 0, { abortSignal: options.abortSignal, conditions: { ifNoneMatch: "*" } }).catch((e: unknown) => {
        // Another instance created it first; or it is leased already — both fine here.
        if (!(e instanceof RestError && (e.statusCode === 409 || e.statusCode === 412))) throw e;
      });
    }
  } catch (e) {
    throw mapStorageError(e, `prepare lease blob for ${set}`);
  }

  const leaseClient = blob.getBlobLeaseClient();
  try {
    await leaseClient.acquireLease(duration, { abortSignal: options.abortSignal });
  } catch (e) {
    if (e instanceof RestError && e.statusCode === 409) {
      throw new RotatorError("ROTATION_IN_PROGRESS", `A rotation for set "${set}" is already running`, {
        hint: "Wait for the running rotation to finish (GET /api/status shows it); a crashed run's lease expires within a minute.",
        status: 409,
      });
    }
    throw mapStorageError(e, `acquire lease for ${set}`);
  }

  const controller = new AbortController();
  const renewEveryMs = options.renewEveryMs ?? Math.max(1000, (duration * 1000) / 3);
  const lose = (e: unknown): void => {
    options.logger?.error(`lease renewal failed for set ${set}; stopping the run: ${String(e)}`);
    clearInterval(timer);
    controller.abort(
      new RotatorError("LEASE_LOST", `The lease on set "${set}" was lost`, {
        hint: "Storage was unreachable or another instance broke the lease; the next pass resumes from the journal.",
        retryable: true,
      }),
    );
  };
  let renewing = false;
  const renew = async (): Promise<void> => {
    if (renewing) return;
    renewing = true;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await leaseClient.renewLease();
          return;
        } catch (e) {
          // 409/412: another holder has it now — lost for sure. Anything else (a dropped connection,
          // a 5xx) may be one bad request: retry while the lease is still ours, then give up.
          const definite = e instanceof RestError && (e.statusCode === 409 || e.statusCode === 412);
          if (definite || attempt >= RENEW_ATTEMPTS || controller.signal.aborted) return lose(e);
          options.logger?.warn(`lease renewal for set ${set} failed (attempt ${attempt}/${RENEW_ATTEMPTS}); retrying: ${String(e)}`);
          await new Promise((r) => setTimeout(r, Math.min(500, renewEveryMs / 4)));
        }
      }
    } finally {
      renewing = false;
    }
  };
  const timer = setInterval(() => void renew(), renewEveryMs);
  timer.unref();

  return {
    leaseId: leaseClient.leaseId,
    abortSignal: controller.signal,
    async release() {
      clearInterval(timer);
      await leaseClient.releaseLease().catch(() => undefined);
    },
  };
}
