import { armAdapterOptions, armEndpoints } from "../armClient.js";
import type { GatewayKind } from "../types.js";
import { createAppServiceKeyVaultReferenceAdapter, type AppServiceReferenceConfig } from "./adapter.js";

export const appServiceKeyVaultReferenceKind: GatewayKind<AppServiceReferenceConfig> = {
  create: (config, deps) => createAppServiceKeyVaultReferenceAdapter(armAdapterOptions(config, deps)),
  describe: (g) => `appservice-keyvault-reference: refreshes Key Vault references on ${g.sites.length} site(s)/slot(s) (${g.maxConcurrency} parallel)`,
  endpoints: armEndpoints,
};
