import { describe, expect, inject, it } from "vitest";
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
describe("defect: a request ended by its deadline half-way leaves a queued run behind", () => {
  it("queued run left behind: a request whose signal aborts while claiming the set marks its journal failed, so no second unfinished run exists", async () => {
    const cs = inject("storageConnectionString");
    const direct = await freshContainer(cs, "enqueue");
    const proxy = new StorageFaultProxy(new URL(/BlobEndpoint=(https?:\/\/[^/;]+)/.exec(cs)![1]!));
    const url = await proxy.start();
    try {
      const container = createStorageContainer({ location: { kind: "connectionString", connectionString: StorageFaultProxy.connectionString(cs, url) }, container: direct.containerName, timeoutMs: 5_000 });
      const journals = new RotationJournalStore(container, new Redactor());
      // The claim on the set's state never answers; the request's own deadline ends it.
      proxy.add({ kind: "hang", times: 1, route: "^PUT /[^/]+/[^/]+/state/" });
      const deadline = new AbortController();
      setTimeout(() => deadline.abort(new Error("request deadline")), 1_000);
      await expect(acceptRotationRequest({ journals, container, now: () => new Date(), abortSignal: deadline.signal }, { set: "enq-a", mode: "force" })).rejects.toThrow();

      const runs: { status: string }[] = [];
      for await (const b of direct.listBlobsFlat({ prefix: "runs/enq-a/" })) runs.push(JSON.parse((await direct.getBlobClient(b.name).downloadToBuffer()).toString("utf8")) as { status: string });
      expect(runs.length).toBe(1);
      expect(runs[0]!.status, "the half-made request's journal is closed, not left queued").toBe("failed");
    } finally {
      await proxy.stop();
      await direct.delete().catch(() => undefined);
    }
  });

  it("seed 12: a journal write that landed although the request never heard back stayed queued, a run no pass would ever take (I8)", async () => {
    const cs = inject("storageConnectionString");
    const direct = await freshContainer(cs, "enqueue");
    const proxy = new StorageFaultProxy(new URL(/BlobEndpoint=(https?:\/\/[^/;]+)/.exec(cs)![1]!));
    const url = await proxy.start();
    try {
      const container = createStorageContainer({ location: { kind: "connectionString", connectionString: StorageFaultProxy.connectionString(cs, url) }, container: direct.containerName, timeoutMs: 5_000 });
      const journals = new RotationJournalStore(container, new Redactor());
      // Azurite stores the run journal; its answer never reaches the request, and the SDK's create-only retry finds the blob there.
      proxy.add({ kind: "dropAfterHandling", times: 1, route: "^PUT /[^/]+/[^/]+/runs/" });
      await expect(acceptRotationRequest({ journals, container, now: () => new Date() }, { set: "enq-b", mode: "force" })).rejects.toThrow();

      const runs: { status: string }[] = [];
      for await (const b of direct.listBlobsFlat({ prefix: "runs/enq-b/" })) runs.push(JSON.parse((await direct.getBlobClient(b.name).downloadToBuffer()).toString("utf8")) as { status: string });
      expect(runs.map((r) => r.status), "the request that was answered with an error leaves no unfinished run").toEqual(["failed"]);
    } finally {
      await proxy.stop();
      await direct.delete().catch(() => undefined);
    }
  });
});
