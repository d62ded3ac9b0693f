import { armClientFor, armEndpoints } from "../armClient.js";
import type { GatewayKind } from "../types.js";
import { createApimCredentialManagerAdapter, type CredentialManagerConfig } from "./adapter.js";

export const apimCredentialManagerKind: GatewayKind<CredentialManagerConfig> = {
  create: (config, deps) =>
    createApimCredentialManagerAdapter({
      config,
      arm: armClientFor(config, deps),
      ...(deps.clientId ? { clientId: deps.clientId } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
  describe: (g) => `apim-credential-manager: providers and connections on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`,
  endpoints: armEndpoints,
};
