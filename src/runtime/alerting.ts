import type { ContainerClient } from "@azure/storage-blob";
import type { CredentialSet } from "../config/schema.js";
import { DAY_MS, type Clock } from "../clock.js";
import { HttpClient } from "../http/client.js";
import type { Logger } from "../logging.js";
import type { Redactor } from "../redact.js";
import { withoutUserinfo } from "../config/outbound.js";
import type { SecretStore } from "../vault/types.js";
import {
  AlertDispatcher,
  IncidentManager,
  IncidentStore,
  RUN_FAILURE_CHECK,
  SERVICE_SET,
  SetRoutingNotifier,
  createChannels,
  serviceChannelConfigs,
  toRotationEventInput,
  type AlertNotifier,
  type ChannelDeliveryStatus,
} from "../alerts/index.js";
import type { RotationEvent } from "../rotation/model.js";
import { renewWindowDays } from "../rotation/policy.js";
import type { RotationJournalStore } from "../rotation/journal.js";
import { silentLogger } from "../logging.js";

export interface AlertingOptions {
  sets: readonly CredentialSet[];
  container: ContainerClient;
  clock: Clock;
  redactor: Redactor;
  /** Each set's Key Vault, where its channel URLs and keys live. */
  vaultFor(set: CredentialSet): Promise<SecretStore>;
  journals: RotationJournalStore;
  ca?: string;
  publicBaseUrl?: string;
  repeatIntervalMs?: number;
  resolveAfterHealthy?: number;
  logger?: Logger;
  /** HTTP retries for channels; tests shrink the delays. */
  httpRetry?: { maxRetries?: number; baseDelayInMs?: number; maxDelayInMs?: number };
  /** Each delivery a channel did not accept (telemetry). */
  onDeliveryFailure?(failure: { set: string; channel: string; kind: string; code?: string }): void;
}

/**
 * Incidents and on-call channels for the whole deployment: one dispatcher per set (its channels'
 * secrets live in its vault), one for incidents about the service itself, and the incident manager
 * that decides open / update / repeat / resolve. Failures here are logged, never thrown into a
 * rotation or a probe.
 */
export class Alerting {
  readonly manager: IncidentManager;
  private readonly dispatchers = new Map<string, AlertDispatcher>();
  private serviceDispatcher?: AlertDispatcher;
  private ready?: Promise<void>;
  private readonly http: HttpClient;

  constructor(private readonly options: AlertingOptions) {
    this.http = new HttpClient({ ca: options.ca, redactor: options.redactor, timeoutInMs: 10_000, retry: options.httpRetry });
    const lazy: AlertNotifier = {
      notify: async (event, notifyOptions) => {
        await this.build();
        const outcome = await new SetRoutingNotifier(this.dispatchers, this.serviceDispatcher).notify(event, notifyOptions);
        for (const r of outcome.results) {
          if (!r.ok && !r.skipped)
            options.onDeliveryFailure?.({ set: event.incident.set, channel: r.channel, kind: r.kind, ...(r.code ? { code: r.code } : {}) });
        }
        return outcome;
      },
    };
    const base = withoutUserinfo(options.publicBaseUrl ?? "").replace(/\/+$/, "");
    this.manager = new IncidentManager({
      store: new IncidentStore({ containerClient: options.container }),
      clock: options.clock,
      notifier: lazy,
      repeatIntervalMs: options.repeatIntervalMs,
      resolveAfterHealthy: options.resolveAfterHealthy,
      logger: options.logger ?? silentLogger,
      redactor: options.redactor,
      links: ({ runId }) => (base ? { status: `${base}/api/status`, ...(runId ? { run: `${base}/api/rotations/${runId}` } : {}) } : {}),
    });
  }

  private build(): Promise<void> {
    this.ready ??= (async () => {
      const { sets, clock, redactor } = this.options;
      const logger = this.options.logger ?? silentLogger;
      const entries: { set: string; vaultUrl: string; config: CredentialSet["alerts"][number]; vault: SecretStore }[] = [];
      for (const set of sets) {
        if (set.alerts.length === 0) continue;
        const vault = await this.options.vaultFor(set);
        const channels = createChannels(set.alerts, { secrets: vault, http: this.http, clock, redactor });
        this.dispatchers.set(set.name, new AlertDispatcher({ channels, logger: logger.child({ set: set.name }), clock }));
        for (const config of set.alerts) entries.push({ set: set.name, vaultUrl: set.keyVault.url, config, vault });
      }
      const service = serviceChannelConfigs(entries);
      if (service.length > 0) {
        const channels = service.flatMap((e) =>
          createChannels([e.config], { secrets: entries.find((x) => x.set === e.set)!.vault, http: this.http, clock, redactor }),
        );
        this.serviceDispatcher = new AlertDispatcher({ channels, logger: logger.child({ set: SERVICE_SET }), clock });
      }
    })();
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  async onRotationEvent(event: RotationEvent, logger: Logger): Promise<void> {
    try {
      const set = this.options.sets.find((s) => s.name === event.set);
      const state = await this.options.journals.readState(event.set);
      // The runner derives nextRotationAt from the effective (policy-clamped) lifetime; the window is the gap to expiry.
      const effectiveWindow =
        state.currentExpiresOn && state.nextRotationAt ? (Date.parse(state.currentExpiresOn) - Date.parse(state.nextRotationAt)) / DAY_MS : undefined;
      const context = {
        secretExpiresOn: state.currentExpiresOn,
        renewalWindowDays: effectiveWindow ?? (set ? renewWindowDays(set, set.secret.lifetimeDays) : undefined),
      };
      // A pass that paused on an error (retryable) is a failure on-call should see; a planned wait is not.
      // A stalled pass (no progress because of errors) has its own, budgeted incident instead.
      const asFailure = event.type === "waiting" && event.error && !event.stalled ? { ...event, type: "failed" as const } : event;
      const input = toRotationEventInput(asFailure, context);
      if (input) await this.manager.rotationEvent(event.set, input);
    } catch (e) {
      logger.warn(`alerting for rotation event ${event.type} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async onWorkerIncident(incident: { set: string; runId?: string; code: string; message: string; hint: string }, logger: Logger): Promise<void> {
    try {
      const set = this.options.sets.some((s) => s.name === incident.set) ? incident.set : SERVICE_SET;
      await this.manager.report(set, RUN_FAILURE_CHECK, {
        healthy: false,
        severity: "error",
        title: `Rotation worker gave up: ${incident.code}`,
        hint: incident.hint,
        evidence: { code: incident.code, message: incident.message, ...(incident.runId ? { runId: incident.runId } : {}) },
        ...(incident.runId ? { runId: incident.runId } : {}),
      });
    } catch (e) {
      logger.warn(`alerting for a worker incident failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Secret-free delivery state per channel, for /api/status. */
  deliveryLog(): { set: string; channels: ChannelDeliveryStatus[] }[] {
    return [...this.dispatchers.entries()].map(([set, d]) => ({ set, channels: d.deliveryLog() }));
  }
}
