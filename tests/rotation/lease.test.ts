import { inject, describe, expect, it } from "vitest";
import { RestError, type ContainerClient } from "@azure/storage-blob";
import { freshContainer } from "../harness/world.js";
import { acquireSetLease } from "../../src/rotation/lease.js";

/**
 * The set's lease against real Azurite. Transient renewal failures are injected into the Storage
 * SDK's lease client (the request never reaches Azurite), the way a dropped connection would fail.
 */
function withFlakyRenewals(container: ContainerClient, failures: number): ContainerClient {
  let left = failures;
  const bind = <T extends object>(obj: T, prop: string | symbol): unknown => {
    const v = Reflect.get(obj, prop) as unknown;
    return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(obj) : v;
  };
  return new Proxy(container, {
    get(target, prop) {
      if (prop !== "getBlockBlobClient") return bind(target, prop);
      return (name: string) =>
        new Proxy(target.getBlockBlobClient(name), {
          get(blob, p) {
            if (p !== "getBlobLeaseClient") return bind(blob, p);
            return (leaseId?: string) =>
              new Proxy(blob.getBlobLeaseClient(leaseId), {
                get(lease, q) {
                  if (q !== "renewLease") return bind(lease, q);
                  return async () => {
                    if (left-- > 0) throw new RestError("read ECONNRESET", { code: "ECONNRESET" });
                    return lease.renewLease();
                  };
                },
              });
          },
        });
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("issue 8, defect 11: a single failed lease renewal", () => {
  it("is retried before the run aborts: the pass keeps its lease", async () => {
    const container = await freshContainer(inject("storageConnectionString"));
    const lease = await acquireSetLease(withFlakyRenewals(container, 1), "set-a", { durationSeconds: 15, renewEveryMs: 150 });
    await sleep(900);
    expect(lease.abortSignal.aborted).toBe(false);
    expect((await container.getBlockBlobClient("leases/set-a").getProperties()).leaseState).toBe("leased");
    await lease.release();
  });

  it("that keeps failing stops the run with LEASE_LOST", async () => {
    const container = await freshContainer(inject("storageConnectionString"));
    const lease = await acquireSetLease(withFlakyRenewals(container, 1_000), "set-b", { durationSeconds: 15, renewEveryMs: 150 });
    await sleep(1_500);
    expect(lease.abortSignal.aborted).toBe(true);
    expect(lease.abortSignal.reason).toMatchObject({ code: "LEASE_LOST", retryable: true });
    await lease.release();
  });

  it("lost to another holder (409) stops the run at once, without retrying", async () => {
    const container = await freshContainer(inject("storageConnectionString"));
    const lease = await acquireSetLease(container, "set-c", { durationSeconds: 15, renewEveryMs: 150 });
    await container.getBlockBlobClient("leases/set-c").getBlobLeaseClient().breakLease(0);
    await sleep(400);
    expect(lease.abortSignal.aborted).toBe(true);
    await lease.release();
  });
});
