import type { TokenCredential } from "@azure/core-auth";
import type { RequestPolicy, RequestPolicyFactory } from "@azure/core-http-compat";
import { BlobServiceClient, ContainerClient, newPipeline, type StoragePipelineOptions } from "@azure/storage-blob";

/**
 * The Function App's Storage container (journals, state, leases, requests, incidents).
 *
 * Every request carries a client-side timeout. The Storage SDK's own `tryTimeoutInMs` only asks
 * the *server* to give up (`?timeout=`); a connection that never answers held a pass — and its
 * lease — until the host killed the invocation (found by `npm run chaos`). The timeout is the
 * HTTP client's inactivity timeout, so a long download that keeps moving is not cut, and the
 * SDK's retry policy retries a timed-out try like any other network error.
 */
type StorageLocation = { kind: "connectionString"; connectionString: string } | { kind: "identity"; blobServiceUri: string; credential: TokenCredential };

export interface StorageContainerOptions {
  location: StorageLocation;
  container: string;
  /** Client-side timeout of one try, in milliseconds (default 30 s). */
  timeoutInMs?: number;
  retryOptions?: StoragePipelineOptions["retryOptions"];
}

const DEFAULT_STORAGE_TIMEOUT_MS = 30_000;

/** A request policy that gives every request without a timeout of its own the given one. */
function requestTimeoutPolicy(timeoutMs: number): RequestPolicyFactory {
  return {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request) => {
        if (!request.timeout) request.timeout = timeoutMs;
        return next.sendRequest(request);
      },
    }),
  };
}

export function createStorageContainer(options: StorageContainerOptions): ContainerClient {
  const { location } = options;
  const base =
    location.kind === "connectionString" ? BlobServiceClient.fromConnectionString(location.connectionString) : new BlobServiceClient(location.blobServiceUri, location.credential);
  const pipeline = newPipeline(base.credential, options.retryOptions ? { retryOptions: options.retryOptions } : {});
  pipeline.factories.push(requestTimeoutPolicy(options.timeoutInMs ?? DEFAULT_STORAGE_TIMEOUT_MS));
  return new ContainerClient(base.getContainerClient(options.container).url, pipeline);
}
