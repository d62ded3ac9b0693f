import type dns from "node:dns";
import { addressGuardPolicy, guardedAzureHttpClient } from "../http/addressGuard.js";
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import { ConfigError } from "../errors.js";
import type { Redactor } from "../redact.js";
import { isLoopbackUrl } from "../config/outbound.js";
import type { ExtraCa } from "../http/tls.js";

/**
 * The identity the rotator itself uses for Graph and Key Vault. In Azure it is the Function App's
 * managed identity; locally (emulators, demo) a client secret of an operator app registration.
 */
export interface AzureCredentialOptions {
  /** All three, or none (managed identity). */
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** e.g. `https://login.microsoftonline.com` (default) or the Entra emulator URL. */
  authorityHost?: string;
  /** Client ID of a user-assigned managed identity; omitted means the system-assigned one. */
  managedIdentityClientId?: string;
  /** PEM of an extra CA to trust besides the public roots (the emulators' CA; see http/tls.ts). */
  ca?: string | Buffer;
  /** Tenants besides `tenantId` this credential may get tokens from (a Key Vault challenge can name another). */
  additionallyAllowedTenants?: string[];
  retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** The client secret is registered here so no log line or error can carry it. */
  redactor?: Redactor;
  /** The resolver behind the connect-time address rule (tests give a hostile one); the system's by default. */
  lookup?: typeof dns.lookup;
}

export function createAzureCredential(options: AzureCredentialOptions = {}): TokenCredential {
  const { tenantId, clientId, clientSecret, authorityHost, ca, lookup } = options;
  const guard = { ...(ca !== undefined ? { ca } : {}), ...(lookup ? { lookup } : {}) };
  const given = [tenantId, clientId, clientSecret].filter((v) => v !== undefined && v !== "").length;
  const issues: string[] = [];
  if (given > 0 && given < 3) {
    for (const [name, value] of [
      ["tenantId", tenantId],
      ["clientId", clientId],
      ["clientSecret", clientSecret],
    ] as const) {
      if (!value) issues.push(`${name}: required when any of tenantId/clientId/clientSecret is set (set all three, or none to use the managed identity)`);
    }
  }
  if (authorityHost !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(authorityHost);
    } catch {
      issues.push(`authorityHost: '${authorityHost}' is not a URL`);
    }
    if (url && url.protocol !== "https:")
      issues.push(`authorityHost: must be https (Entra and the identity library refuse plain http), got '${authorityHost}'`);
  }
  if (issues.length > 0) throw new ConfigError("Azure credential options", issues);

  const retryOptions = options.retryOptions ? { retryOptions: options.retryOptions } : {};

  if (tenantId && clientId && clientSecret) {
    options.redactor?.add(clientSecret);
    return new ClientSecretCredential(tenantId, clientId, clientSecret, {
      ...(authorityHost ? { authorityHost } : {}),
      // Without this MSAL asks login.microsoftonline.com to validate a loopback authority and fails
      // after ~10 s with a misleading endpoints_resolution_error.
      // A local emulator authority: instance discovery would otherwise call the real cloud and fail.
      disableInstanceDiscovery: isLoopbackUrl(authorityHost),
      ...(options.additionallyAllowedTenants ? { additionallyAllowedTenants: options.additionallyAllowedTenants } : {}),
      // The token endpoint resolves through the outbound-address rule, whose agent carries the
      // trust (not managed identity, whose endpoint is the link-local IMDS by design).
      additionalPolicies: [{ policy: addressGuardPolicy(guard), position: "perCall" }],
      ...retryOptions,
    });
  }
  return new ManagedIdentityCredential({
    ...(options.managedIdentityClientId ? { clientId: options.managedIdentityClientId } : {}),
    ...(authorityHost ? { authorityHost } : {}),
    // Its endpoint is resolved through the address rule too (IMDS is an IP literal, judged as
    // written; App Service's is localhost); the guarded agents carry the trust (http/tls.ts).
    httpClient: guardedAzureHttpClient(guard),
    ...retryOptions,
  });
}

/**
 * The identity for identity-based storage (AzureWebJobsStorage__accountName): the user-assigned
 * managed identity AzureWebJobsStorage__clientId names, or DefaultAzureCredential without one.
 * Both connect through the address rule like the rotator's own credential. It matters beyond
 * storage: MSAL keeps the first managed-identity source of the process, with the HTTP client of
 * the credential that found it, for every managed identity after it.
 */
export function createStorageCredential({
  clientId,
  ca,
  lookup,
}: { clientId?: string | undefined; ca?: ExtraCa; lookup?: typeof dns.lookup } = {}): TokenCredential {
  return clientId
    ? createAzureCredential({ managedIdentityClientId: clientId, ca, lookup })
    : new DefaultAzureCredential({ httpClient: guardedAzureHttpClient({ ca, lookup }) });
}
