import { armClientFor, armEndpoints } from "../armClient.js";
import type { GatewayKind } from "../types.js";
import { createAppServiceKeyVaultReferenceAdapter, type AppServiceReferenceConfig } from "./adapter.js";

export const appServiceKeyVaultReferenceKind: GatewayKind<AppServiceReferenceConfig> = {
  create: (config, deps) =>
    createAppServiceKeyVaultReferenceAdapter({
      config,
      arm: armClientFor(config, deps),
      secret: deps.keyVaultSecret ?? { vaultUrl: "", secretName: "" },
      ...(deps.clientId ? { clientId: deps.clientId } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
  describe: (g) => `appservice-keyvault-reference: refreshes Key Vault references on ${g.sites.length} site(s)/slot(s) (${g.maxConcurrency} parallel)`,
  endpoints: armEndpoints,
};
