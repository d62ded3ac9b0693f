import type { ArmAdapterOptions } from "../armClient.js";

import type { GatewayConfig } from "../../config/schema.js";
import { RotatorError } from "../../errors.js";
import { silentLogger } from "../../logging.js";
import { mapArmTargetError } from "../armErrors.js";
import { GatewayErrorCode } from "../errors.js";
import { sameClientId } from "../match.js";
import type { GatewayAdapter, GatewayCallOptions, GatewayTarget } from "../types.js";

/**
 * `apim-credential-manager`: API Management's credential manager
 * (../shared/specs/apim-authorization-providers.md), over Resource Manager (src/arm). Targets on
 * the configured services that hold the set's client ID:
 * - authorization-code providers: `oauth2.grantTypes.authorizationCode.clientSecret`;
 * - client-credentials connections (`authorizations/{id}`): `parameters.clientSecret`.
 * The secret is write-only (§ Is the client secret ever returned on GET: no), so a write rebuilds
 * the whole body from a GET plus the new secret and PUTs it with If-Match (synchronous, § Long-running?).
 * Proof (`status`, § Verification 1): a connection reports `Connected` after our write; `Error`
 * carries the Entra error and is not proven. A provider's own status is its connections': an
 * authorization-code provider without connections can prove only that the write was accepted
 * (ETag changed, nothing else did), since APIM uses its secret only at the next consent or token
 * refresh, which the API does not report.
 */
export type CredentialManagerConfig = Extract<GatewayConfig, { kind: "apim-credential-manager" }>;

export type ApimCredentialManagerOptions = ArmAdapterOptions<CredentialManagerConfig>;

const API_VERSION = "2024-05-01";

interface ProviderContract {
  name: string;
  properties: {
    displayName?: string;
    identityProvider?: string;
    oauth2?: { redirectUrl?: string; grantTypes?: Record<string, Record<string, string> | undefined> };
  };
}

interface ConnectionContract {
  name: string;
  properties: {
    authorizationType?: string;
    oauth2grantType?: string;
    parameters?: Record<string, string>;
    status?: string;
    error?: { code?: string; message?: string };
  };
}

function parsed<T extends { name: string; properties: object }>(data: unknown, where: string): T {
  const d = data as Partial<T> | undefined;
  if (!d || typeof d !== "object" || typeof d.name !== "string" || !d.properties || typeof d.properties !== "object") {
    throw new RotatorError(GatewayErrorCode.BadResponse, `API Management: ${where} did not answer a credential provider or connection`, {
      hint: "Check the group's armEndpoint points at Resource Manager; the next pass retries.",
    });
  }
  return d as T;
}

export function createApimCredentialManagerAdapter(options: ApimCredentialManagerOptions): GatewayAdapter {
  const { config, arm } = options;
  const log = (options.logger ?? silentLogger).child({ gateway: "apim-credential-manager" });
  const now = options.now ?? (() => new Date());
  const services = config.services.map((s) => s.replace(/\/+$/, ""));
  let clientId = options.clientId ?? "";
  /** Our own writes in this process: a status read later with the same ETag is dated by the write. */
  const written = new Map<string, { etag: string; at: string }>();

  const isConnection = (id: string): boolean => /\/authorizations\/[^/]+$/i.test(id);
  const checked = (id: string): string => {
    const onService = services.some((s) => id.toLowerCase().startsWith(`${s.toLowerCase()}/authorizationproviders/`));
    if (!onService || !/\/authorizationProviders\/[^/]+(\/authorizations\/[^/]+)?$/i.test(id)) {
      throw new RotatorError(GatewayErrorCode.TargetNotFound, `API Management: ${id} is not a credential provider or connection of a configured service`, {
        hint: "The group's services changed since the target was recorded; the next run rediscovers targets.",
      });
    }
    return id;
  };
  const label = (id: string): string => {
    const m = /\/service\/([^/]+)\/authorizationProviders\/([^/]+)(?:\/authorizations\/([^/]+))?$/i.exec(id);
    return m ? `${m[1]}/${m[2]}${m[3] ? `/${m[3]}` : ""}` : id;
  };

  const get = async <T extends { name: string; properties: object }>(id: string, abortSignal: AbortSignal | undefined): Promise<{ body: T; etag?: string }> => {
    try {
      const res = await arm.send({ method: "GET", path: checked(id), apiVersion: API_VERSION, ...(abortSignal ? { abortSignal } : {}) });
      return { body: parsed<T>(res.data, `GET ${id}`), ...(res.etag ? { etag: res.etag } : {}) };
    } catch (e) {
      throw mapArmTargetError(e, { targetId: id, what: "API Management credential manager" });
    }
  };

  const list = async <T extends { name: string; properties: object }>(path: string, abortSignal: AbortSignal | undefined): Promise<T[]> => {
    try {
      return (await arm.list(path, API_VERSION, abortSignal ? { abortSignal } : {})).map((x) => parsed<T>(x, `GET ${path}`));
    } catch (e) {
      throw mapArmTargetError(e, { what: `API Management ${path}` });
    }
  };

  const target = (id: string, etag: string | undefined, ok: boolean, detail: string): GatewayTarget => {
    const mine = written.get(id);
    return {
      id,
      name: label(id),
      tokenName: isConnection(id) ? "connection" : "credential provider",
      tokenUrl: "",
      clientId,
      scopes: [],
      additionalParameters: {},
      ...(etag ? { etag } : {}),
      // Dated only when this process wrote it and nothing changed since (same ETag).
      pickup: { ok, ...(mine && mine.etag === etag ? { at: mine.at } : {}), detail },
    };
  };

  const connectionTarget = (id: string, c: ConnectionContract, etag: string | undefined): GatewayTarget => {
    const connected = c.properties.status === "Connected" && !c.properties.error;
    return target(
      id,
      etag,
      connected,
      connected ? "status Connected" : `status ${c.properties.status ?? "?"}: ${c.properties.error?.code ?? ""} ${c.properties.error?.message ?? ""}`.trim(),
    );
  };

  /** A provider proves through its authorization-code connections; without any, only the write is known. */
  const providerTarget = async (id: string, p: ProviderContract, etag: string | undefined, abortSignal: AbortSignal | undefined): Promise<GatewayTarget> => {
    const conns = await list<ConnectionContract>(`${id}/authorizations`, abortSignal);
    const bad = conns.filter((c) => c.properties.status !== "Connected" || c.properties.error);
    if (conns.length === 0) return target(id, etag, true, "no connection: only the accepted write is known");
    return target(
      id,
      etag,
      bad.length === 0,
      bad.length === 0
        ? `${conns.length} connection(s) Connected`
        : `connection ${bad[0]!.name}: ${bad[0]!.properties.error?.message ?? bad[0]!.properties.status ?? "?"}`,
    );
  };

  const read = async (id: string, abortSignal: AbortSignal | undefined): Promise<GatewayTarget> => {
    if (isConnection(id)) {
      const { body, etag } = await get<ConnectionContract>(id, abortSignal);
      if (!sameClientId(body.properties.parameters?.["clientId"] ?? "", clientId)) throw changed(id);
      return connectionTarget(id, body, etag);
    }
    const { body, etag } = await get<ProviderContract>(id, abortSignal);
    if (!sameClientId(body.properties.oauth2?.grantTypes?.["authorizationCode"]?.["clientId"] ?? "", clientId)) throw changed(id);
    return providerTarget(id, body, etag, abortSignal);
  };

  return {
    kind: "apim-credential-manager",
    capabilities: { delivery: "push", pickupProof: "status", maxConcurrency: config.maxConcurrency, testConnection: false },

    async listTargets(filter, callOptions?: GatewayCallOptions) {
      clientId = filter.clientId;
      const abortSignal = callOptions?.abortSignal;
      const out: GatewayTarget[] = [];
      for (const service of services) {
        for (const p of await list<ProviderContract>(`${service}/authorizationProviders`, abortSignal)) {
          const pid = `${service}/authorizationProviders/${p.name}`;
          const grants = p.properties.oauth2?.grantTypes ?? {};
          // Each target is read on its own: a list carries no ETag, and the ETag dates a status (see `target`).
          if (sameClientId(grants["authorizationCode"]?.["clientId"] ?? "", clientId)) out.push(await read(pid, abortSignal));
          if (!grants["clientCredentials"]) continue;
          for (const c of await list<ConnectionContract>(`${pid}/authorizations`, abortSignal)) {
            if (sameClientId(c.properties.parameters?.["clientId"] ?? "", clientId)) out.push(await read(`${pid}/authorizations/${c.name}`, abortSignal));
          }
        }
      }
      log.debug(`${out.length} credential provider(s) and connection(s) on ${services.length} service(s)`);
      return out;
    },

    readTarget: (id, callOptions) => read(id, callOptions?.abortSignal),

    async updateClientSecret(id, clientSecret, callOptions) {
      const abortSignal = callOptions?.abortSignal;
      // Write-only secret: the body is rebuilt from what GET shows, plus the secret.
      let body: unknown;
      let etag: string | undefined;
      if (isConnection(id)) {
        const got = await get<ConnectionContract>(id, abortSignal);
        etag = got.etag;
        const { authorizationType, oauth2grantType, parameters } = got.body.properties;
        body = { properties: { authorizationType, oauth2grantType, parameters: { ...parameters, clientSecret } } };
      } else {
        const got = await get<ProviderContract>(id, abortSignal);
        etag = got.etag;
        const { displayName, identityProvider, oauth2 } = got.body.properties;
        const grants = oauth2?.grantTypes ?? {};
        body = {
          properties: {
            displayName,
            identityProvider,
            oauth2: { ...oauth2, grantTypes: { ...grants, authorizationCode: { ...grants["authorizationCode"], clientSecret } } },
          },
        };
      }
      let res;
      try {
        res = await arm.send({
          method: "PUT",
          path: checked(id),
          apiVersion: API_VERSION,
          json: body,
          secrets: [clientSecret],
          ...((callOptions?.ifMatch ?? etag) ? { ifMatch: callOptions?.ifMatch ?? etag } : {}),
          ...(abortSignal ? { abortSignal } : {}),
        });
      } catch (e) {
        throw mapArmTargetError(e, { targetId: id, what: "API Management credential manager (update)" });
      }
      if (res.etag) written.set(id, { etag: res.etag, at: now().toISOString() });
      const after = await read(id, abortSignal);
      log.info(`wrote the client secret of ${after.name} [target=${id}]: ${after.pickup?.detail ?? ""}`);
      return after;
    },
  };
}

function changed(id: string): RotatorError {
  return new RotatorError(GatewayErrorCode.TargetChanged, `API Management: ${id} no longer uses the set's client ID`, {
    hint: "Someone changed its client ID; the next run rediscovers targets.",
  });
}
