import type dns from "node:dns";
import type { TokenCredential } from "@azure/core-auth";
import type { RequestPolicy, RequestPolicyFactory } from "@azure/core-http-compat";
import { BlobServiceClient, ContainerClient, newPipeline, type StoragePipelineOptions } from "@azure/storage-blob";
import { guardedAgents } from "../http/addressGuard.js";

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
  /** The resolver behind the address guard (tests give a hostile one); the system's by default. */
  lookup?: typeof dns.lookup;
}

const DEFAULT_STORAGE_TIMEOUT_MS = 30_000;

/** A request policy that gives every request without a timeout of its own the given one. */
function requestTimeoutPolicy(timeoutInMs: number): RequestPolicyFactory {
  return {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request) => {
        if (!request.timeout) request.timeout = timeoutInMs;
        return next.sendRequest(request);
      },
    }),
  };
}

/**
 * Connections through the outbound-address rule at connect time (issue 26, defect 5), as for every
 * other client: a Storage host name that resolves to the metadata service or loopback is refused
 * before a socket opens. IP literals (Azurite's 127.0.0.1) are judged as written.
 */
function addressGuardRequestPolicy(options: { lookup?: typeof dns.lookup } = {}): RequestPolicyFactory {
  const agents = guardedAgents(options.lookup ? { lookup: options.lookup } : {});
  return {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request) => {
        request.agent ??= request.url.startsWith("https:") ? agents.https : agents.http;
        return next.sendRequest(request);
      },
    }),
  };
}

export function createStorageContainer(options: StorageContainerOptions): ContainerClient {
  const { location } = options;
  const base =
    location.kind === "connectionString"
      ? BlobServiceClient.fromConnectionString(location.connectionString)
      : new BlobServiceClient(location.blobServiceUri, location.credential);
  const pipeline = newPipeline(base.credential, options.retryOptions ? { retryOptions: options.retryOptions } : {});
  pipeline.factories.push(requestTimeoutPolicy(options.timeoutInMs ?? DEFAULT_STORAGE_TIMEOUT_MS));
  pipeline.factories.push(addressGuardRequestPolicy(options.lookup ? { lookup: options.lookup } : {}));
  return new ContainerClient(base.getContainerClient(options.container).url, pipeline);
}
