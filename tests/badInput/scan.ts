import { SecretScanner } from "../helpers/secretScan.js";
import type { World } from "../harness/world.js";

/**
 * A scanner holding every secret of the world. Channel URLs count by their unguessable parts only:
 * the "https://127.0.0.1:" every emulator URL starts with is not a secret, and counting it would
 * flag every gateway or vault URL in an error message.
 */
export function worldScanner(w: World, options: { channelSecrets?: boolean } = {}): SecretScanner {
  const scanner = new SecretScanner()
    // The other app's test secrets are "other-secret-<uuid>": only the uuid is secret ("-secret-" is in every Key Vault name here).
    .addSecrets([...w.entra.issuedSecrets(), ...w.gateway.issuedSecrets().map((v) => v.replace(/^other-secret-/, "")), w.operator.secret, w.gatewayApiToken]);
  // A channel's payloads carry its own credential by design (PagerDuty's routing_key): scan those without them.
  if (options.channelSecrets === false) return scanner;
  return scanner.addSecrets(w.channelSecrets.flatMap((v) => (/^https?:\/\//.test(v) ? v.split(/[/?&=:.]/).filter((p) => p.length >= 16) : [v])));
}

/** Settles within `ms` or reports that it did not (a hang), whatever `p` does. */
export async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | { hung: true }> {
  return Promise.race([
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<{ hung: true }>((r) => setTimeout(() => r({ hung: true }), ms).unref()),
  ]);
}
