import { randomBytes } from "node:crypto";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { inject } from "vitest";
import { OffsetClock } from "../../emulators/common/clock.js";
import { alertChannelSchema, type AlertChannelConfig, type Severity } from "../../src/config/schema.js";
import { HttpClient } from "../../src/http/client.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { createChannels, type AlertChannel, type ChannelKind } from "../../src/alerts/channels/index.js";
import { AlertDispatcher } from "../../src/alerts/dispatcher.js";
import { IncidentManager } from "../../src/alerts/incidents.js";
import { IncidentStore } from "../../src/alerts/incidentStore.js";
import { startAllReceivers, type AllReceivers } from "../../emulators/receivers/index.js";
import { MemorySecretStore } from "./memorySecretStore.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * Everything an alert test needs, real end to end: the five receivers, channel secrets in a
 * SecretStore, the real channels over the real HttpClient, the dispatcher, an IncidentStore in a
 * fresh Azurite container and the IncidentManager — on one OffsetClock.
 */
export const STATUS_URL = "https://rotator.example.test/api/status";

export interface WorldOptions {
  /** Which channels to configure, with their minimum severity; default all five at "warning". */
  channels?: Partial<Record<ChannelKind, Severity>>;
  repeatIntervalMs?: number;
  resolveAfterHealthy?: number;
  /** HttpClient timeout per request. */
  timeoutInMs?: number;
  maxRetries?: number;
  channelTimeoutInMs?: number;
}

export interface World {
  clock: OffsetClock;
  rx: AllReceivers;
  secrets: MemorySecretStore;
  redactor: Redactor;
  http: HttpClient;
  /** Every wait the HttpClient asked for (backoff, Retry-After), without actually waiting. */
  waits: number[];
  channels: AlertChannel[];
  dispatcher: AlertDispatcher;
  container: ContainerClient;
  store: IncidentStore;
  manager: IncidentManager;
  lines: string[];
  /** Every channel credential (URLs, keys) — registered with a scanner by `scanner()`. */
  channelSecrets: string[];
  configs: AlertChannelConfig[];
  scanner(): SecretScanner;
  close(): Promise<void>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const clock = new OffsetClock();
  const rx = await startAllReceivers({ clock });
  const secrets = new MemorySecretStore();
  const redactor = new Redactor();
  const waits: number[] = [];
  const http = new HttpClient({
    timeoutInMs: options.timeoutInMs ?? 5_000,
    retry: { maxRetries: options.maxRetries ?? 2, baseDelayInMs: 1, maxDelayInMs: 5 },
    redactor,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  const wanted = options.channels ?? { teams: "warning", slack: "warning", pagerduty: "warning", opsgenie: "warning", webhook: "warning" };
  const configs: AlertChannelConfig[] = [];
  const channelSecrets: string[] = [];
  const put = async (name: string, value: string): Promise<void> => {
    await secrets.setSecret(name, value);
    channelSecrets.push(value);
  };
  for (const [kind, minSeverity] of Object.entries(wanted) as [ChannelKind, Severity][]) {
    switch (kind) {
      case "teams":
        await put("alert-teams-url", rx.teams.createWorkflow());
        configs.push(alertChannelSchema.parse({ kind, urlSecretName: "alert-teams-url", minSeverity }));
        break;
      case "slack":
        await put("alert-slack-url", rx.slack.createWebhook({ channel: "#sso-oncall" }));
        configs.push(alertChannelSchema.parse({ kind, urlSecretName: "alert-slack-url", minSeverity }));
        break;
      case "pagerduty":
        await put("alert-pagerduty-routing-key", rx.pagerduty.createIntegration());
        configs.push(alertChannelSchema.parse({ kind, routingKeySecretName: "alert-pagerduty-routing-key", eventsUrl: rx.pagerduty.eventsUrl, minSeverity }));
        break;
      case "opsgenie":
        await put("alert-opsgenie-api-key", rx.opsgenie.createIntegration());
        configs.push(alertChannelSchema.parse({ kind, apiKeySecretName: "alert-opsgenie-api-key", apiUrl: rx.opsgenie.url, minSeverity }));
        break;
      case "webhook": {
        const ep = rx.webhook.createEndpoint();
        await put("alert-webhook-url", ep.url);
        await put("alert-webhook-signing-key", ep.signingKey);
        configs.push(alertChannelSchema.parse({ kind, urlSecretName: "alert-webhook-url", signingKeySecretName: "alert-webhook-signing-key", minSeverity }));
        break;
      }
    }
  }
  const channels = createChannels(configs, {
    secrets,
    http,
    clock,
    redactor,
    timeoutInMs: options.timeoutInMs ?? 5_000,
    maxRetries: options.maxRetries ?? 2,
  });
  const { logger, lines } = memoryLogger(redactor);
  const dispatcher = new AlertDispatcher({ channels, logger, clock, channelTimeoutInMs: options.channelTimeoutInMs ?? 20_000 });
  const container = BlobServiceClient.fromConnectionString(inject("storageConnectionString")).getContainerClient(`alerts-${randomBytes(6).toString("hex")}`);
  const store = new IncidentStore({ containerClient: container });
  const manager = new IncidentManager({
    store,
    clock,
    notifier: dispatcher,
    repeatIntervalMs: options.repeatIntervalMs ?? 3_600_000,
    resolveAfterHealthy: options.resolveAfterHealthy ?? 2,
    logger,
    redactor,
    links: ({ runId }) => ({ status: STATUS_URL, ...(runId ? { run: `https://rotator.example.test/api/rotations/${runId}` } : {}) }),
  });
  return {
    clock,
    rx,
    secrets,
    redactor,
    http,
    waits,
    channels,
    dispatcher,
    container,
    store,
    manager,
    lines,
    channelSecrets,
    configs,
    scanner: () => new SecretScanner().addSecrets(channelSecrets),
    async close() {
      await rx.close();
      await container.deleteIfExists();
    },
  };
}

/** What each receiver accepted, minus PagerDuty's routing_key field (the one place the key belongs). */
export function receivedPayloads(rx: AllReceivers): { where: string; body: unknown }[] {
  return [
    ...rx.teams.accepted().map((a) => ({ where: "teams", body: a.body })),
    ...rx.slack.accepted().map((a) => ({ where: "slack", body: a.body })),
    ...rx.pagerduty.accepted().map((a) => ({ where: "pagerduty", body: { ...a.body, routing_key: undefined } })),
    ...rx.opsgenie.accepted().map((a) => ({ where: "opsgenie", body: a })),
    ...rx.webhook.accepted().map((a) => ({ where: "webhook", body: a })),
  ];
}

/** An Entra-shaped client secret (three characters, a digit, "Q~", 34 more). */
export function fakeClientSecret(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~";
  const pick = (n: number): string => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join("");
  return `${pick(3)}8Q~${pick(34)}`;
}
