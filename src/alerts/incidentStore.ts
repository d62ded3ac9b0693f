import type { ContainerClient } from "@azure/storage-blob";
import { JsonBlobStore } from "../storage/jsonBlobs.js";
import type { Incident } from "./model.js";

/**
 * Incident state in Azure Storage: one JSON blob per incident at `incidents/<set>/<dedupKey>.json`.
 * Every write is conditional (If-Match on the ETag read, or If-None-Match: * to create), so two
 * instances reporting the same check at once cannot both announce the same opening.
 */
export interface StoredIncident {
  incident: Incident;
  etag: string;
}

export interface IncidentStoreOptions {
  containerClient: ContainerClient;
  /** Blob name prefix; default "incidents". */
  prefix?: string;
}

export interface IncidentCallOptions {
  abortSignal?: AbortSignal;
}

export interface PutIncidentOptions extends IncidentCallOptions {
  /** Overwrite only this version; omitted means "create only" (fails if the blob exists). */
  ifMatch?: string;
}

export class IncidentStore {
  private readonly blobs: JsonBlobStore;
  private readonly prefix: string;

  constructor(options: IncidentStoreOptions) {
    this.blobs = new JsonBlobStore(options.containerClient);
    this.prefix = (options.prefix ?? "incidents").replace(/\/+$/, "");
  }

  blobName(set: string, dedupKey: string): string {
    return `${this.prefix}/${safeSegment(set)}/${safeSegment(dedupKey)}.json`;
  }

  async get(set: string, dedupKey: string, options: IncidentCallOptions = {}): Promise<StoredIncident | undefined> {
    const doc = await this.blobs.read<Incident>(this.blobName(set, dedupKey), options.abortSignal);
    return doc ? { incident: doc.value, etag: doc.etag } : undefined;
  }

  /** Writes conditionally; a concurrent change fails with STORAGE_CONFLICT (retryable). Returns the new ETag. */
  async put(incident: Incident, options: PutIncidentOptions = {}): Promise<string> {
    return this.blobs.write(this.blobName(incident.set, incident.dedupKey), incident, {
      abortSignal: options.abortSignal,
      ...(options.ifMatch ? { ifMatch: options.ifMatch } : { ifNoneExists: true }),
    });
  }

  /** Every stored incident (open and resolved), optionally of one set. */
  async list(set?: string, options: IncidentCallOptions = {}): Promise<Incident[]> {
    const prefix = set === undefined ? `${this.prefix}/` : `${this.prefix}/${safeSegment(set)}/`;
    const out: Incident[] = [];
    for (const name of await this.blobs.list(prefix, options.abortSignal)) {
      if (!name.endsWith(".json")) continue;
      // A half-written or foreign blob must not hide every other incident from /api/status.
      const doc = await this.blobs.read<Incident>(name, options.abortSignal).catch(() => undefined);
      if (doc) out.push(doc.value);
    }
    return out;
  }
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._:-]/g, "_");
}
