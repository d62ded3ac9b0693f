export { GatewayEmulator } from "./emulator.js";
export { type EmulatedServer } from "./state.js";
