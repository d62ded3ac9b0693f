export { KongEmulator, type KongEmulatorOptions } from "./emulator.js";
export { type KongPlugin, type OidcConfig, type SeedPluginInput } from "./state.js";
export { DEFAULT_ADMIN_TOKEN_HEADER, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./routes.js";
