export { KongEmulator } from "./emulator.js";
export { KonnectEmulator } from "./konnect.js";
