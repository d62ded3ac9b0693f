export { createManualAdapter } from "./adapter.js";
