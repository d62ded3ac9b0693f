import { ArmClient } from "../arm/index.js";
import { armEndpointForAuthority } from "../arm/cloud.js";
import { RotatorError } from "../errors.js";
import type { Logger } from "../logging.js";
import type { GatewayAdapterDeps } from "./types.js";

/** What the runtime must hand every Resource Manager kind; without it the group could not be reached, or would match nothing. */
function missingDependency(what: string): RotatorError {
  return new RotatorError("UNEXPECTED", `no ${what} was given for a target group reached through Azure Resource Manager`, {
    hint: "This is a defect in the rotator: report it.",
  });
}

/** A Resource Manager client for a group reached through ARM (src/arm): the group's armEndpoint, else the set's cloud. */
function armClientFor(config: { armEndpoint?: string | undefined }, deps: GatewayAdapterDeps): ArmClient {
  if (!deps.credential) throw missingDependency("credential");
  const endpoint = config.armEndpoint ?? armEndpointForAuthority(deps.authorityHost);
  return new ArmClient({
    http: deps.http,
    credential: deps.credential,
    endpoint,
    ...(deps.authorityHost ? { authorityHost: deps.authorityHost } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
}

/** The Resource Manager endpoint a group names, for the private-network report (the cloud's own is public). */
export function armEndpoints(config: { armEndpoint?: string | undefined }): [field: string, url: string][] {
  return config.armEndpoint ? [["armEndpoint", config.armEndpoint]] : [];
}

/** What every adapter reached through Resource Manager is built from (each reads what it needs). */
export interface ArmAdapterOptions<C> {
  config: C;
  arm: ArmClient;
  /** The set's Key Vault secret: a consumer that references it (without a version) is a target. */
  secret: { vaultUrl: string; secretName: string };
  /** The set's client ID, put on targets that carry none. */
  clientId?: string;
  /** The engine's clock: a status read after our own write or refresh is dated by it. */
  now?: () => Date;
  logger?: Logger;
}

/** What every adapter reached through Resource Manager is built from: its group, an ARM client, the set's secret, its client ID, clock and log. */
export function armAdapterOptions<C extends { armEndpoint?: string | undefined }>(config: C, deps: GatewayAdapterDeps): ArmAdapterOptions<C> {
  // Without the set's secret a consumer's reference would silently match nothing: a wiring defect.
  if (!deps.keyVaultSecret) throw missingDependency("Key Vault secret");
  return {
    config,
    arm: armClientFor(config, deps),
    secret: deps.keyVaultSecret,
    ...(deps.clientId ? { clientId: deps.clientId } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
}
