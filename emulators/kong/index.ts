export { KongEmulator } from "./emulator.js";
