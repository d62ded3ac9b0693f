import type { ContainerClient } from "@azure/storage-blob";
import type { CredentialSet } from "../config/schema.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../logging.js";
import type { Redactor } from "../redact.js";
import type { RotationJournalStore } from "../rotation/journal.js";
import type { RotationEvent } from "../rotation/model.js";
import type { RotationRunner } from "../rotation/runner.js";

/**
 * What the Function handlers need, built once per host from the app settings
 * (src/runtime/fromSettings.ts) or by tests and the demo against the emulators.
 */
export interface Runtime {
  sets: readonly CredentialSet[];
  queueName: string;
  maxDequeueCount: number;
  /** Base URL for links in answers and alerts, e.g. https://<app>.azurewebsites.net */
  publicBaseUrl?: string;
  clock: Clock;
  container: ContainerClient;
  journals: RotationJournalStore;
  redactor: Redactor;
  createRunner(set: CredentialSet, logger: Logger): Promise<RotationRunner>;
  /** Rotation events (alerts); absent when no alerting is wired. */
  onRotationEvent?(event: RotationEvent, logger: Logger): Promise<void>;
  /** Opens an incident for a poison queue message or an unrecoverable worker failure. */
  onWorkerIncident?(incident: { set: string; runId?: string; code: string; message: string; hint: string }, logger: Logger): Promise<void>;
}

export type RuntimeProvider = () => Promise<Runtime>;
