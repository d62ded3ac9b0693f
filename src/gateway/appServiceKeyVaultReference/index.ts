export { createAppServiceKeyVaultReferenceAdapter } from "./adapter.js";
