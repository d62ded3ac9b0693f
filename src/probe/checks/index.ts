import type { CheckDefinition } from "../context.js";
import { appRegistrationCheck } from "./appRegistration.js";
import { authorizeCheck } from "./authorize.js";
import { discoveryCheck } from "./discovery.js";
import { expiryCheck } from "./expiry.js";
import { gatewayDriftCheck } from "./gatewayDrift.js";
import { policyCheck } from "./policy.js";
import { rotationCheck } from "./rotation.js";
import { signInsCheck } from "./signIns.js";
import { tokenCheck } from "./token.js";

/** Every check, in the order reports list them (the order of CHECK_IDS). */
export const ALL_CHECKS: readonly CheckDefinition[] = [
  discoveryCheck,
  tokenCheck,
  authorizeCheck,
  appRegistrationCheck,
  expiryCheck,
  rotationCheck,
  gatewayDriftCheck,
  policyCheck,
  signInsCheck,
];
