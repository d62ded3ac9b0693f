import { randomUUID } from "node:crypto";
import type { World } from "../tests/harness/world.js";

/** Seeds `n` MCP servers of another application, so a listing pages through them as it would on a shared gateway. */
export function seedOtherServers(world: World, n: number): void {
  const tokenUrl = `${world.authorityHost}/${world.tenantId}/oauth2/v2.0/token`;
  const otherClient = randomUUID();
  for (let i = 0; i < n; i++) {
    world.gateway.seedServer({
      name: `other-${i}`,
      tokenName: "other",
      tokenUrl,
      clientId: otherClient,
      clientSecret: `other-${randomUUID()}`,
      scopes: ["openid"],
      additionalParameters: {},
    });
  }
}
