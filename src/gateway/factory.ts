import { type GatewayConfig } from "../config/schema.js";
import type { HttpClient } from "../http/client.js";
import type { Logger } from "../logging.js";
import { createCequenceAdapter } from "./cequence/index.js";
import { createManualAdapter } from "./manual/index.js";
import { createKongAdapter } from "./kong/index.js";
import type { RateLimiter } from "./rateLimiter.js";
import type { GatewayAdapter } from "./types.js";

export interface GatewayAdapterDeps {
  /** The gateway admin API token (from Key Vault); required for `cequence`, for `kong-openid-connect` on Konnect, and on the Admin API with RBAC on. */
  apiToken?: string;
  http: HttpClient;
  rateLimiter?: RateLimiter;
  logger?: Logger;
  /** The set's client ID (Kong reads a plugin's aligned secret by it). */
  clientId?: string;
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
        ...(deps.apiToken ? { token: deps.apiToken } : {}),
        http: deps.http,
        ...(deps.clientId ? { clientId: deps.clientId } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    default: {
      const never: never = config;
      throw new TypeError(`unknown gateway kind ${JSON.stringify((never as { kind?: unknown }).kind)}`);
    }
  }
}
