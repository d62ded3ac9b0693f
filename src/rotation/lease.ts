import { RestError, type ContainerClient } from "@azure/storage-blob";
import { RotatorError } from "../errors.js";
import { storageError } from "../storage/jsonBlobs.js";
import type { Logger } from "../logging.js";

/**
 * The single-writer guarantee (I5): one blob lease per credential set. The lease is renewed while
 * the run works; if renewal fails, the run's AbortSignal fires so it stops writing before another
 * instance could take over.
 */
export interface HeldLease {
  readonly leaseId: string;
  /** Aborted when the lease can no longer be renewed. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export interface AcquireLeaseOptions {
  durationSeconds?: number;
  renewEveryMs?: number;
  logger?: Logger;
  abortSignal?: AbortSignal;
}

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
    throw storageError(e, `prepare lease blob for ${set}`);
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
    throw storageError(e, `acquire lease for ${set}`);
  }

  const controller = new AbortController();
  const timer = setInterval(() => {
    leaseClient.renewLease().catch((e: unknown) => {
      options.logger?.error(`lease renewal failed for set ${set}; stopping the run: ${String(e)}`);
      clearInterval(timer);
      controller.abort(
        new RotatorError("LEASE_LOST", `The lease on set "${set}" was lost`, {
          hint: "Storage was unreachable or another instance broke the lease; the next pass resumes from the journal.",
          retryable: true,
        }),
      );
    });
  }, options.renewEveryMs ?? Math.max(1000, (duration * 1000) / 3));
  timer.unref();

  return {
    leaseId: leaseClient.leaseId,
    signal: controller.signal,
    async release() {
      clearInterval(timer);
      await leaseClient.releaseLease().catch(() => undefined);
    },
  };
}
