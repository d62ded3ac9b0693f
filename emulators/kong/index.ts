export { KongEmulator, type KongEmulatorOptions } from "./emulator.js";
export { type KongPlugin, type SeedPluginInput } from "./state.js";
