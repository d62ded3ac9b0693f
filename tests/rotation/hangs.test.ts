import { describe, expect, inject, it } from "vitest";
import { Scenario, useWorld } from "./harness.js";

/**
 * Found by the lifecycle simulator (issue 10): "I8 — a hang on Graph or Key Vault stalls a pass
 * forever". A dependency that accepts the connection and never answers must cost one bounded
 * pass, not the set: the pass stops, its lease is released, and the next pass converges.
 */
const world = useWorld();

/** How one pass ended (its status, or the error's code), or "still hanging after 20 s". */
function passOutcomeWithin20s(s: Scenario): Promise<string> {
  return Promise.race([
    s.pass().then(
      (r) => r.status,
      (e: unknown) => (e as { code?: string }).code ?? "threw",
    ),
    new Promise<string>((r) => setTimeout(() => r("still hanging after 20 s"), 20_000)),
  ]);
}

describe("I8: a hang on Graph or Key Vault stalls a pass forever", () => {
  it.each([
    ["Graph (reading the application)", "entra", "^GET /v1.0/applications"],
    ["Key Vault (reading the current secret)", "keyVault", "^GET /secrets/"],
  ] as const)(
    "%s: the pass ends within its timeouts and the next pass converges",
    async (_what, emu, route) => {
      const s = await Scenario.create(
        world,
        { secretExpiresInDays: 5, targets: 2, otherTargets: 0 },
        { httpTimeoutInMs: 1_500, vaultRetry: { maxRetries: 0 } },
      );
      world[emu].server.faults.add({ route, hang: true, times: 1 });
      const stopped = await passOutcomeWithin20s(s);
      expect(stopped).not.toBe("still hanging after 20 s");
      world[emu].server.faults.clear();
      const done = await s.runToEnd();
      expect(done.status).toBe("succeeded");
      s.assertNoOutage("after the hang");
      s.assertSettled("after the hang");
    },
    60_000,
  );
});

describe("I8: a hang on Storage stalls a pass forever", () => {
  it("Storage (a blob request that never answers): the pass ends within the client timeout and the next pass converges", async () => {
    const { StorageFaultProxy } = await import("../harness/chaos/storageProxy.js");
    const { createStorageContainer } = await import("../../src/storage/containerClient.js");
    const cs = inject("storageConnectionString");
    const proxy = new StorageFaultProxy(new URL(/BlobEndpoint=(https?:\/\/[^/;]+)/.exec(cs)![1]!));
    const url = await proxy.start();
    try {
      const name = `hang-${Math.random().toString(36).slice(2, 8)}`;
      const container = createStorageContainer({
        location: { kind: "connectionString", connectionString: StorageFaultProxy.connectionString(cs, url) },
        container: name,
        timeoutInMs: 1_000,
        retryOptions: { maxTries: 2, retryDelayInMs: 10 },
      });
      const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0 }, { container });
      proxy.add({ kind: "hang", times: 1 });
      const stopped = await passOutcomeWithin20s(s);
      expect(stopped).not.toBe("still hanging after 20 s");
      const done = await s.runToEnd();
      expect(done.status).toBe("succeeded");
      s.assertNoOutage("after the Storage hang");
    } finally {
      await proxy.stop();
    }
  }, 60_000);
});
