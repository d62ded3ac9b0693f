import type { ContainerClient } from "@azure/storage-blob";
import { RotatorError } from "../errors.js";
import { JsonBlobStore } from "./jsonBlobs.js";

/**
 * Idempotency keys of rotation queue messages (issue 26, defect 3). Every message carries one (the
 * request's ID, or the timer tick's); a worker claims it before acting, so a message written to the
 * queue again — by a replay, or anyone holding the queue's key — does nothing the second time.
 *
 * Layout: `messages/<set>/<key>.json`, beside `requests/` (DESIGN "Requests (I7)"). A claim is
 * released when the delivery fails (the queue delivers it again); a claim left `started` by a worker
 * that died is taken over only by a later delivery of the same message (a higher dequeue count): a
 * copy written to the queue again starts at 1.
 */
interface ProcessedMessage {
  key: string;
  status: "started" | "done";
  dequeueCount: number;
  at: string;
}

export class ProcessedMessages {
  private readonly blobs: JsonBlobStore;

  constructor(container: ContainerClient) {
    this.blobs = new JsonBlobStore(container);
  }

  /** True when this delivery may act on the message; false when it was (or is being) processed. */
  async claim(set: string, key: string, dequeueCount: number, now: Date): Promise<boolean> {
    const doc: ProcessedMessage = { key, status: "started", dequeueCount, at: now.toISOString() };
    try {
      await this.blobs.write(path(set, key), doc, { ifNoneExists: true });
      return true;
    } catch (e) {
      if (!(e instanceof RotatorError) || e.code !== "STORAGE_CONFLICT") throw e;
    }
    const held = await this.blobs.read<ProcessedMessage>(path(set, key));
    if (!held) return this.claim(set, key, dequeueCount, now);
    if (held.value.status === "done" || dequeueCount <= held.value.dequeueCount) return false;
    try {
      await this.blobs.write(path(set, key), doc, { ifMatch: held.etag });
      return true;
    } catch (e) {
      if (e instanceof RotatorError && e.code === "STORAGE_CONFLICT") return false;
      throw e;
    }
  }

  async finish(set: string, key: string, dequeueCount: number, now: Date): Promise<void> {
    await this.blobs.write(path(set, key), { key, status: "done", dequeueCount, at: now.toISOString() } satisfies ProcessedMessage);
  }

  /** The delivery failed and the queue delivers the message again: let that delivery act. */
  async release(set: string, key: string): Promise<void> {
    await this.blobs.remove(path(set, key));
  }
}

/** Keys are validated by the message schema ([0-9A-Za-z:._-]); the set name by the config rule. */
const path = (set: string, key: string): string => `messages/${set}/${key}.json`;
