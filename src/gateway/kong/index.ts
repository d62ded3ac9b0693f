export { createKongAdapter, isVaultReference, type KongAdapterOptions, type KongGatewayConfig } from "./adapter.js";
