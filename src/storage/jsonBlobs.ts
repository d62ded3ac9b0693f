import { RestError, type ContainerClient } from "@azure/storage-blob";
import { RotatorError } from "../errors.js";
import type { Redactor } from "../redact.js";

/**
 * JSON documents in one Storage container (journals, set state, incidents). Writes are
 * conditional when the caller passes an ETag, so two writers can never silently overwrite each other.
 */
export interface JsonDocument<T> {
  value: T;
  etag: string;
}

export interface WriteOptions {
  /** Only overwrite this exact version. */
  ifMatch?: string;
  /** Only create; fail if the document exists. */
  ifNoneExists?: boolean;
  abortSignal?: AbortSignal;
  /** Write without indentation (large documents such as a run journal over thousands of targets). */
  compact?: boolean;
}

export class JsonBlobStore {
  private ensured = false;

  constructor(
    private readonly container: ContainerClient,
    /** When given, every document passes through it before it is written: what reaches Storage never holds a secret it knows (I4). */
    private readonly redactor?: Redactor,
  ) {}

  get containerClient(): ContainerClient {
    return this.container;
  }

  async ensureContainer(abortSignal?: AbortSignal): Promise<void> {
    if (this.ensured) return;
    try {
      await this.container.createIfNotExists({ abortSignal });
    } catch (e) {
      throw mapStorageError(e, `create container ${this.container.containerName}`);
    }
    this.ensured = true;
  }

  async read<T>(name: string, abortSignal?: AbortSignal): Promise<JsonDocument<T> | undefined> {
    await this.ensureContainer(abortSignal);
    try {
      // One download gives the body and the ETag of exactly that body.
      const res = await this.container.getBlockBlobClient(name).download(0, undefined, { abortSignal });
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody ?? []) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
      return { value: JSON.parse(Buffer.concat(chunks).toString("utf8")) as T, etag: res.etag ?? "" };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw mapStorageError(e, `read ${name}`);
    }
  }

  async write<T>(name: string, value: T, options: WriteOptions = {}): Promise<string> {
    await this.ensureContainer(options.abortSignal);
    // Same shape back, whatever the secret holds (quotes, backslashes): see Redactor.redactJson.
    const doc = this.redactor ? this.redactor.redactJson(value) : value;
    const body = options.compact ? JSON.stringify(doc) : JSON.stringify(doc, null, 2);
    try {
      const res = await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
        abortSignal: options.abortSignal,
        blobHTTPHeaders: { blobContentType: "application/json" },
        conditions: options.ifMatch ? { ifMatch: options.ifMatch } : options.ifNoneExists ? { ifNoneMatch: "*" } : undefined,
      });
      return res.etag ?? "";
    } catch (e) {
      if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 409)) {
        throw new RotatorError("STORAGE_CONFLICT", `${name} was changed by another writer`, {
          hint: "Another instance updated the same document; the operation is retried on the next pass.",
          status: e.statusCode,
          retryable: true,
        });
      }
      throw mapStorageError(e, `write ${name}`);
    }
  }

  /** Deletes a document; a missing one is not an error. */
  async remove(name: string, abortSignal?: AbortSignal): Promise<void> {
    await this.ensureContainer(abortSignal);
    try {
      await this.container.getBlockBlobClient(name).deleteIfExists({ abortSignal });
    } catch (e) {
      throw mapStorageError(e, `delete ${name}`);
    }
  }

  async list(prefix: string, abortSignal?: AbortSignal): Promise<string[]> {
    await this.ensureContainer(abortSignal);
    const names: string[] = [];
    try {
      for await (const b of this.container.listBlobsFlat({ prefix, abortSignal })) names.push(b.name);
    } catch (e) {
      throw mapStorageError(e, `list ${prefix}`);
    }
    return names;
  }
}

/** Turns a Storage SDK failure into STORAGE_UNAVAILABLE with an operator hint; a RotatorError passes through. */
export function mapStorageError(e: unknown, what: string): RotatorError {
  if (e instanceof RotatorError) return e;
  const status = e instanceof RestError ? e.statusCode : undefined;
  return new RotatorError("STORAGE_UNAVAILABLE", `Storage ${what} failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`, {
    hint: "Check AzureWebJobsStorage and that the function's identity has Storage Blob Data Owner on the account; the next pass retries.",
    status,
    retryable: true,
    cause: e,
  });
}
