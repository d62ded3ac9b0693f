import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { JsonBlobStore } from "../storage/jsonBlobs.js";
import type { Redactor } from "../redact.js";
import type { RunJournal, SetState } from "./model.js";

/**
 * Run journals (`runs/<set>/<runId>.json`) and the latest state per set (`state/<set>.json`),
 * both in Storage. Every document passes through the redactor before it is written: a journal is
 * read by people and by GET /api/rotations/{runId}, so it must never hold a secret (I4).
 */
export class RotationJournalStore {
  private readonly blobs: JsonBlobStore;

  constructor(
    container: ContainerClient,
    private readonly redactor?: Redactor,
  ) {
    this.blobs = new JsonBlobStore(container);
  }

  static newRunId(now: Date): string {
    return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomUUID().slice(0, 8)}`;
  }

  async readRun(set: string, runId: string, abortSignal?: AbortSignal): Promise<RunJournal | undefined> {
    return (await this.blobs.read<RunJournal>(runPath(set, runId), abortSignal))?.value;
  }

  /** Finds a run by ID alone (HTTP GET /api/rotations/{runId}) through the run index. */
  async findRun(runId: string, abortSignal?: AbortSignal): Promise<RunJournal | undefined> {
    if (!/^[0-9A-Za-z-]{8,64}$/.test(runId)) return undefined;
    const index = await this.blobs.read<{ set: string }>(`run-index/${runId}.json`, abortSignal);
    return index ? this.readRun(index.value.set, runId, abortSignal) : undefined;
  }

  async writeRun(run: RunJournal, abortSignal?: AbortSignal): Promise<void> {
    const clean = this.scrub(run);
    await this.blobs.write(runPath(run.set, run.runId), clean, { abortSignal });
  }

  async createRun(run: RunJournal, abortSignal?: AbortSignal): Promise<void> {
    await this.blobs.write(`run-index/${run.runId}.json`, { set: run.set }, { abortSignal });
    await this.blobs.write(runPath(run.set, run.runId), this.scrub(run), { abortSignal, ifNoneExists: true });
  }

  async readState(set: string, abortSignal?: AbortSignal): Promise<SetState> {
    return (await this.blobs.read<SetState>(statePath(set), abortSignal))?.value ?? { set, failureStreak: 0 };
  }

  async writeState(state: SetState, abortSignal?: AbortSignal): Promise<void> {
    await this.blobs.write(statePath(state.set), this.scrub(state), { abortSignal });
  }

  async listRuns(set: string, abortSignal?: AbortSignal): Promise<string[]> {
    return (await this.blobs.list(`runs/${set}/`, abortSignal)).map((n) => n.slice(`runs/${set}/`.length).replace(/\.json$/, ""));
  }

  private scrub<T>(doc: T): T {
    // Same shape back, whatever the secret holds (quotes, backslashes): see Redactor.redactJson.
    return this.redactor ? this.redactor.redactJson(doc) : doc;
  }
}

const runPath = (set: string, runId: string): string => `runs/${set}/${runId}.json`;
const statePath = (set: string): string => `state/${set}.json`;
