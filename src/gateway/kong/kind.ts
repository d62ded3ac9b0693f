import type { GatewayKind } from "../types.js";
import { createKongAdapter, type KongGatewayConfig } from "./adapter.js";

export const kongKind: GatewayKind<KongGatewayConfig> = {
  create: (config, deps) =>
    createKongAdapter({
      config,
      ...(deps.apiToken ? { token: deps.apiToken } : {}),
      http: deps.http,
      ...(deps.clientId ? { clientId: deps.clientId } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
  describe: (g) =>
    g.api === "konnect"
      ? `kong-openid-connect Konnect ${g.konnectUrl} control plane ${g.controlPlaneId} (access token in ${g.accessTokenSecretName}, ${g.maxConcurrency} parallel, ${g.maxRequestsPerSecond} req/s)`
      : `kong-openid-connect ${g.adminUrl}${g.workspaces ? ` workspaces ${g.workspaces.join(", ")}` : ""} (${g.adminTokenSecretName ? `admin token in ${g.adminTokenSecretName}` : "RBAC off"}, ${g.maxConcurrency} parallel, ${g.maxRequestsPerSecond} req/s)`,
  endpoints: (g) => (g.api === "konnect" ? [["konnectUrl", g.konnectUrl]] : [["adminUrl", g.adminUrl]]),
};
