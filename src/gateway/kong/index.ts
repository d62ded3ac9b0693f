export { createKongAdapter, type KongGatewayConfig } from "./adapter.js";
