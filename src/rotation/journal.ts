import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { JsonBlobStore, type JsonDocument } from "../storage/jsonBlobs.js";
import type { Redactor } from "../redact.js";
import { RotatorError } from "../errors.js";
import { packTargets, unpackTargets } from "./targetCodec.js";
import type { RunJournal, SetState } from "./model.js";

/**
 * Run journals (`runs/<set>/<runId>.json`) and the latest state per set (`state/<set>.json`),
 * both in Storage. Every document passes through the redactor before it is written: a journal is
 * read by people and by GET /api/rotations/{runId}, so it must never hold a secret (I4).
 */
export class RotationJournalStore {
  private readonly blobs: JsonBlobStore;

  constructor(container: ContainerClient, redactor?: Redactor) {
    this.blobs = new JsonBlobStore(container, redactor);
  }

  static newRunId(now: Date): string {
    return `${now
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z")}-${randomUUID().slice(0, 8)}`;
  }

  async readRun(set: string, runId: string, abortSignal?: AbortSignal): Promise<RunJournal | undefined> {
    const doc = await this.blobs.read<RunJournal>(runPath(set, runId), abortSignal);
    return doc ? unpackTargets(doc.value) : undefined;
  }

  /** The run with the ETag of exactly that version, for a conditional write. */
  async readRunDocument(set: string, runId: string, abortSignal?: AbortSignal): Promise<JsonDocument<RunJournal> | undefined> {
    const doc = await this.blobs.read<RunJournal>(runPath(set, runId), abortSignal);
    return doc ? { ...doc, value: unpackTargets(doc.value) } : undefined;
  }

  /** Finds a run by ID alone (HTTP GET /api/rotations/{runId}) through the run index. */
  async findRun(runId: string, abortSignal?: AbortSignal): Promise<RunJournal | undefined> {
    if (!/^[0-9A-Za-z-]{8,64}$/.test(runId)) return undefined;
    const index = await this.blobs.read<{ set: string }>(`run-index/${runId}.json`, abortSignal);
    return index ? this.readRun(index.value.set, runId, abortSignal) : undefined;
  }

  /** Writes the run; with `ifMatch`, only over that exact version (STORAGE_CONFLICT otherwise). Returns the new ETag. */
  async writeRun(run: RunJournal, abortSignal?: AbortSignal, options: { ifMatch?: string } = {}): Promise<string> {
    return this.blobs.write(runPath(run.set, run.runId), packTargets(run), { abortSignal, compact: true, ...options });
  }

  /** Creates the run (never over an existing one) and its index entry; returns the journal's ETag. */
  async createRun(run: RunJournal, abortSignal?: AbortSignal): Promise<string> {
    await this.blobs.write(`run-index/${run.runId}.json`, { set: run.set }, { abortSignal });
    return this.blobs.write(runPath(run.set, run.runId), packTargets(run), { abortSignal, ifNoneExists: true, compact: true });
  }

  async readState(set: string, abortSignal?: AbortSignal): Promise<SetState> {
    return (await this.blobs.read<SetState>(statePath(set), abortSignal))?.value ?? { set, failureStreak: 0 };
  }

  /** Overwrites the state unconditionally: for seeding and tools only — passes use updateState. */
  async writeState(state: SetState, abortSignal?: AbortSignal): Promise<void> {
    await this.blobs.write(statePath(state.set), state, { abortSignal });
  }

  /** Writes the state only over the version read (`etag`), or only if none exists (undefined). */
  async writeStateIf(state: SetState, etag: string | undefined, abortSignal?: AbortSignal): Promise<void> {
    await this.blobs.write(statePath(state.set), state, { abortSignal, ...(etag ? { ifMatch: etag } : { ifNoneExists: true }) });
  }

  async readStateDocument(set: string, abortSignal?: AbortSignal): Promise<JsonDocument<SetState> | undefined> {
    return this.blobs.read<SetState>(statePath(set), abortSignal);
  }

  /**
   * Read-modify-write of the set's state, conditional on the version read: a writer that lost the
   * race re-reads and applies its change again, so concurrent writers (a pass, the HTTP API)
   * never erase each other's fields (e.g. `activeRunId`). Returns the state written, or undefined
   * when `mutate` declined.
   */
  async updateState(set: string, mutate: (state: SetState) => void | false, abortSignal?: AbortSignal): Promise<SetState | undefined> {
    for (let attempt = 1; ; attempt++) {
      const doc = await this.blobs.read<SetState>(statePath(set), abortSignal);
      const state: SetState = doc?.value ?? { set, failureStreak: 0 };
      // `false`: the mutation no longer applies to what is stored now; nothing is written.
      if (mutate(state) === false) return undefined;
      try {
        await this.blobs.write(statePath(set), state, { abortSignal, ...(doc ? { ifMatch: doc.etag } : { ifNoneExists: true }) });
        return state;
      } catch (e) {
        if (!(e instanceof RotatorError && e.code === "STORAGE_CONFLICT") || attempt >= 8) throw e;
      }
    }
  }

  async listRuns(set: string, abortSignal?: AbortSignal): Promise<string[]> {
    return (await this.blobs.list(`runs/${set}/`, abortSignal)).map((n) => n.slice(`runs/${set}/`.length).replace(/\.json$/, ""));
  }
}

const runPath = (set: string, runId: string): string => `runs/${set}/${runId}.json`;
const statePath = (set: string): string => `state/${set}.json`;
