import { armClientFor, armEndpoints } from "../armClient.js";
import type { GatewayKind } from "../types.js";
import { createApimNamedValueAdapter, type ApimNamedValueConfig } from "./adapter.js";

export const apimNamedValueKind: GatewayKind<ApimNamedValueConfig> = {
  create: (config, deps) =>
    createApimNamedValueAdapter({
      config,
      arm: armClientFor(config, deps),
      secret: deps.keyVaultSecret ?? { vaultUrl: "", secretName: "" },
      ...(deps.clientId ? { clientId: deps.clientId } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
  describe: (g) =>
    g.plainNamedValues
      ? `apim-named-value: writes ${g.plainNamedValues.join(", ")} on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`
      : `apim-named-value: refreshes Key Vault-backed named values on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`,
  endpoints: armEndpoints,
};
