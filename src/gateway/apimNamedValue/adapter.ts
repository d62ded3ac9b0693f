import type { ArmAdapterOptions } from "../armClient.js";
import { randomBytes } from "node:crypto";
import type { GatewayConfig } from "../../config/schema.js";
import { RotatorError, ensureRotatorError } from "../../errors.js";
import { silentLogger } from "../../logging.js";
import { mapArmTargetError } from "../armErrors.js";
import { GatewayErrorCode } from "../errors.js";
import { computeFingerprint } from "../fingerprint.js";
import type { GatewayAdapter, GatewayCallOptions, GatewayTarget, TargetFilter } from "../types.js";

/**
 * `apim-named-value`: API Management named values (../shared/specs/apim-named-values.md), over
 * Resource Manager (src/arm). Two modes, one per group:
 * - Key Vault-backed (default): a target is a named value whose `keyVault.secretIdentifier` names
 *   the set's secret without a version. The service reads Key Vault itself; after promote the
 *   engine asks it to `refreshSecret` (long-running) and the proof is `keyVault.lastStatus.code`
 *   `Success` with `timeStampUtc` after promote (§ Verification 2). One naming a version never
 *   rotates (§ Refresh interval): it is reported, never written.
 * - plain (`plainNamedValues`): the named values listed by name hold the secret itself. They are
 *   written with a long-running PATCH and If-Match, and proven by a salted hash of `listValue`
 *   (§ Verification 1). That value never leaves this file: it is hashed with a salt that is never
 *   stored or logged, and dropped.
 */
export type ApimNamedValueConfig = Extract<GatewayConfig, { kind: "apim-named-value" }>;

export type ApimNamedValueAdapterOptions = ArmAdapterOptions<ApimNamedValueConfig>;

const API_VERSION = "2024-05-01";
/** § Refresh interval: "within 4 hours" of a Key Vault change. */
const KEY_VAULT_REFRESH_MS = 4 * 3_600_000;

interface NamedValueContract {
  name: string;
  properties: {
    displayName?: string;
    secret?: boolean;
    keyVault?: { secretIdentifier?: string; lastStatus?: { code?: string; message?: string; timeStampUtc?: string } } | null;
  };
}

function parseContract(data: unknown, where: string): NamedValueContract {
  const d = data as Partial<NamedValueContract> | undefined;
  if (!d || typeof d !== "object" || typeof d.name !== "string" || !d.properties || typeof d.properties !== "object") {
    throw new RotatorError(GatewayErrorCode.BadResponse, `API Management: ${where} did not answer a named value`, {
      hint: "Check the group's armEndpoint points at Resource Manager; the next pass retries.",
    });
  }
  return d as NamedValueContract;
}

function normalHost(url: URL): string {
  const port = url.port === "" || url.port === "443" ? "" : `:${url.port}`;
  return url.hostname.toLowerCase().replace(/\.$/, "") + port;
}

/** Whether a secret identifier names the set's secret: `current` (no version), `versioned`, or not at all. */
export function identifierNames(identifier: string | undefined, secret: { vaultUrl: string; secretName: string }): "current" | "versioned" | undefined {
  if (!identifier) return undefined;
  let u: URL;
  let vault: URL;
  try {
    u = new URL(identifier);
    vault = new URL(secret.vaultUrl);
  } catch {
    return undefined;
  }
  if (normalHost(u) !== normalHost(vault)) return undefined;
  const parts = u.pathname.split("/").filter(Boolean);
  if (parts[0]?.toLowerCase() !== "secrets" || parts[1]?.toLowerCase() !== secret.secretName.toLowerCase() || parts.length > 3) return undefined;
  return parts.length === 3 ? "versioned" : "current";
}

export function createApimNamedValueAdapter(options: ApimNamedValueAdapterOptions): GatewayAdapter {
  const { config, arm, secret } = options;
  const plain = config.plainNamedValues !== undefined;
  const log = (options.logger ?? silentLogger).child({ gateway: "apim-named-value" });
  // Per adapter, never stored or logged: a listValue hash is comparable only here.
  const salt = randomBytes(16).toString("hex");
  let clientId = options.clientId ?? "";
  const services = config.services.map((s) => s.replace(/\/+$/, ""));

  /** `<service>/namedValues/<name>`, checked to be on a configured service (an ID from a journal is data). */
  const pathOf = (id: string): string => {
    if (!services.some((s) => id.toLowerCase().startsWith(`${s.toLowerCase()}/namedvalues/`)) || /\/namedValues\/[^/]+\/./i.test(id)) {
      throw new RotatorError(GatewayErrorCode.TargetNotFound, `API Management: ${id} is not a named value of a configured service`, {
        hint: "The group's services changed since the target was recorded; the next run rediscovers targets.",
      });
    }
    return id;
  };
  const serviceName = (id: string): string => /\/service\/([^/]+)/i.exec(id)?.[1] ?? "?";

  const base = (id: string, nv: NamedValueContract, etag: string | undefined): GatewayTarget => ({
    id,
    name: `${serviceName(id)}/${nv.name}`,
    tokenName: "named value",
    tokenUrl: "",
    clientId,
    scopes: [],
    additionalParameters: {},
    ...(etag ? { etag } : {}),
  });

  const keyVaultTarget = (id: string, nv: NamedValueContract, etag: string | undefined): GatewayTarget => {
    const st = nv.properties.keyVault?.lastStatus;
    return {
      ...base(id, nv, etag),
      pickup: {
        ok: st?.code === "Success",
        ...(st?.timeStampUtc ? { at: st.timeStampUtc } : {}),
        detail: st ? `keyVault.lastStatus ${st.code ?? "?"}${st.message ? `: ${st.message}` : ""} at ${st.timeStampUtc ?? "?"}` : "no keyVault.lastStatus yet",
      },
    };
  };

  const get = async (id: string, abortSignal: AbortSignal | undefined): Promise<{ nv: NamedValueContract; etag?: string }> => {
    try {
      const res = await arm.send({ method: "GET", path: pathOf(id), apiVersion: API_VERSION, ...(abortSignal ? { abortSignal } : {}) });
      return { nv: parseContract(res.data, `GET ${id}`), ...(res.etag ? { etag: res.etag } : {}) };
    } catch (e) {
      throw mapArmTargetError(e, { targetId: id, what: "API Management named value" });
    }
  };

  /** A plain named value with a salted hash of its value (§ Verification 1); the value is dropped here. */
  const plainTarget = async (id: string, abortSignal: AbortSignal | undefined): Promise<GatewayTarget> => {
    const { nv, etag } = await get(id, abortSignal);
    if (nv.properties.keyVault) {
      throw new RotatorError(GatewayErrorCode.TargetChanged, `API Management: ${id} is backed by Key Vault now; it is not written`, {
        hint: "Refresh it with an apim-named-value group without plainNamedValues, or remove it from plainNamedValues.",
      });
    }
    let value: unknown;
    try {
      const res = await arm.send<{ value?: unknown }>({
        method: "POST",
        path: `${pathOf(id)}/listValue`,
        apiVersion: API_VERSION,
        idempotent: true,
        ...(abortSignal ? { abortSignal } : {}),
      });
      value = res.data?.value;
    } catch (e) {
      throw mapArmTargetError(e, { targetId: id, what: "API Management named value (listValue)" });
    }
    return {
      ...base(id, nv, etag),
      secretFingerprint: typeof value === "string" && value !== "" ? computeFingerprint(salt, value) : "",
      fingerprintSalt: salt,
    };
  };

  const listKeyVaultBacked = async (filter: TargetFilter, abortSignal: AbortSignal | undefined): Promise<GatewayTarget[]> => {
    const out: GatewayTarget[] = [];
    for (const service of services) {
      let items: unknown[];
      try {
        items = await arm.list(`${service}/namedValues`, API_VERSION, abortSignal ? { abortSignal } : {});
      } catch (e) {
        throw mapArmTargetError(e, { what: `API Management service ${serviceName(service)}` });
      }
      for (const raw of items) {
        const nv = parseContract(raw, `GET ${service}/namedValues`);
        const names = identifierNames(nv.properties.keyVault?.secretIdentifier ?? undefined, secret);
        if (!names) continue;
        const t = keyVaultTarget(`${service}/namedValues/${nv.name}`, nv, undefined);
        if (names === "versioned") {
          // § Refresh interval: "Providing a versioned secret will prevent auto-refresh".
          filter.onDrift?.(
            t,
            `its keyVault.secretIdentifier names a version of ${secret.secretName}: it never rotates and breaks when that version's credential is retired — remove the version from the identifier`,
          );
          continue;
        }
        out.push(t);
      }
    }
    return out;
  };

  const listPlain = async (abortSignal: AbortSignal | undefined): Promise<GatewayTarget[]> => {
    const out: GatewayTarget[] = [];
    for (const service of services) {
      for (const name of config.plainNamedValues ?? []) {
        try {
          out.push(await plainTarget(`${service}/namedValues/${name}`, abortSignal));
        } catch (e) {
          const err = ensureRotatorError(e);
          if (err.code === GatewayErrorCode.TargetNotFound) continue; // not on this service
          if (err.code === GatewayErrorCode.TargetChanged) {
            log.warn(err.message);
            continue;
          }
          throw err;
        }
      }
    }
    return out;
  };

  const adapter: GatewayAdapter = {
    kind: "apim-named-value",
    capabilities: plain
      ? { delivery: "push", pickupProof: "fingerprint", maxConcurrency: config.maxConcurrency, testConnection: false }
      : { delivery: "keyVault", pickupProof: "status", maxConcurrency: config.maxConcurrency, testConnection: false, maxPickupDelayMs: KEY_VAULT_REFRESH_MS },

    async listTargets(filter, callOptions?: GatewayCallOptions) {
      clientId = filter.clientId;
      const targets = plain ? await listPlain(callOptions?.abortSignal) : await listKeyVaultBacked(filter, callOptions?.abortSignal);
      log.debug(`${targets.length} named value(s) on ${services.length} service(s)`);
      return targets;
    },

    async readTarget(id, callOptions) {
      if (plain) return plainTarget(id, callOptions?.abortSignal);
      const { nv, etag } = await get(id, callOptions?.abortSignal);
      if (identifierNames(nv.properties.keyVault?.secretIdentifier ?? undefined, secret) !== "current") {
        throw new RotatorError(GatewayErrorCode.TargetChanged, `API Management: ${id} no longer references ${secret.secretName} without a version`, {
          hint: "Someone changed the named value's Key Vault identifier; the next run rediscovers targets.",
        });
      }
      return keyVaultTarget(id, nv, etag);
    },

    async updateClientSecret(id, clientSecret, callOptions) {
      if (!plain) {
        throw new RotatorError("TARGET_REFRESH_REFUSED", `API Management: ${id} reads Key Vault itself; its value is never written`, {
          hint: "This is a defect in the rotator (a Key Vault-backed named value is refreshed, not written): report it.",
        });
      }
      try {
        await arm.sendAndWait({
          method: "PATCH",
          path: pathOf(id),
          apiVersion: API_VERSION,
          // § ETag / If-Match: required on PATCH; "*" only when no ETag was read.
          ifMatch: callOptions?.ifMatch ?? "*",
          json: { properties: { value: clientSecret } },
          secrets: [clientSecret],
          idempotent: true,
          ...(callOptions?.abortSignal ? { abortSignal: callOptions.abortSignal } : {}),
        });
      } catch (e) {
        throw mapArmTargetError(e, { targetId: id, what: "API Management named value (update)" });
      }
      const after = await plainTarget(id, callOptions?.abortSignal);
      log.info(`updated named value ${after.name} [target=${id}] and read its value back by salted hash`);
      return after;
    },

    async requestRefresh(id, callOptions) {
      const abortSignal = callOptions?.abortSignal;
      try {
        await arm.sendAndWait({
          method: "POST",
          path: `${pathOf(id)}/refreshSecret`,
          apiVersion: API_VERSION,
          idempotent: true,
          ...(abortSignal ? { abortSignal } : {}),
        });
      } catch (e) {
        const err = ensureRotatorError(e);
        // A refresh that ran and failed is recorded in keyVault.lastStatus: the read below shows it.
        if (err.code !== "ARM_OPERATION_FAILED") {
          if (err.code === "ARM_FORBIDDEN" || err.code === "ARM_REJECTED") {
            await adapter.readTarget(id, callOptions); // a named value that changed is not "refused"
            throw new RotatorError("TARGET_REFRESH_REFUSED", `API Management refused to refresh ${id} (${err.upstreamCode ?? err.code})`, {
              hint: "Grant the rotator's identity Microsoft.ApiManagement/service/namedValues/refreshSecret/action; until then the service picks the new version up by itself within 4 hours.",
              ...(err.status !== undefined ? { status: err.status } : {}),
              cause: err,
            });
          }
          throw mapArmTargetError(err, { targetId: id, what: "API Management named value (refreshSecret)" });
        }
        log.warn(`refreshSecret of ${id} ended ${err.upstreamCode ?? "Failed"}`);
      }
      return adapter.readTarget(id, callOptions);
    },
  };
  return adapter;
}
