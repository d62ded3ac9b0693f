export { createApimCredentialManagerAdapter } from "./adapter.js";
