export { createApimNamedValueAdapter } from "./adapter.js";
