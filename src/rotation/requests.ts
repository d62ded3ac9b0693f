import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { JsonBlobStore } from "../storage/jsonBlobs.js";
import type { RotationMode } from "./model.js";

/**
 * Durable operator requests (I7, requests honoured). The HTTP API records a request here BEFORE it
 * answers 202; the queue message only wakes a worker. Whichever pass next holds the set's lease
 * applies every pending request — even if the message that carried it found the lease taken and
 * was dropped — and only then moves it to `done/`. So a request is never lost and never reported
 * as applied before a pass acted on it.
 *
 * Layout: `requests/<set>/pending/<requestId>.json`, then `requests/<set>/done/<requestId>.json`.
 */
export interface OperatorRequest {
  requestId: string;
  set: string;
  mode: RotationMode;
  /** The run it was accepted for: a queued run, or the active run an emergency finishes. */
  runId?: string;
  receivedAt: string;
  status: "pending" | "applied";
  appliedAt?: string;
  /** The run that acted on it (may differ from runId when that run had finished meanwhile). */
  appliedToRunId?: string;
}

const MODE_RANK: Record<RotationMode, number> = { scheduled: 0, force: 1, emergency: 2 };

/** The stronger of two modes: emergency > force > scheduled. */
export function strongerMode(a: RotationMode, b: RotationMode): RotationMode {
  return MODE_RANK[b] > MODE_RANK[a] ? b : a;
}

export class RequestStore {
  private readonly blobs: JsonBlobStore;

  constructor(container: ContainerClient) {
    this.blobs = new JsonBlobStore(container);
  }

  static newRequestId(): string {
    return `req-${randomUUID()}`;
  }

  async record(input: { set: string; mode: RotationMode; runId?: string; now: Date; requestId?: string }, abortSignal?: AbortSignal): Promise<OperatorRequest> {
    const request: OperatorRequest = {
      requestId: input.requestId ?? RequestStore.newRequestId(),
      set: input.set,
      mode: input.mode,
      ...(input.runId ? { runId: input.runId } : {}),
      receivedAt: input.now.toISOString(),
      status: "pending",
    };
    await this.blobs.write(pendingPath(input.set, request.requestId), request, { abortSignal, ifNoneExists: true });
    return request;
  }

  /** Pending requests of a set, oldest first. */
  async pending(set: string, abortSignal?: AbortSignal): Promise<OperatorRequest[]> {
    const names = await this.blobs.list(`requests/${set}/pending/`, abortSignal);
    const docs = await Promise.all(names.map((n) => this.blobs.read<OperatorRequest>(n, abortSignal)));
    return docs.flatMap((d) => (d ? [d.value] : [])).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.requestId.localeCompare(b.requestId));
  }

  async get(set: string, requestId: string, abortSignal?: AbortSignal): Promise<OperatorRequest | undefined> {
    const pending = await this.blobs.read<OperatorRequest>(pendingPath(set, requestId), abortSignal);
    if (pending) return pending.value;
    return (await this.blobs.read<OperatorRequest>(donePath(set, requestId), abortSignal))?.value;
  }

  /** Marks a request applied: written to done/ first, so a crash in between leaves it applied twice at worst, never lost. */
  async markApplied(request: OperatorRequest, runId: string, now: Date, abortSignal?: AbortSignal): Promise<OperatorRequest> {
    const applied: OperatorRequest = { ...request, status: "applied", appliedAt: now.toISOString(), appliedToRunId: runId };
    await this.blobs.write(donePath(request.set, request.requestId), applied, { abortSignal });
    await this.blobs.remove(pendingPath(request.set, request.requestId), abortSignal);
    return applied;
  }
}

const pendingPath = (set: string, id: string): string => `requests/${set}/pending/${id}.json`;
const donePath = (set: string, id: string): string => `requests/${set}/done/${id}.json`;
