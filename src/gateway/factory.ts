import type { GatewayConfig } from "../config/schema.js";
import { cequenceKind } from "./cequence/kind.js";
import { kongKind } from "./kong/kind.js";
import { manualKind } from "./manual/kind.js";
import { apimNamedValueKind } from "./apimNamedValue/kind.js";
import { apimCredentialManagerKind } from "./apimCredentialManager/kind.js";
import { appServiceKeyVaultReferenceKind } from "./appServiceKeyVaultReference/kind.js";
import type { GatewayAdapter, GatewayAdapterDeps, GatewayKind } from "./types.js";

/** Every target kind, by the config schema's `kind`: a new kind is its folder, this line and one schema member. */
const KINDS: { [K in GatewayConfig["kind"]]: GatewayKind<Extract<GatewayConfig, { kind: K }>> } = {
  cequence: cequenceKind,
  manual: manualKind,
  "kong-openid-connect": kongKind,
  "apim-named-value": apimNamedValueKind,
  "apim-credential-manager": apimCredentialManagerKind,
  "appservice-keyvault-reference": appServiceKeyVaultReferenceKind,
};

function kindOf<C extends GatewayConfig>(config: C): GatewayKind<C> {
  // The mapped type pairs each kind with its own config; TypeScript cannot follow that through an index.
  return KINDS[config.kind] as unknown as GatewayKind<C>;
}

/** The adapter for one target group. */
export function createGatewayAdapter(config: GatewayConfig, deps: GatewayAdapterDeps): GatewayAdapter {
  return kindOf(config).create(config, deps);
}

/** One secret-free line describing a target group (check-config, the demo). */
export function describeGatewayGroup(config: GatewayConfig): string {
  return kindOf(config).describe(config);
}

/** The URLs the rotator calls for a target group, by config field. */
export function gatewayGroupEndpoints(config: GatewayConfig): [field: string, url: string][] {
  return kindOf(config).endpoints(config);
}
