import { describe, expect, inject, it } from "vitest";
import { freshContainer } from "../harness/world.js";
import { RotationJournalStore } from "../../src/rotation/journal.js";
import type { RunJournal, TargetRecord } from "../../src/rotation/model.js";
import { packTargets, unpackTargets } from "../../src/rotation/targetCodec.js";

/** The run journal over thousands of targets: compact in Storage, whole records for every reader. */
function runWith(targets: TargetRecord[]): RunJournal {
  const now = new Date().toISOString();
  return {
    runId: `r-${Date.now()}`,
    set: "big",
    mode: "scheduled",
    trigger: "queue",
    status: "running",
    createdAt: now,
    updatedAt: now,
    passes: 1,
    displayName: "mcp-sso-rotator/big/r",
    steps: [],
    targets,
  };
}

function estate(n: number): TargetRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `mcp_${String(i).padStart(20, "0")}`;
    const name = `team-${i % 40}-mcp-${String(i).padStart(4, "0")}`;
    if (i % 500 === 7)
      return {
        id,
        name,
        updated: false,
        verified: false,
        attempts: 4,
        error: { code: "GATEWAY_UNAVAILABLE", message: "Gateway: could not update …", hint: "The gateway is failing …", retryable: true },
      } as TargetRecord;
    if (i % 3 === 0) return { id, name, updated: false, verified: false, attempts: 0 };
    return { id, name, updated: true, verified: true, attempts: 1 };
  });
}

describe("run journal compactness", () => {
  it("stores 2,000 target records in well under 100 bytes each, and restores every default on read", async () => {
    const run = runWith(estate(2_000));
    const compact = Buffer.byteLength(JSON.stringify(packTargets(run)));
    const pretty = Buffer.byteLength(JSON.stringify(run, null, 2));
    expect(compact / 2_000).toBeLessThan(100);
    // Indentation alone made up about 40 % of the old document.
    expect(compact).toBeLessThan(pretty * 0.65);
    expect(unpackTargets(JSON.parse(JSON.stringify(packTargets(run))) as RunJournal)).toEqual(run);
  });

  it("the journal of a large estate was indented JSON with every default field: round-trips through Storage as compact JSON, readers get full records", async () => {
    const container = await freshContainer(inject("storageConnectionString"));
    try {
      const store = new RotationJournalStore(container);
      const run = runWith(estate(300));
      await store.createRun(run);
      run.targets[1]!.attempts = 2;
      await store.writeRun(run);
      expect(await store.readRun(run.set, run.runId)).toEqual(run);
      const doc = await store.readRunDocument(run.set, run.runId);
      expect(doc?.value.targets[0]).toEqual({ id: run.targets[0]!.id, name: run.targets[0]!.name, updated: false, verified: false, attempts: 0 });
      const props = await container.getBlockBlobClient(`runs/${run.set}/${run.runId}.json`).getProperties();
      expect(props.contentLength!).toBeLessThan(300 * 100);
    } finally {
      await container.deleteIfExists();
    }
  });
});
