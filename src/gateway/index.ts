export type { GatewayAdapter, GatewayCallOptions, GatewayTarget, TargetFilter } from "./types.js";
export { computeFingerprint, fingerprintMatches } from "./fingerprint.js";
export { GatewayErrorCode, mapGatewayError, type GatewayErrorContext } from "./errors.js";
export { matchesFilter, normaliseUrl, sameClientId } from "./match.js";
export { createRateLimiter, type RateLimiter, type RateLimiterOptions } from "./rateLimiter.js";
export { createCequenceAdapter, type CequenceAdapterOptions, type CequenceGatewayConfig } from "./cequence/index.js";
export { createManualAdapter, CONFIRM_ROUTE, type ManualAdapterOptions, type ManualGatewayConfig } from "./manual/index.js";
export { createGatewayAdapter, type GatewayAdapterDeps } from "./factory.js";
export {
  propagateSecret,
  verifyTargets,
  type PropagateOptions,
  type PropagateRetryOptions,
  type TargetOutcome,
  type TargetVerification,
  type VerifyOptions,
} from "./propagate.js";
