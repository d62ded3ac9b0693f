export { createManualAdapter, CONFIRM_ROUTE, type ManualAdapterOptions, type ManualGatewayConfig } from "./adapter.js";
