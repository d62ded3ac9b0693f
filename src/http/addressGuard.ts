import dns, { type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { SecretClientOptions } from "@azure/keyvault-secrets";
import { createDefaultHttpClient, type HttpClient as AzureHttpClient } from "@azure/core-rest-pipeline";
import { resolvedAddressProblem } from "../config/outbound.js";
import { trustedAgentOptions, type ExtraCa } from "./tls.js";

/**
 * The outbound-address rule at connect time (issue 26, defect 5). The rule on the written URL
 * cannot see what a host name resolves to: a name pointing at 169.254.169.254, at loopback, or at a
 * NAT64/6to4 form of either passed it. The agents below resolve through `guardedLookup`, which
 * refuses such answers before a socket is opened, so every connection — ours and the Azure SDKs'
 * — reaches only an address the rule allows. IP literals skip DNS; the written rule covers them.
 */
export const ADDRESS_REFUSED = "ERR_OUTBOUND_ADDRESS_REFUSED";

class AddressRefusedError extends Error {
  readonly code = ADDRESS_REFUSED;
}

type Lookup = typeof dns.lookup;
/** The pipeline policy type of the Azure SDKs (core-rest-pipeline), named through a direct dependency. */
type PipelinePolicy = NonNullable<SecretClientOptions["additionalPolicies"]>[number]["policy"];

/** A `lookup` for http(s).Agent: the system resolver (or `base`), then the rule on every answer. */
function guardedLookup(base: Lookup = dns.lookup): LookupFunction {
  return (
    hostname: string,
    options: dns.LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses;
      for (const a of list) {
        const problem = resolvedAddressProblem(hostname, a.address);
        // The host name only: it is what the operator configured, and it names no secret.
        if (problem !== undefined) return callback(new AddressRefusedError(`${hostname} was not called: it ${problem}`), "", 0);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      return first
        ? callback(null, first.address, first.family)
        : callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: "ENOTFOUND" }), "", 0);
    });
  };
}

export interface GuardedAgents {
  https: https.Agent;
  http: http.Agent;
}

export function guardedAgents(options: { ca?: ExtraCa; lookup?: Lookup; keepAlive?: boolean } = {}): GuardedAgents {
  const lookup = guardedLookup(options.lookup);
  return {
    https: new https.Agent({ keepAlive: options.keepAlive ?? true, lookup, ...trustedAgentOptions(options.ca) }),
    http: new http.Agent({ keepAlive: options.keepAlive ?? true, lookup }),
  };
}

/**
 * For Azure SDK clients (identity, Key Vault), whose pipelines take an agent per request: the
 * guarded agent, which also carries the trust (http/tls.ts), so these clients need no `tlsOptions`.
 */
export function addressGuardPolicy(options: { ca?: ExtraCa; lookup?: Lookup } = {}): PipelinePolicy {
  const agents = guardedAgents(options);
  return {
    name: "outboundAddressGuard",
    sendRequest(request, next) {
      request.agent ??= request.url.startsWith("https:") ? agents.https : agents.http;
      return next(request);
    },
  };
}

/**
 * For Azure SDK clients that replace `additionalPolicies` with their own (ManagedIdentityCredential
 * sets its IMDS retry policy in their place) and reach both http endpoints (IMDS, App Service's
 * identity endpoint) and https ones (workload identity, Arc): the SDK's own HTTP client, given
 * the guarded agent for each request's protocol. The `agent` option cannot do this: one agent
 * serves one protocol.
 */
export function guardedAzureHttpClient(options: { ca?: ExtraCa; lookup?: Lookup } = {}): AzureHttpClient {
  const agents = guardedAgents(options);
  const inner = createDefaultHttpClient();
  return {
    sendRequest(request) {
      request.agent ??= request.url.startsWith("https:") ? agents.https : agents.http;
      return inner.sendRequest(request);
    },
  };
}
