import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";

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

/**
 * The trust as one TLS secure context, built once per CA. Handing Node a `ca` list instead costs
 * on every request: the https agent writes the whole list (Node's ~150 roots, about 200 KB) into
 * each connection-pool key, several times a request, and parses it again for every connection.
 * That was a third of the CPU of a rotation pass against the emulators.
 */
const contexts = new Map<string, SecureContext>();
export function trustedSecureContext(extraCa: ExtraCa | undefined): SecureContext | undefined {
  const ca = trustedCas(extraCa);
  if (!ca) return undefined;
  const key = extraCa!.toString();
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext({ ca });
    contexts.set(key, context);
  }
  return context;
}

/** Options for an https.Agent that trusts the public roots plus the extra CA (nothing added without one). */
export function trustedAgentOptions(extraCa: ExtraCa | undefined): { secureContext: SecureContext } | Record<string, never> {
  const secureContext = trustedSecureContext(extraCa);
  return secureContext ? { secureContext } : {};
}
