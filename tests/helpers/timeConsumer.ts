import { namedTarget, type GatewayAdapter } from "../../src/gateway/types.js";

/**
 * A `time`-proof consumer (no real kind declares that proof: API Management and App Service prove
 * by status): it declares only its capabilities and its targets, and refuses every read and write,
 * so the engine and the probe are shown to need neither.
 */
export function timeProofConsumer(delayMs: number, names: string[]): GatewayAdapter {
  const refuse = (): Promise<never> => Promise.reject(new Error("a time-proof consumer is never read or written"));
  return {
    kind: "manual",
    capabilities: { delivery: "keyVault", pickupProof: "time", maxConcurrency: 1, testConnection: false, maxPickupDelayMs: delayMs },
    listTargets: (filter) => Promise.resolve(names.map((n) => namedTarget(n, filter.clientId))),
    readTarget: refuse,
    updateClientSecret: refuse,
  };
}
