import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { KongEmulator } from "../../emulators/kong/index.js";
import type { World } from "../harness/world.js";
import type { Scenario } from "./harness.js";
import { useWorldArm } from "./worldArm.js";

const SUB = "/subscriptions/00000000-0000-0000-0000-00000000c001/resourceGroups/rg-estate/providers";
export const ESTATE_APIM = `${SUB}/Microsoft.ApiManagement/service/apim-estate`;
export const ESTATE_SITE = `${SUB}/Microsoft.Web/sites/estate-func`;

/**
 * A set whose secret lives in a consumer of every kind that can prove pickup, beside the world's
 * cequence gateway: a Kong Admin API plugin, a Key Vault-backed and a plain API Management named
 * value, a client-credentials connection, and a Function app's Key Vault reference — six groups,
 * in that order. The emulators start before the file's first test and are its ground truth.
 */
export function useEveryKindEstate(world: World) {
  const adminToken = `kong-admin-${randomUUID()}`;
  const armEmulator = useWorldArm(world, [ESTATE_APIM]);
  const kong = new KongEmulator({ adminToken, clock: world.clock });
  beforeAll(async () => {
    await kong.start();
    world.keyVault.seedSecret("kong-admin-token", adminToken);
  });
  afterAll(() => kong.close());
  return {
    get arm() {
      return armEmulator;
    },
    kong,
    /** The set's `groups` (overrides for Scenario.create). */
    overrides() {
      const arm = { armEndpoint: armEmulator.url };
      return {
        gateway: undefined,
        groups: [
          world.cequenceGroup(),
          { kind: "kong-openid-connect", adminUrl: kong.url, adminTokenSecretName: "kong-admin-token", maxRequestsPerSecond: 500 },
          { kind: "apim-named-value", services: [ESTATE_APIM], ...arm },
          { kind: "apim-named-value", services: [ESTATE_APIM], plainNamedValues: ["sso-plain"], ...arm },
          { kind: "apim-credential-manager", services: [ESTATE_APIM], ...arm },
          { kind: "appservice-keyvault-reference", sites: [ESTATE_SITE], ...arm },
        ],
      };
    },
    /** One consumer of each kind, all holding (or referencing) the hand-made secret the rotation replaces. */
    seed(s: Scenario): void {
      const old = s.seeded.handMade.secretText;
      const clientId = s.set.clientId;
      const uri = `${world.keyVault.url}/secrets/${s.set.keyVault.secretName}`;
      kong.reset();
      kong.seedPlugin({ issuer: "https://issuer.example", clientIds: [clientId], clientSecrets: [old], instanceName: "oidc-orders" });
      armEmulator.apim.seedNamedValue(ESTATE_APIM, { name: "sso-client-secret", keyVault: { secretIdentifier: uri } });
      armEmulator.apim.seedNamedValue(ESTATE_APIM, { name: "sso-plain", value: old, secret: true });
      armEmulator.apim.seedProvider(ESTATE_APIM, { name: "aad-cc", grantType: "clientCredentials", tenantId: world.tenantId });
      armEmulator.apim.seedConnection(ESTATE_APIM, "aad-cc", { name: "cc1", clientId, clientSecret: old });
      armEmulator.appService.seedSite(ESTATE_SITE, { settings: { SSO_CLIENT_SECRET: `@Microsoft.KeyVault(SecretUri=${uri})` } });
    },
  };
}
