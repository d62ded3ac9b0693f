export { createCequenceAdapter, TENANT_HEADER, type CequenceAdapterOptions, type CequenceGatewayConfig } from "./adapter.js";
export {
  mcpServerPageSchema,
  mcpServerSchema,
  oauth2AuthenticationSchema,
  testConnectionSchema,
  parseGatewayResponse,
  type McpServer,
  type OAuth2Authentication,
} from "./schemas.js";
