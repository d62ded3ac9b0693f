/**
 * postdeploy: the Event Grid subscription that delivers Key Vault SecretNearExpiry to the
 * keyVaultEvents function, created through Azure Resource Manager once the function exists.
 *
 * Why not in Bicep: Event Grid validates an AzureFunction endpoint when the subscription is
 * created, so provisioning it before the code is deployed fails. The template used to create it
 * behind a KEY_VAULT_EVENTS_ENABLED flag that this hook set to true after the first deploy; the
 * flag stayed in the azd environment, so after `azd down` the next `azd up` (or the vault-recovery
 * `azd provision`) created the subscription before any function existed and stopped. Now the
 * template only creates the system topic, and this step runs after every deploy: it creates the
 * subscription when it is missing or wrong and leaves a correct one alone, so running it twice
 * makes one PUT.
 */
import type { TokenCredential } from "@azure/identity";
import type { HookOutcome } from "./hooks.js";

/** The ARM calls this step makes; injectable so tests drive a local ARM emulator. */
export interface ArmClient {
  request(method: "GET" | "PUT", path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export const EVENT_GRID_API_VERSION = "2025-02-15";
export const WEB_API_VERSION = "2024-04-01";
export const SUBSCRIPTION_NAME = "secret-near-expiry-to-rotator";
export const FUNCTION_NAME = "keyVaultEvents";
export const NEAR_EXPIRY = "Microsoft.KeyVault.SecretNearExpiry";
const ARM_SCOPE_SUFFIX = "/.default";

/** ARM over fetch with a bearer token for the endpoint's audience (national clouds: pass their endpoint). */
export function armClient(options: { endpoint: string; credential: TokenCredential; fetch?: typeof fetch }): ArmClient {
  const doFetch = options.fetch ?? fetch;
  const base = options.endpoint.replace(/\/+$/, "");
  return {
    async request(method, path, body) {
      const token = await options.credential.getToken(`${base}${ARM_SCOPE_SUFFIX}`);
      if (!token) throw new Error(`no token for ${base}: run azd auth login`);
      const res = await doFetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (a gateway's HTML page): keep the text for the message
      }
      return { status: res.status, body: parsed };
    },
  };
}

export interface EnsureOptions {
  arm: ArmClient;
  /** azd's environment values: AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_FUNCTION_NAME, KEY_VAULT_EVENTS_TOPIC. */
  env: Readonly<Record<string, string | undefined>>;
  /** Waits between polls; injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Polls while the function is not indexed yet, and while the subscription is being created. */
  attempts?: number;
  pollMs?: number;
}

interface EventSubscription {
  properties?: {
    provisioningState?: string;
    destination?: { endpointType?: string; properties?: { resourceId?: string } };
    filter?: { includedEventTypes?: string[] };
  };
}

/** The subscription as infra/app/events.bicep used to declare it. */
export function desiredSubscription(functionResourceId: string): unknown {
  return {
    properties: {
      destination: { endpointType: "AzureFunction", properties: { resourceId: functionResourceId, maxEventsPerBatch: 1 } },
      filter: { includedEventTypes: [NEAR_EXPIRY] },
      eventDeliverySchema: "EventGridSchema",
      retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
    },
  };
}

const armError = (what: string, r: { status: number; body: unknown }): string => {
  const e = (r.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return `${what}: HTTP ${r.status}${e ? ` ${e.code ?? ""}: ${e.message ?? ""}` : ""}`;
};

/** Does the existing subscription already deliver SecretNearExpiry to this function? */
function isCurrent(sub: EventSubscription, functionResourceId: string): boolean {
  const p = sub.properties;
  return (
    p?.provisioningState === "Succeeded" &&
    p.destination?.endpointType === "AzureFunction" &&
    p.destination.properties?.resourceId?.toLowerCase() === functionResourceId.toLowerCase() &&
    (p.filter?.includedEventTypes ?? []).length === 1 &&
    p.filter?.includedEventTypes?.[0] === NEAR_EXPIRY
  );
}

export async function ensureNearExpirySubscription(o: EnsureOptions): Promise<HookOutcome> {
  const missing = ["AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_NAME", "KEY_VAULT_EVENTS_TOPIC"].filter((k) => !o.env[k]?.trim());
  if (missing.length > 0) return { ok: false, message: `${missing.join(", ")} not in the azd environment: run azd provision first (its outputs set them)` };
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const attempts = o.attempts ?? 12;
  const pollMs = o.pollMs ?? 10_000;
  const group = `/subscriptions/${o.env["AZURE_SUBSCRIPTION_ID"]}/resourceGroups/${o.env["AZURE_RESOURCE_GROUP"]}`;
  const functionId = `${group}/providers/Microsoft.Web/sites/${o.env["AZURE_FUNCTION_NAME"]}/functions/${FUNCTION_NAME}`;
  const subPath = `${group}/providers/Microsoft.EventGrid/systemTopics/${o.env["KEY_VAULT_EVENTS_TOPIC"]}/eventSubscriptions/${SUBSCRIPTION_NAME}?api-version=${EVENT_GRID_API_VERSION}`;

  // Event Grid refuses an endpoint the host has not indexed yet; a fresh deploy takes a moment.
  for (let i = 1; ; i++) {
    const fn = await o.arm.request("GET", `${functionId}?api-version=${WEB_API_VERSION}`);
    if (fn.status === 200) break;
    if (fn.status !== 404) return { ok: false, message: armError(`reading function ${FUNCTION_NAME}`, fn) };
    if (i >= attempts) {
      return {
        ok: false,
        message: `${FUNCTION_NAME} is not on ${o.env["AZURE_FUNCTION_NAME"]} after ${attempts} checks: the SecretNearExpiry subscription was not created. Check the deploy (az functionapp function list), then run: npm run azd-hook -- postdeploy`,
      };
    }
    await sleep(pollMs);
  }

  const existing = await o.arm.request("GET", subPath);
  if (existing.status === 200 && isCurrent(existing.body as EventSubscription, functionId)) {
    return { ok: true, message: `Event Grid subscription ${SUBSCRIPTION_NAME} already delivers SecretNearExpiry to ${FUNCTION_NAME}: left as is` };
  }
  if (existing.status !== 200 && existing.status !== 404) return { ok: false, message: armError(`reading ${SUBSCRIPTION_NAME}`, existing) };

  const put = await o.arm.request("PUT", subPath, desiredSubscription(functionId));
  if (put.status !== 200 && put.status !== 201) return { ok: false, message: armError(`creating ${SUBSCRIPTION_NAME}`, put) };
  // PUT answers while Event Grid still validates the endpoint (provisioningState Creating/Updating).
  let state = (put.body as EventSubscription | undefined)?.properties?.provisioningState;
  for (let i = 1; ; i++) {
    if (state === "Succeeded")
      return {
        ok: true,
        message: `Event Grid subscription ${SUBSCRIPTION_NAME} ${existing.status === 404 ? "created" : "updated"}: SecretNearExpiry → ${FUNCTION_NAME}`,
      };
    if (state === "Failed" || state === "Canceled")
      return {
        ok: false,
        message: `Event Grid could not create ${SUBSCRIPTION_NAME} (provisioningState ${state}): check that ${FUNCTION_NAME} answers, then run: npm run azd-hook -- postdeploy`,
      };
    if (i >= attempts)
      return {
        ok: false,
        message: `${SUBSCRIPTION_NAME} still ${state ?? "unknown"} after ${attempts} checks: look at it in the portal (system topic ${o.env["KEY_VAULT_EVENTS_TOPIC"]})`,
      };
    await sleep(pollMs);
    state = ((await o.arm.request("GET", subPath)).body as EventSubscription | undefined)?.properties?.provisioningState;
  }
}
