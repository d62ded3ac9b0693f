import { RestError, type ContainerClient } from "@azure/storage-blob";
import { RotatorError } from "../errors.js";
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
  private readonly container: ContainerClient;
  private readonly prefix: string;
  private ensured = false;

  constructor(options: IncidentStoreOptions) {
    this.container = options.containerClient;
    this.prefix = (options.prefix ?? "incidents").replace(/\/+$/, "");
  }

  blobName(set: string, dedupKey: string): string {
    return `${this.prefix}/${safeSegment(set)}/${safeSegment(dedupKey)}.json`;
  }

  async get(set: string, dedupKey: string, options: IncidentCallOptions = {}): Promise<StoredIncident | undefined> {
    await this.ensureContainer(options.abortSignal);
    const blob = this.container.getBlockBlobClient(this.blobName(set, dedupKey));
    try {
      // One download gives the body and the ETag of exactly that body.
      const res = await blob.download(0, undefined, { abortSignal: options.abortSignal });
      const text = await streamToString(res.readableStreamBody);
      return { incident: JSON.parse(text) as Incident, etag: res.etag ?? "" };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw storageError(e, `read incident ${dedupKey}`);
    }
  }

  /** Writes conditionally; a concurrent change fails with STORAGE_CONFLICT (retryable). Returns the new ETag. */
  async put(incident: Incident, options: PutIncidentOptions = {}): Promise<string> {
    await this.ensureContainer(options.abortSignal);
    const body = JSON.stringify(incident, null, 2);
    const blob = this.container.getBlockBlobClient(this.blobName(incident.set, incident.dedupKey));
    try {
      const res = await blob.upload(body, Buffer.byteLength(body), {
        abortSignal: options.abortSignal,
        blobHTTPHeaders: { blobContentType: "application/json" },
        conditions: options.ifMatch ? { ifMatch: options.ifMatch } : { ifNoneMatch: "*" },
      });
      return res.etag ?? "";
    } catch (e) {
      if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 409)) {
        throw new RotatorError("STORAGE_CONFLICT", `Incident ${incident.dedupKey} was changed by another writer`, {
          hint: "Another instance updated the same incident at the same moment; the report is re-evaluated against its version.",
          status: e.statusCode,
          retryable: true,
        });
      }
      throw storageError(e, `write incident ${incident.dedupKey}`);
    }
  }

  /** Every stored incident (open and resolved), optionally of one set. */
  async list(set?: string, options: IncidentCallOptions = {}): Promise<Incident[]> {
    await this.ensureContainer(options.abortSignal);
    const prefix = set === undefined ? `${this.prefix}/` : `${this.prefix}/${safeSegment(set)}/`;
    const out: Incident[] = [];
    try {
      for await (const item of this.container.listBlobsFlat({ prefix, abortSignal: options.abortSignal })) {
        if (!item.name.endsWith(".json")) continue;
        const buf = await this.container.getBlockBlobClient(item.name).downloadToBuffer(undefined, undefined, { abortSignal: options.abortSignal });
        try {
          out.push(JSON.parse(buf.toString("utf8")) as Incident);
        } catch {
          // A half-written or foreign blob must not hide every other incident from /api/status.
        }
      }
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return out;
      throw storageError(e, `list incidents under ${prefix}`);
    }
    return out;
  }

  private async ensureContainer(abortSignal?: AbortSignal): Promise<void> {
    if (this.ensured) return;
    try {
      await this.container.createIfNotExists({ abortSignal });
    } catch (e) {
      throw storageError(e, `create container ${this.container.containerName}`);
    }
    this.ensured = true;
  }
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._:-]/g, "_");
}

async function streamToString(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return "";
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

function storageError(e: unknown, what: string): RotatorError {
  if (e instanceof RotatorError) return e;
  const status = e instanceof RestError ? e.statusCode : undefined;
  return new RotatorError("STORAGE_UNAVAILABLE", `Storage ${what} failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`, {
    hint: "Check AzureWebJobsStorage and that the function's identity has Storage Blob Data Contributor on the account; the next pass retries.",
    status,
    retryable: true,
    cause: e,
  });
}
