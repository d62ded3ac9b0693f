import { armAdapterOptions, armEndpoints } from "../armClient.js";
import type { GatewayKind } from "../types.js";
import { createApimCredentialManagerAdapter, type CredentialManagerConfig } from "./adapter.js";

export const apimCredentialManagerKind: GatewayKind<CredentialManagerConfig> = {
  create: (config, deps) => createApimCredentialManagerAdapter(armAdapterOptions(config, deps)),
  describe: (g) => `apim-credential-manager: providers and connections on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`,
  endpoints: armEndpoints,
};
