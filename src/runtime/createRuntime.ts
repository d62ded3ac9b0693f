import type { TokenCredential } from "@azure/identity";
import type { ContainerClient } from "@azure/storage-blob";
import type { CredentialSet } from "../config/schema.js";
import { systemClock, type Clock } from "../clock.js";
import { RotatorError } from "../errors.js";
import { HttpClient } from "../http/client.js";
import type { Logger } from "../logging.js";
import { Redactor } from "../redact.js";
import { createGraphApplicationsApi } from "../entra/graph.js";
import { createTokenEndpointClient } from "../entra/token.js";
import { createSignInActivityApi, type SignInActivityApi } from "../entra/signInActivity.js";
import { RETIRE_HELD_CHECK, type RetirementEvidenceDeps } from "../rotation/retirementEvidence.js";
import type { GraphApplicationsApi, TokenEndpointClient } from "../entra/types.js";
import { createKeyVaultStore } from "../vault/keyVaultStore.js";
import type { SecretStore } from "../vault/types.js";
import { createGatewayAdapter, gatewayApiTokenSecretName } from "../gateway/factory.js";
import { targetGroupsOf } from "../config/groups.js";
import type { GatewayAdapter } from "../gateway/types.js";
import { RotationJournalStore } from "../rotation/journal.js";
import type { RotationEvent } from "../rotation/model.js";
import { RotationRunner } from "../rotation/runner.js";
import type { RotationHooks } from "../rotation/hooks.js";
import type { Runtime } from "./types.js";
import { Alerting } from "./alerting.js";
import { ProbeResultStore } from "../probe/store.js";
import type { ProbeReport } from "../probe/model.js";
import { JsonBlobStore } from "../storage/jsonBlobs.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { observedLogger } from "../telemetry/observe.js";
import { renewWindowDays } from "../rotation/policy.js";

/** The per-set clients: real SDKs and our HTTP layer, configured only through options. */
export interface SetClients {
  graph: GraphApplicationsApi;
  token: TokenEndpointClient;
  vault: SecretStore;
  /** The first target group's adapter. */
  gateway: GatewayAdapter;
  /** Every target group's adapter, in the set's order (the first is `gateway`). */
  groups: GatewayAdapter[];
  http: HttpClient;
  /** Entra's sign-in evidence (AuditLog.Read.All; optional permission). */
  signIns: SignInActivityApi;
}

export interface RuntimeOptions {
  sets: readonly CredentialSet[];
  /** The rotator's own identity (managed identity in Azure, an operator app against the emulators). */
  credential: TokenCredential;
  container: ContainerClient;
  /** Extra CA to trust (local emulators only). */
  ca?: string;
  clock?: Clock;
  queueName?: string;
  maxDequeueCount?: number;
  publicBaseUrl?: string;
  redactor?: Redactor;
  httpTimeoutInMs?: number;
  /** Retry delays of our HTTP layer; tests shrink them. */
  httpRetry?: { maxRetries?: number; baseDelayInMs?: number; maxDelayInMs?: number };
  onRotationEvent?: Runtime["onRotationEvent"];
  onWorkerIncident?: Runtime["onWorkerIncident"];
  /** Crash-injection seams (tests only). */
  hooks?: (set: CredentialSet) => RotationHooks | undefined;
  lease?: { durationSeconds?: number; renewEveryMs?: number };
  /** NCRONTAB of the two timers (liveness check) and the heartbeat URL pinged after each timer pass. */
  rotationSchedule?: string;
  healthSchedule?: string;
  heartbeatUrl?: string;
  /** Per-check timeout of a probe. */
  probeTimeoutInMs?: number;
  /** Incident repeat interval and healthy-probe count before resolve (ALERT_REPEAT_MINUTES, ALERT_RESOLVE_AFTER_PROBES). */
  alerting?: { repeatIntervalMs?: number; resolveAfterHealthy?: number };
  /** Key Vault SDK pipeline retries; tests shrink the delays. */
  vaultRetry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** OpenTelemetry signals (src/telemetry); absent: none. */
  telemetry?: Telemetry;
}

export interface BuiltRuntime extends Runtime {
  clientsFor(set: CredentialSet): Promise<SetClients>;
  alerting: Alerting;
  http: HttpClient;
  probeStore: ProbeResultStore;
  /** Completion records of the timers (`timers/<name>.json`), for liveness. */
  timers: JsonBlobStore;
  rotationSchedule: string;
  healthSchedule: string;
  heartbeatUrl?: string;
  probeTimeoutInMs?: number;
}

export function createRuntime(options: RuntimeOptions): BuiltRuntime {
  const clock = options.clock ?? systemClock;
  const redactor = options.redactor ?? new Redactor();
  const journals = new RotationJournalStore(options.container, redactor);
  const http = new HttpClient({ ca: options.ca, redactor, timeoutInMs: options.httpTimeoutInMs, retry: options.httpRetry });

  const clientsFor = cachedPerSet((set) => buildSetClients(set, options, http, redactor));

  const alerting = new Alerting({
    sets: options.sets,
    container: options.container,
    clock,
    redactor,
    journals,
    ca: options.ca,
    publicBaseUrl: options.publicBaseUrl,
    vaultFor: async (set) => (await clientsFor(set)).vault,
    repeatIntervalMs: options.alerting?.repeatIntervalMs,
    resolveAfterHealthy: options.alerting?.resolveAfterHealthy,
    httpRetry: options.httpRetry,
    ...(options.telemetry
      ? { onDeliveryFailure: (f: { set: string; channel: string; kind: string; code?: string }) => options.telemetry!.alertDeliveryFailed(f) }
      : {}),
  });
  const notify: NonNullable<Runtime["onRotationEvent"]> = options.onRotationEvent ?? ((e, logger) => alerting.onRotationEvent(e, logger));
  const telemetry = options.telemetry;
  const onRotationEvent: Runtime["onRotationEvent"] = telemetry
    ? async (e, logger) => {
        await notify(e, logger);
        await recordRotationEvent(telemetry, e, options.sets, journals, logger);
      }
    : notify;
  const onWorkerIncident: Runtime["onWorkerIncident"] = options.onWorkerIncident ?? ((i, logger) => alerting.onWorkerIncident(i, logger));

  const runtime: BuiltRuntime = {
    sets: options.sets,
    queueName: options.queueName ?? "rotation-requests",
    maxDequeueCount: options.maxDequeueCount ?? 5,
    publicBaseUrl: options.publicBaseUrl,
    clock,
    container: options.container,
    journals,
    redactor,
    clientsFor,
    alerting,
    http,
    probeStore: telemetry ? new ObservedProbeStore(options.container, redactor, telemetry) : new ProbeResultStore(options.container, redactor),
    timers: new JsonBlobStore(options.container),
    rotationSchedule: options.rotationSchedule || "0 0 3 * * *",
    healthSchedule: options.healthSchedule || "0 */15 * * * *",
    heartbeatUrl: options.heartbeatUrl,
    probeTimeoutInMs: options.probeTimeoutInMs,
    async createRunner(set: CredentialSet, given: Logger): Promise<RotationRunner> {
      const clients = await clientsFor(set);
      const logger = telemetry ? observedLogger(given, telemetry, redactor) : given;
      return new RotationRunner({
        set,
        graph: clients.graph,
        token: clients.token,
        vault: clients.vault,
        gateway: clients.gateway,
        groups: clients.groups,
        container: options.container,
        clock,
        logger,
        redactor,
        hooks: options.hooks?.(set),
        lease: options.lease,
        retirementEvidence: retirementEvidenceDeps(clients.signIns, alerting),
        onEvent: (e: RotationEvent) => onRotationEvent(e, logger),
        ...(telemetry
          ? { traceStep: <T>(step: string, runId: string, run: () => Promise<T>) => telemetry.traceStep({ set: set.name, runId }, step, run) }
          : {}),
      });
    },
    onRotationEvent,
    onWorkerIncident,
  };
  return runtime;
}

/** Probe reports feed the check-result metric as they are stored. */
class ObservedProbeStore extends ProbeResultStore {
  constructor(
    container: ContainerClient,
    redactor: Redactor,
    private readonly telemetry: Telemetry,
  ) {
    super(container, redactor);
  }

  override async save(report: ProbeReport, abortSignal?: AbortSignal): Promise<void> {
    this.telemetry.probeReport(report);
    await super.save(report, abortSignal);
  }
}

/** Metrics of a finished pass: what its journal and the set's state say. Never breaks a rotation. */
async function recordRotationEvent(
  telemetry: Telemetry,
  e: RotationEvent,
  sets: readonly CredentialSet[],
  journals: RotationJournalStore,
  logger: Logger,
): Promise<void> {
  if (e.type === "started") return;
  try {
    const [journal, state] = await Promise.all([journals.readRun(e.set, e.runId), journals.readState(e.set)]);
    const set = sets.find((s) => s.name === e.set);
    telemetry.rotationEvent(e, {
      ...(journal ? { journal } : {}),
      state,
      ...(set ? { renewalWindowDays: renewWindowDays(set, journal?.plan?.lifetimeDays ?? set.secret.lifetimeDays) } : {}),
    });
  } catch (err) {
    logger.warn(`telemetry for rotation event ${e.type} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The clients of one credential set: Graph, the token endpoint, Key Vault and the gateway (its API token read from Key Vault). */
async function buildSetClients(set: CredentialSet, options: RuntimeOptions, http: HttpClient, redactor: Redactor): Promise<SetClients> {
  // Graph goes through the same HttpClient as the token endpoint and the gateway (one HTTP stack);
  // its per-attempt timeout is HTTP_TIMEOUT when set, else Graph's own 30 s.
  const graphTimeout = options.httpTimeoutInMs ? { timeoutInMs: options.httpTimeoutInMs } : {};
  const graph = createGraphApplicationsApi({ credential: options.credential, http, graphBaseUrl: set.graphBaseUrl, redactor, ...graphTimeout });
  const token = createTokenEndpointClient({ http });
  const signIns = createSignInActivityApi({ credential: options.credential, http, graphBaseUrl: set.graphBaseUrl, redactor, ...graphTimeout });
  const vault = createKeyVaultStore({
    vaultUrl: set.keyVault.url,
    credential: options.credential,
    ca: options.ca,
    retryOptions: options.vaultRetry,
    redactor,
    ...(options.httpTimeoutInMs ? { timeoutInMs: options.httpTimeoutInMs } : {}),
  });
  // One adapter per target group, each with its own admin token (when its kind has an API).
  const groups: GatewayAdapter[] = [];
  for (const config of targetGroupsOf(set)) {
    let apiToken: string | undefined;
    const apiTokenSecretName = gatewayApiTokenSecretName(config);
    if (apiTokenSecretName) {
      const secret = await vault.getLatest(apiTokenSecretName);
      if (!secret?.value) {
        throw new RotatorError("GATEWAY_TOKEN_MISSING", `Key Vault secret ${apiTokenSecretName} (the ${config.kind} admin API token) is missing or empty`, {
          hint: `Store the ${config.kind} admin API token in ${set.keyVault.url} as ${apiTokenSecretName}.`,
        });
      }
      apiToken = secret.value;
      redactor.add(apiToken);
    }
    groups.push(
      createGatewayAdapter(config, {
        apiToken,
        http,
        clientId: set.clientId,
        credential: options.credential,
        authorityHost: set.authorityHost,
        keyVaultSecret: { vaultUrl: set.keyVault.url, secretName: set.keyVault.secretName },
        ...(options.clock ? { clock: options.clock } : {}),
      }),
    );
  }
  const t = options.telemetry;
  if (!t) return { graph, token, vault, gateway: groups[0]!, groups, http, signIns };
  // One CLIENT span per outbound call (Graph, token endpoint, Key Vault, gateway).
  const ids = { set: set.name };
  const traced = groups.map((g) => t.traced("Gateway", g, ids));
  return {
    graph: t.traced("Microsoft Graph", graph, ids),
    token: t.traced("Entra token endpoint", token, ids),
    vault: t.traced("Key Vault", vault, ids),
    gateway: traced[0]!,
    groups: traced,
    http,
    signIns,
  };
}

/** What the retire step reads sign-ins with, and how it reports a held retirement: as an incident. */
function retirementEvidenceDeps(signIns: SignInActivityApi, alerting: Alerting): RetirementEvidenceDeps {
  return {
    signIns,
    async reportHold(setName, hold, runId) {
      // Resolved by the run's "succeeded" event once the credential is retired.
      if (!hold) return;
      await alerting.manager.report(setName, RETIRE_HELD_CHECK, {
        healthy: false,
        severity: "error",
        title: `Retirement held: the previous secret (key ${hold.keyId}) is still used outside the gateway (last sign-in ${hold.lastSignInAt})`,
        hint: hold.hint,
        evidence: {
          keyId: hold.keyId,
          lastSignInAt: hold.lastSignInAt,
          targetsVerifiedAt: hold.targetsVerifiedAt,
          retireNoEarlierThan: hold.retireNoEarlierThan,
        },
        runId,
      });
    },
  };
}

/** One build per set, shared by every caller; a failed build (e.g. token not yet in Key Vault) is forgotten, so the next call tries again. */
function cachedPerSet<T>(build: (set: CredentialSet) => Promise<T>): (set: CredentialSet) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (set) => {
    let p = cache.get(set.name);
    if (!p) {
      p = build(set);
      p.catch(() => cache.delete(set.name));
      cache.set(set.name, p);
    }
    return p;
  };
}
