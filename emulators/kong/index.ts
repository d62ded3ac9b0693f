export { KongEmulator, KongPluginsEmulator } from "./emulator.js";
export { KonnectEmulator } from "./konnect.js";
export type { KongPlugin, SeedPluginInput } from "./state.js";
