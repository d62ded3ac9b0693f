import { armAdapterOptions, armEndpoints } from "../armClient.js";
import type { GatewayKind } from "../types.js";
import { createApimNamedValueAdapter, type ApimNamedValueConfig } from "./adapter.js";

export const apimNamedValueKind: GatewayKind<ApimNamedValueConfig> = {
  create: (config, deps) => createApimNamedValueAdapter(armAdapterOptions(config, deps)),
  describe: (g) =>
    g.plainNamedValues
      ? `apim-named-value: writes ${g.plainNamedValues.join(", ")} on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`
      : `apim-named-value: refreshes Key Vault-backed named values on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`,
  endpoints: armEndpoints,
};
