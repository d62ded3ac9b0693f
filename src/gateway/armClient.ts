import { ArmClient } from "../arm/index.js";
import { armEndpointForAuthority } from "../arm/cloud.js";
import { RotatorError } from "../errors.js";
import type { GatewayAdapterDeps } from "./types.js";

/** A Resource Manager client for a group reached through ARM (src/arm): the group's armEndpoint, else the set's cloud. */
export function armClientFor(config: { armEndpoint?: string | undefined }, deps: GatewayAdapterDeps): ArmClient {
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

/** The Resource Manager endpoint a group names, for the private-network report (the cloud's own is public). */
export function armEndpoints(config: { armEndpoint?: string | undefined }): [field: string, url: string][] {
  return config.armEndpoint ? [["armEndpoint", config.armEndpoint]] : [];
}
