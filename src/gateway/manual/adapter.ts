import type { GatewayConfig } from "../../config/schema.js";
import { RotatorError } from "../../errors.js";
import { GatewayErrorCode } from "../errors.js";
import { namedTarget, type GatewayAdapter } from "../types.js";

/**
 * For gateways without an admin API: the targets are the MCP server names the operator listed
 * in the configuration, and every update is a person's job. The adapter never sees a secret
 * leave our hands; it only says what must be done and how to confirm it.
 */
export type ManualGatewayConfig = Extract<GatewayConfig, { kind: "manual" }>;

export interface ManualAdapterOptions {
  config: ManualGatewayConfig;
}

const CONFIRM_ROUTE = "POST /api/rotations/{runId}/confirm";

export function createManualAdapter(options: ManualAdapterOptions): GatewayAdapter {
  const names = [...new Set(options.config.targets)];

  const requireKnown = (id: string): string => {
    if (!names.includes(id)) {
      throw new RotatorError(GatewayErrorCode.TargetNotFound, `Gateway (manual): "${id}" is not one of the configured MCP servers`, {
        hint: "Add the MCP server's name to gateway.targets in the credential-set file, or use the names listed there.",
      });
    }
    return id;
  };

  // These methods await nothing, yet stay async: an abort or an unknown ID must reach the caller
  // as a rejected promise, as from every other GatewayAdapter, not as a synchronous throw.
  /* eslint-disable @typescript-eslint/require-await */
  return {
    kind: "manual",
    // No API: a person updates each server and confirms; the confirmation is the proof.
    capabilities: { delivery: "operator", pickupProof: "operator", maxConcurrency: 1, testConnection: false },
    // The client ID is not known to a manual gateway: the configured names are, by definition, the set's targets.
    listTargets: async (filter, options) => {
      options?.abortSignal?.throwIfAborted();
      return names.map((n) => namedTarget(n, filter.clientId));
    },
    readTarget: async (id, options) => {
      options?.abortSignal?.throwIfAborted();
      return namedTarget(requireKnown(id), "");
    },
    updateClientSecret: async (id, _clientSecret, options) => {
      options?.abortSignal?.throwIfAborted();
      const name = requireKnown(id);
      throw new RotatorError(GatewayErrorCode.ManualActionRequired, `Gateway (manual): the client secret of MCP server "${name}" must be updated by hand`, {
        hint:
          `Open the gateway console, edit MCP server "${name}" → Authentication, paste the new client secret ` +
          `from the current version of the Key Vault secret, and save. Confirm each server as you go ` +
          `(\`mcp-sso-rotator confirm <runId> --target ${name}\`, or ${CONFIRM_ROUTE} with "target"); the old secret is retired only once every server is confirmed.`,
        retryable: false,
      });
    },
  };
  /* eslint-enable @typescript-eslint/require-await */
}
