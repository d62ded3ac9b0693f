import type { TokenCredential } from "@azure/core-auth";
import { ArmClient } from "../arm/index.js";
import type { GatewayConfig } from "../config/schema.js";
import type { HttpClient } from "../http/client.js";
import type { Logger } from "../logging.js";
import type { Clock } from "../clock.js";
import { RotatorError } from "../errors.js";
import { armEndpointForAuthority } from "../arm/cloud.js";
import { createCequenceAdapter } from "./cequence/index.js";
import { createManualAdapter } from "./manual/index.js";
import { createKongAdapter } from "./kong/index.js";
import { createApimNamedValueAdapter } from "./apimNamedValue/index.js";
import { createAppServiceKeyVaultReferenceAdapter } from "./appServiceKeyVaultReference/index.js";
import type { RateLimiter } from "./rateLimiter.js";
import type { GatewayAdapter } from "./types.js";

export interface GatewayAdapterDeps {
  /** The gateway admin API token (from Key Vault); required for `cequence`, and for `kong-openid-connect` with RBAC on. */
  apiToken?: string;
  http: HttpClient;
  rateLimiter?: RateLimiter;
  logger?: Logger;
  /** The set's client ID (Kong reads a plugin's aligned secret by it). */
  clientId?: string;
  /** The rotator's identity, for kinds reached through Azure Resource Manager. */
  credential?: TokenCredential;
  /** The set's Entra authority: the Resource Manager of its cloud is used unless the group names one. */
  authorityHost?: string;
  /** The set's Key Vault secret, for consumers that reference it. */
  keyVaultSecret?: { vaultUrl: string; secretName: string };
  /** The runtime's clock (a refresh is dated by it). */
  clock?: Clock;
}

/** A Resource Manager client for a group (src/arm): the group's armEndpoint, else the set's cloud. */
function armClientFor(config: { armEndpoint?: string | undefined }, deps: GatewayAdapterDeps): ArmClient {
  if (!deps.credential) {
    throw new RotatorError("UNEXPECTED", "no credential was given for a target group reached through Azure Resource Manager", {
      hint: "This is a defect in the rotator: report it.",
    });
  }
  const endpoint = config.armEndpoint ?? armEndpointForAuthority(deps.authorityHost);
  return new ArmClient({
    http: deps.http,
    credential: deps.credential,
    endpoint,
    ...(deps.authorityHost ? { authorityHost: deps.authorityHost } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
}

/** The Key Vault secret holding the gateway's admin API token, when its kind has an API to call. */
export function gatewayApiTokenSecretName(config: GatewayConfig): string | undefined {
  if (config.kind === "cequence") return config.apiTokenSecretName;
  if (config.kind === "kong-openid-connect") return config.adminTokenSecretName;
  return undefined;
}

/** The adapter for a set's `gateway` block. */
export function createGatewayAdapter(config: GatewayConfig, deps: GatewayAdapterDeps): GatewayAdapter {
  switch (config.kind) {
    case "cequence":
      return createCequenceAdapter({
        config,
        apiToken: deps.apiToken ?? "",
        http: deps.http,
        ...(deps.rateLimiter ? { rateLimiter: deps.rateLimiter } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    case "manual":
      return createManualAdapter({ config });
    case "kong-openid-connect":
      return createKongAdapter({
        config,
        ...(deps.apiToken ? { adminToken: deps.apiToken } : {}),
        http: deps.http,
        ...(deps.clientId ? { clientId: deps.clientId } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    case "apim-named-value":
      return createApimNamedValueAdapter({
        config,
        arm: armClientFor(config, deps),
        secret: deps.keyVaultSecret ?? { vaultUrl: "", secretName: "" },
        ...(deps.clientId ? { clientId: deps.clientId } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    case "appservice-keyvault-reference":
      return createAppServiceKeyVaultReferenceAdapter({
        config,
        arm: armClientFor(config, deps),
        secret: deps.keyVaultSecret ?? { vaultUrl: "", secretName: "" },
        ...(deps.clientId ? { clientId: deps.clientId } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    default: {
      const never: never = config;
      throw new TypeError(`unknown gateway kind ${JSON.stringify((never as { kind?: unknown }).kind)}`);
    }
  }
}
