import { describe, expect, inject, it } from "vitest";
import type { ContainerClient } from "@azure/storage-blob";
import { freshContainer } from "../harness/world.js";
import { StorageFaultProxy } from "../harness/chaos/storageProxy.js";
import { createStorageContainer } from "../../src/storage/containerClient.js";
import { RotationJournalStore } from "../../src/rotation/journal.js";
import { acceptRotationRequest } from "../../src/rotation/enqueue.js";
import { Redactor } from "../../src/redact.js";

/**
 * Found by `npm run chaos` (issue 10, seed 15 of the 500-schedule campaign): 50 requests at once,
 * some ended by their deadline half-way. A request whose deadline fired after its run journal was
 * written left that journal "queued" for ever beside the set's real run (I5: at most one run not
 * finished). Storage's contents are read directly from Azurite, not through the product.
 */
/** Journals whose Blob traffic passes a fault proxy; `runs(set)` reads the run journals straight from Azurite. */
async function behindProxy(
  test: (env: {
    proxy: StorageFaultProxy;
    container: ContainerClient;
    journals: RotationJournalStore;
    runs: (set: string) => Promise<{ status: string }[]>;
  }) => Promise<void>,
): Promise<void> {
  const cs = inject("storageConnectionString");
  const direct = await freshContainer(cs, "enqueue");
  const proxy = new StorageFaultProxy(new URL(/BlobEndpoint=(https?:\/\/[^/;]+)/.exec(cs)![1]!));
  const url = await proxy.start();
  try {
    const container = createStorageContainer({
      location: { kind: "connectionString", connectionString: StorageFaultProxy.connectionString(cs, url) },
      container: direct.containerName,
      timeoutInMs: 5_000,
    });
    const runs = async (set: string): Promise<{ status: string }[]> => {
      const out: { status: string }[] = [];
      for await (const b of direct.listBlobsFlat({ prefix: `runs/${set}/` }))
        out.push(JSON.parse((await direct.getBlobClient(b.name).downloadToBuffer()).toString("utf8")) as { status: string });
      return out;
    };
    await test({ proxy, container, journals: new RotationJournalStore(container, new Redactor()), runs });
  } finally {
    await proxy.stop();
    await direct.delete().catch(() => undefined);
  }
}

describe("defect: a request ended by its deadline half-way leaves a queued run behind", () => {
  it("queued run left behind: a request whose signal aborts while claiming the set marks its journal failed, so no second unfinished run exists", () =>
    behindProxy(async ({ proxy, container, journals, runs }) => {
      // The claim on the set's state never answers; the request's own deadline ends it.
      proxy.add({ kind: "hang", times: 1, route: "^PUT /[^/]+/[^/]+/state/" });
      const deadline = new AbortController();
      setTimeout(() => deadline.abort(new Error("request deadline")), 1_000);
      await expect(
        acceptRotationRequest({ journals, container, now: () => new Date(), abortSignal: deadline.signal }, { set: "enq-a", mode: "force" }),
      ).rejects.toThrow();
      expect(
        (await runs("enq-a")).map((r) => r.status),
        "the half-made request's journal is closed, not left queued",
      ).toEqual(["failed"]);
    }));

  it("seed 12: a journal write that landed although the request never heard back stayed queued, a run no pass would ever take (I8)", () =>
    behindProxy(async ({ proxy, container, journals, runs }) => {
      // Azurite stores the run journal; its answer never reaches the request, and the SDK's create-only retry finds the blob there.
      proxy.add({ kind: "dropAfterHandling", times: 1, route: "^PUT /[^/]+/[^/]+/runs/" });
      await expect(acceptRotationRequest({ journals, container, now: () => new Date() }, { set: "enq-b", mode: "force" })).rejects.toThrow();
      expect(
        (await runs("enq-b")).map((r) => r.status),
        "the request that was answered with an error leaves no unfinished run",
      ).toEqual(["failed"]);
    }));
});
