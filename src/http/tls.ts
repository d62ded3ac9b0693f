import { rootCertificates } from "node:tls";

/**
 * The one place an extra CA (EXTRA_CA_FILE: the local emulators' CA; refused in Production)
 * becomes TLS trust. Every client that takes a CA gets it from here, so they all trust the same
 * thing: Node's public roots plus that CA. A bare `ca` option would replace the public roots,
 * which made our HTTP layer and the identity client trust only the emulators while Key Vault
 * trusted both.
 *
 * Who uses it: our HTTP layer's https.Agent (every call that is not an Azure SDK's, Microsoft
 * Graph included), and the `tlsOptions` of the Azure SDK clients (identity, Key Vault), which keep
 * their own pipeline.
 */
export type ExtraCa = string | Buffer;

/** The CA list for Node's TLS options, or undefined (system trust store only) without an extra CA. */
export function trustedCas(extraCa: ExtraCa | undefined): (string | Buffer)[] | undefined {
  if (extraCa === undefined || extraCa.length === 0) return undefined;
  return [...rootCertificates, extraCa];
}

/** `tlsOptions` for an Azure SDK client (`@azure/identity`, `@azure/keyvault-secrets`), or nothing. */
export function azureTlsOptions(extraCa: ExtraCa | undefined): { tlsOptions: { ca: (string | Buffer)[] } } | Record<string, never> {
  const ca = trustedCas(extraCa);
  return ca ? { tlsOptions: { ca } } : {};
}
