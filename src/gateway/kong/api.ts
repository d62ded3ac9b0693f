import type { GatewayConfig } from "../../config/schema.js";

/**
 * The two Kong APIs that hold `openid-connect` plugins (../shared/specs/kong-openid-connect.md),
 * reduced to what differs between them: where plugins live, how the token travels, how a plugin is
 * written, and the operator's fix when the token is refused. The adapter (adapter.ts) holds
 * everything they share: discovery, the index-aligned secret, the re-read and its salted hash.
 */
export type KongGatewayConfig = Extract<GatewayConfig, { kind: "kong-openid-connect" }>;

/** One place plugins live: a workspace of the Admin API (or its unprefixed default), or the Konnect control plane. */
export interface KongScope {
  /** Prefix of target IDs from this scope (`{workspace}:`); empty when the scope is the API's only one, so IDs stay plugin IDs. */
  idPrefix: string;
  /** Prefix of target names (`{workspace}/`), so names from two workspaces do not collide. */
  namePrefix: string;
  /** The plugin collection, relative to the base URL. */
  pluginsPath: string;
  /** The scope in messages: `workspace team-a`, `Konnect control plane …`. */
  label: string;
}

export interface KongApi {
  /** The API in messages and logs. */
  label: string;
  baseUrl: string;
  /** The token's header, when there is a token. */
  headers: Record<string, string>;
  token: string | undefined;
  /** The Key Vault secret the token comes from, for hints; undefined when RBAC is off. */
  tokenSecretName: string | undefined;
  scopes: readonly KongScope[];
  /**
   * `PATCH` on the Admin API: a deep merge of records with arrays replaced whole (§ PATCH semantics).
   * `PUT` on Konnect, which defines no PATCH: a full upsert of the entity as read (§ Konnect equivalent).
   */
  writeMethod: "PATCH" | "PUT";
  /** The config field the base URL comes from, for hints. */
  urlField: string;
  hints: { unauthorized: string; forbidden: (scope: KongScope) => string; notFound: (scope: KongScope) => string };
}

/** The API a `kong-openid-connect` group speaks, with its token (undefined only for an Admin API with RBAC off). */
export function kongApi(config: KongGatewayConfig, token: string | undefined): KongApi {
  return config.api === "konnect" ? konnectApi(config, token) : adminApi(config, token);
}

function adminApi(config: Extract<KongGatewayConfig, { api: "admin-api" }>, token: string | undefined): KongApi {
  const secretName = config.adminTokenSecretName;
  // § Admin API endpoints: every plugin path is also served under `/{workspace}/…` (Enterprise).
  const scopes: KongScope[] = config.workspaces
    ? config.workspaces.map((ws) => ({ idPrefix: `${ws}:`, namePrefix: `${ws}/`, pluginsPath: `/${encodeURIComponent(ws)}/plugins`, label: `workspace ${ws}` }))
    : [{ idPrefix: "", namePrefix: "", pluginsPath: "/plugins", label: "the default workspace" }];
  return {
    label: `Kong Admin API ${config.adminUrl}`,
    baseUrl: config.adminUrl.replace(/\/+$/, ""),
    headers: token ? { [config.adminTokenHeader]: token } : {},
    token,
    tokenSecretName: secretName,
    scopes,
    writeMethod: "PATCH",
    urlField: "adminUrl",
    hints: {
      unauthorized: secretName
        ? `Kong refused the RBAC admin token stored in Key Vault secret "${secretName}" (sent as ${config.adminTokenHeader}). Issue a new token for the RBAC user, store it in that secret, then retry; if Kong's rbac_auth_header is not ${config.adminTokenHeader}, set groups[].adminTokenHeader.`
        : `Kong asks for an RBAC admin token: store the RBAC user's token in Key Vault and name it in groups[].adminTokenSecretName.`,
      forbidden: (scope) =>
        `The RBAC user of the token in "${secretName ?? "(none)"}" may not read or update plugins in ${scope.label}: give it a role with read and update on /plugins there, or remove the workspace from groups[].workspaces.`,
      notFound: (scope) =>
        `Check groups[].adminUrl points at the Kong Admin API (not the proxy port)${scope.idPrefix ? ` and that ${scope.label} exists (groups[].workspaces)` : ""}.`,
    },
  };
}

function konnectApi(config: Extract<KongGatewayConfig, { api: "konnect" }>, token: string | undefined): KongApi {
  const cp = config.controlPlaneId;
  const secretName = config.accessTokenSecretName;
  return {
    label: `Konnect ${config.konnectUrl} control plane ${cp}`,
    baseUrl: config.konnectUrl.replace(/\/+$/, ""),
    // § Konnect equivalent: `Authorization: Bearer <personal access token or system-account token>`.
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    token,
    tokenSecretName: secretName,
    scopes: [
      { idPrefix: "", namePrefix: "", pluginsPath: `/control-planes/${encodeURIComponent(cp)}/core-entities/plugins`, label: `Konnect control plane ${cp}` },
    ],
    writeMethod: "PUT",
    urlField: "konnectUrl",
    hints: {
      unauthorized: `Konnect refused the access token stored in Key Vault secret "${secretName}" (expired, revoked, or not a Konnect personal access or system-account token). Create a new token in Konnect, store it in that secret, then retry.`,
      forbidden: () =>
        `The token in "${secretName}" has no access to control plane ${cp}: give its user or system account a role on that control plane that may read and edit plugins (e.g. Control Plane Admin).`,
      notFound: () => `Check groups[].konnectUrl (the region the control plane lives in) and groups[].controlPlaneId: Konnect has no such control plane there.`,
    },
  };
}
