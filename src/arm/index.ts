export { ArmClient } from "./client.js";
export { armScope } from "./cloud.js";
