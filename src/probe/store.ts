import type { ContainerClient } from "@azure/storage-blob";
import type { Redactor } from "../redact.js";
import { JsonBlobStore } from "../storage/jsonBlobs.js";
import type { ProbeReport } from "./model.js";

/**
 * The latest probe report of each set (`probes/<set>/latest.json`), read by GET /api/status and
 * /api/health and by the alerting that compares one probe with the next. Reports are built
 * without secrets; the redactor is a second line of defence before anything reaches Storage.
 */
export class ProbeResultStore {
  private readonly blobs: JsonBlobStore;

  constructor(container: ContainerClient, redactor?: Redactor) {
    this.blobs = new JsonBlobStore(container, redactor);
  }

  static pathFor(set: string): string {
    return `probes/${set}/latest.json`;
  }

  async save(report: ProbeReport, abortSignal?: AbortSignal): Promise<void> {
    await this.blobs.write(ProbeResultStore.pathFor(report.set), report, { abortSignal });
  }

  async latest(set: string, abortSignal?: AbortSignal): Promise<ProbeReport | undefined> {
    return (await this.blobs.read<ProbeReport>(ProbeResultStore.pathFor(set), abortSignal))?.value;
  }
}
