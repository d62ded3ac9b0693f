export { createCequenceAdapter, type CequenceGatewayConfig } from "./adapter.js";
