export { createKongAdapter, type KongAdapterOptions, type KongGatewayConfig } from "./adapter.js";
