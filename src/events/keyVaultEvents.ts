import type { FunctionOutput, InvocationContext } from "@azure/functions";
import type { CredentialSet } from "../config/schema.js";
import { contextLogger } from "../logging.js";
import { Redactor } from "../redact.js";
import type { Runtime } from "../runtime/types.js";
import { eventKey, type RotationMessage } from "../handlers/rotationMessage.js";
import { triggerPayload } from "../handlers/triggerPayload.js";
import { shown } from "../handlers/http.js";
import { isLoopbackHost } from "../config/outbound.js";

/**
 * Key Vault's Microsoft.KeyVault.SecretNearExpiry, delivered by Event Grid in either schema. Key
 * Vault publishes it 30 days before a secret version's `exp` (a fixed lead time), and promote sets
 * `exp` to the credential's end date, so a set whose rotation is stuck gets one more, independent
 * nudge. Payload: https://learn.microsoft.com/azure/event-grid/event-schema-key-vault
 */
export const SECRET_NEAR_EXPIRY = "Microsoft.KeyVault.SecretNearExpiry";

export interface SecretNearExpiry {
  eventId: string;
  schema: "EventGrid" | "CloudEvents";
  vaultName: string;
  objectName: string;
  version?: string;
  /** The object's URL: https://<vault>.vault.azure.net/secrets/<name>/<version> */
  objectId?: string;
  /** The version's expiry (data.EXP, unix seconds). */
  expiresOn?: Date;
}

export type ParsedEvent =
  | { kind: "nearExpiry"; event: SecretNearExpiry }
  | { kind: "ignored"; reason: string; /** Fields that contradict each other: logged as a warning. */ suspicious?: boolean };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The documented page shows PascalCase (`ObjectName`, `EXP`); the SDKs' models camelCase. */
function field(data: Obj, name: string): unknown {
  const key = Object.keys(data).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : data[key];
}

function text(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

function unixSeconds(v: unknown): Date | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000) : undefined;
}

/** Reads one event in the Event Grid schema (`eventType`) or as a CloudEvent 1.0 (`specversion`, `type`). */
export function parseKeyVaultEvent(raw: unknown): ParsedEvent {
  const doc = triggerPayload(raw);
  if (!isObj(doc)) return { kind: "ignored", reason: "not an event object" };
  const cloud = typeof doc["specversion"] === "string";
  const type = text(cloud ? doc["type"] : doc["eventType"]);
  if (type !== SECRET_NEAR_EXPIRY)
    return { kind: "ignored", reason: `event type ${type === undefined ? "(none)" : shown(type, 80)} is not ${SECRET_NEAR_EXPIRY}` };
  const data = isObj(doc["data"]) ? doc["data"] : {};
  const vaultName = text(field(data, "VaultName"));
  const objectName = text(field(data, "ObjectName")) ?? text(doc["subject"]);
  const objectType = text(field(data, "ObjectType"));
  if (!vaultName || !objectName) return { kind: "ignored", reason: "the event names no vault or no secret (data.VaultName, data.ObjectName)" };
  if (objectType !== undefined && objectType.toLowerCase() !== "secret")
    return { kind: "ignored", reason: `object type ${shown(objectType, 40)} is not a secret` };
  const version = text(field(data, "Version"));
  const objectId = text(field(data, "Id"));
  const expiresOn = unixSeconds(field(data, "EXP"));
  const forged = consistencyProblem({ vaultName, objectName, version, objectId, source: text(cloud ? doc["source"] : doc["topic"]) });
  if (forged) return { kind: "ignored", reason: forged, suspicious: true };
  return {
    kind: "nearExpiry",
    event: {
      eventId: text(doc["id"]) ?? "(no id)",
      schema: cloud ? "CloudEvents" : "EventGrid",
      vaultName,
      objectName,
      ...(version ? { version } : {}),
      ...(objectId ? { objectId } : {}),
      ...(expiresOn ? { expiresOn } : {}),
    },
  };
}

/**
 * A Key Vault secret URL as Key Vault writes it in `data.Id`: https, a host (with a port only for
 * a local emulator), `/secrets/<name>` and an optional version — nothing else, so `/../`, `%2e%2e`,
 * a query or a fragment never pass. Read from the raw text: the URL parser would resolve `/../`.
 */
const SECRET_ID = /^https:\/\/([a-z0-9.-]{1,253}(?::\d{1,5})?)\/secrets\/([0-9a-z-]{1,127})(?:\/([0-9a-z]{1,64}))?\/?$/i;

/** The parts of a secret URL in data.Id, or undefined when it is not exactly one. */
export function parseSecretId(id: string): { host: string; name: string; version?: string } | undefined {
  const m = SECRET_ID.exec(id);
  if (!m) return undefined;
  return { host: m[1]!.toLowerCase(), name: m[2]!.toLowerCase(), ...(m[3] ? { version: m[3].toLowerCase() } : {}) };
}

/**
 * An event must say the same thing in every field (issue 26, defect 4): data.Id names exactly one
 * secret, whose name is data.ObjectName, whose version is data.Version, in the vault data.VaultName
 * (the first label of Id's host, unless a loopback emulator), in the vault the topic names.
 */
function consistencyProblem(e: { vaultName: string; objectName: string; version?: string; objectId?: string; source?: string }): string | undefined {
  if (!e.objectId) return "the event names no secret URL (data.Id)";
  const id = parseSecretId(e.objectId);
  if (!id) return `data.Id ${shown(e.objectId, 120)} is not a Key Vault secret URL (https://<vault>/secrets/<name>[/<version>])`;
  if (id.name !== e.objectName.toLowerCase()) return `data.Id names secret ${shown(id.name)}, data.ObjectName ${shown(e.objectName)}`;
  if (e.version !== undefined && id.version !== undefined && id.version !== e.version.toLowerCase())
    return `data.Id names version ${shown(id.version)}, data.Version ${shown(e.version)}`;
  const hostname = id.host.replace(/:\d+$/, "");
  if (!isLoopbackHost(hostname) && hostname.split(".")[0] !== e.vaultName.toLowerCase())
    return `data.Id names vault host ${shown(id.host)}, data.VaultName ${shown(e.vaultName)}`;
  const topicVault = e.source ? /\/vaults\/([^/]+)$/i.exec(e.source)?.[1] : undefined;
  if (topicVault !== undefined && topicVault.toLowerCase() !== e.vaultName.toLowerCase())
    return `the topic names vault ${shown(topicVault)}, data.VaultName ${shown(e.vaultName)}`;
  return undefined;
}

/** A vault URL's host as data.Id carries it: lower case, with a port only when one is written. */
function vaultHost(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The set whose current secret fired: the same vault — the full host of its URL, cloud suffix
 * included, so a Government-cloud vault sharing the first label is another vault — and the same
 * secret name (case-insensitive, as Key Vault), both read from data.Id, which parseKeyVaultEvent
 * has checked against the other fields. A `-pending` companion or any other secret matches none.
 */
export function setForEvent(sets: readonly CredentialSet[], e: SecretNearExpiry): CredentialSet | undefined {
  const id = e.objectId !== undefined ? parseSecretId(e.objectId) : undefined;
  if (!id || id.name !== e.objectName.toLowerCase()) return undefined;
  return sets.find((s) => s.keyVault.secretName.toLowerCase() === id.name && vaultHost(s.keyVault.url) === id.host);
}

/**
 * Event Grid trigger: SecretNearExpiry for a set's secret queues a scheduled rotation of that set,
 * the same message the rotation timer sends. The worker's lease and planner make the two
 * idempotent: whichever pass comes second resumes the active run or finds nothing due. Anything
 * else is logged and ignored (Event Grid must not retry it).
 */
export function makeKeyVaultEventsHandler(getRuntime: () => Promise<Pick<Runtime, "sets" | "redactor">>, queueOutput: FunctionOutput) {
  return async (event: unknown, context: InvocationContext): Promise<RotationMessage | undefined> => {
    const parsed = parseKeyVaultEvent(event);
    if (parsed.kind === "ignored") {
      // No runtime yet (an ignored event must not load the configuration): pattern redaction only.
      const log = contextLogger(context, new Redactor());
      if (parsed.suspicious) log.warn(`Key Vault event ignored: its fields disagree: ${parsed.reason}`);
      else log.info(`Key Vault event ignored: ${parsed.reason}`);
      return undefined;
    }
    const e = parsed.event;
    const runtime = await getRuntime();
    const log = contextLogger(context, runtime.redactor);
    const set = setForEvent(runtime.sets, e);
    const expiry = e.expiresOn ? ` (expires ${e.expiresOn.toISOString()})` : "";
    // Outside values, capped and escaped (issue 26, defect 9).
    const what = `${shown(e.vaultName, 80)}/${shown(e.objectName, 130)}`;
    const eventId = shown(e.eventId, 80);
    if (!set) {
      log.warn(`SecretNearExpiry for ${what}${expiry} matches no credential set; ignored [event=${eventId}]`);
      return undefined;
    }
    const message: RotationMessage = { set: set.name, mode: "scheduled", trigger: "queue", key: eventKey(e.eventId) };
    context.extraOutputs.set(queueOutput, [message]);
    log
      .child({ set: set.name })
      .info(
        `SecretNearExpiry for ${what} version ${e.version === undefined ? "?" : shown(e.version, 64)}${expiry}: queued a scheduled rotation check [event=${eventId}] [schema=${e.schema}]`,
      );
    return message;
  };
}
