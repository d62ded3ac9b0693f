export type { GatewayAdapter, GatewayCallOptions, GatewayTarget, TargetFilter } from "./types.js";
export { computeFingerprint, fingerprintMatches } from "./fingerprint.js";
export { GatewayErrorCode, toGatewayError, type GatewayErrorContext } from "./errors.js";
export { createRateLimiter, unlimited, type RateLimiter, type RateLimiterOptions } from "./rateLimiter.js";
export { createCequenceAdapter, normaliseUrl, type CequenceAdapterOptions, type CequenceGatewayConfig } from "./cequence/index.js";
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
