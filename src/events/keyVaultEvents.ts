import type { FunctionOutput, InvocationContext } from "@azure/functions";
import type { CredentialSet } from "../config/schema.js";
import { contextLogger } from "../logging.js";
import { Redactor } from "../redact.js";
import type { Runtime } from "../runtime/types.js";
import { eventKey, type RotationMessage } from "../handlers/rotationMessage.js";
import { triggerPayload } from "../handlers/triggerPayload.js";

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

export type ParsedEvent = { kind: "nearExpiry"; event: SecretNearExpiry } | { kind: "ignored"; reason: string };

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
  if (type !== SECRET_NEAR_EXPIRY) return { kind: "ignored", reason: `event type ${type ?? "(none)"} is not ${SECRET_NEAR_EXPIRY}` };
  const data = isObj(doc["data"]) ? doc["data"] : {};
  const vaultName = text(field(data, "VaultName"));
  const objectName = text(field(data, "ObjectName")) ?? text(doc["subject"]);
  const objectType = text(field(data, "ObjectType"));
  if (!vaultName || !objectName) return { kind: "ignored", reason: "the event names no vault or no secret (data.VaultName, data.ObjectName)" };
  if (objectType !== undefined && objectType.toLowerCase() !== "secret") return { kind: "ignored", reason: `object type ${objectType} is not a secret` };
  const version = text(field(data, "Version"));
  const objectId = text(field(data, "Id"));
  const expiresOn = unixSeconds(field(data, "EXP"));
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

/** The vault's name is the first DNS label of its URL (https://<name>.vault.azure.net). */
function vaultNameOf(url: string): string {
  try {
    return new URL(url).hostname.split(".")[0]!.toLowerCase();
  } catch {
    return "";
  }
}

/**
 * The set whose current secret fired: same secret name (case-insensitive, as Key Vault) in the same
 * vault, by name or by the object's URL. A `-pending` companion or any other secret matches none.
 */
export function setForEvent(sets: readonly CredentialSet[], e: SecretNearExpiry): CredentialSet | undefined {
  return sets.find((s) => {
    if (s.keyVault.secretName.toLowerCase() !== e.objectName.toLowerCase()) return false;
    const base = s.keyVault.url.replace(/\/+$/, "").toLowerCase();
    return vaultNameOf(s.keyVault.url) === e.vaultName.toLowerCase() || (e.objectId !== undefined && e.objectId.toLowerCase().startsWith(`${base}/secrets/`));
  });
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
      contextLogger(context, new Redactor()).info(`Key Vault event ignored: ${parsed.reason}`);
      return undefined;
    }
    const e = parsed.event;
    const runtime = await getRuntime();
    const log = contextLogger(context, runtime.redactor);
    const set = setForEvent(runtime.sets, e);
    const expiry = e.expiresOn ? ` (expires ${e.expiresOn.toISOString()})` : "";
    if (!set) {
      log.warn(`SecretNearExpiry for ${e.vaultName}/${e.objectName}${expiry} matches no credential set; ignored [event=${e.eventId}]`);
      return undefined;
    }
    const message: RotationMessage = { set: set.name, mode: "scheduled", trigger: "queue", key: eventKey(e.eventId) };
    context.extraOutputs.set(queueOutput, [message]);
    log.child({ set: set.name }).info(`SecretNearExpiry for ${e.vaultName}/${e.objectName} version ${e.version ?? "?"}${expiry}: queued a scheduled rotation check [event=${e.eventId}] [schema=${e.schema}]`);
    return message;
  };
}
