import type { GatewayKind } from "../types.js";
import { createCequenceAdapter, type CequenceGatewayConfig } from "./adapter.js";

export const cequenceKind: GatewayKind<CequenceGatewayConfig> = {
  create: (config, deps) =>
    createCequenceAdapter({
      config,
      apiToken: deps.apiToken ?? "",
      http: deps.http,
      ...(deps.rateLimiter ? { rateLimiter: deps.rateLimiter } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
  describe: (g) =>
    `cequence ${g.baseUrl} (tenant ${g.tenant}, token in ${g.apiTokenSecretName}, ` +
    `${g.maxConcurrency} parallel, ${g.maxRequestsPerSecond} req/s${g.testConnection ? ", test connection" : ""})`,
  endpoints: (g) => [["baseUrl", g.baseUrl]],
};
