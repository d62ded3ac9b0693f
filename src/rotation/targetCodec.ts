import type { RunJournal, TargetRecord } from "./model.js";

/**
 * The run journal holds one record per target, and a large estate has thousands. Stored compactly:
 * fields at their default (`updated: false`, `verified: false`, `attempts: 0`) are left out and
 * restored on read, errors and evidence appear only when present, and the document is written
 * without indentation (see JsonBlobStore's `compact`). Readers always get full records.
 */
type StoredTarget = Omit<TargetRecord, "updated" | "verified" | "attempts"> & Partial<Pick<TargetRecord, "updated" | "verified" | "attempts">>;

export function packTargets(run: RunJournal): RunJournal {
  const targets = run.targets.map((t): StoredTarget => {
    const { updated, verified, attempts, ...rest } = t;
    return { ...rest, ...(updated ? { updated } : {}), ...(verified ? { verified } : {}), ...(attempts ? { attempts } : {}) };
  });
  return { ...run, targets: targets as TargetRecord[] };
}

export function unpackTargets(run: RunJournal): RunJournal {
  if (!Array.isArray(run.targets)) return run;
  run.targets = (run.targets as StoredTarget[]).map((t) => ({ ...t, updated: t.updated ?? false, verified: t.verified ?? false, attempts: t.attempts ?? 0 }));
  return run;
}
