import { checkOutboundUrl } from "./outbound.js";
import { renewAtDays, type AlertChannelConfig, type CredentialSet } from "./schema.js";
import { targetGroupsOf } from "./groups.js";
import { describeGatewayGroup, gatewayGroupEndpoints } from "../gateway/factory.js";

/**
 * A human-readable, secret-free summary of loaded credential sets (the file holds no secret
 * values, only Key Vault secret names). Used by `check-config` and the demo.
 */
export function describeCredentialSets(sets: readonly CredentialSet[]): string {
  return sets.map(describeCredentialSet).join("\n\n");
}

export function describeCredentialSet(set: CredentialSet): string {
  const s = set.secret;
  const renewAt = renewAtDays(s.renewBeforeDays, s.renewAtFraction, s.lifetimeDays);
  const gateway = targetGroupsOf(set).map(describeGatewayGroup).join("\n                  ");
  const lines = [
    `${set.name}`,
    `  app             tenant ${set.tenantId}, client ${set.clientId}${set.multiTenant ? " (multi-tenant)" : ""}`,
    `  cloud           ${set.authorityHost} · Graph ${set.graphBaseUrl}`,
    `  key vault       ${set.keyVault.url} secret ${set.keyVault.secretName} (+ ${set.keyVault.secretName}-pending)`,
    `  secret policy   lifetime ${s.lifetimeDays} d, renew with ${round(renewAt)} d left, grace ${s.gracePeriodHours} h` +
      (s.adoptKeyId ? `, adopt ${s.adoptKeyId}` : ""),
    `  verification    ${set.verification.consecutiveSuccesses} successes in a row${set.verification.minStableSeconds ? ` over at least ${set.verification.minStableSeconds} s` : ""} within ${set.verification.budgetSeconds} s`,
    `  sign-in         redirect ${set.redirectUri}, scopes ${set.scopes.join(" ")}`,
    `  gateway         ${gateway}`,
    `  alerts          ${set.alerts.length > 0 ? set.alerts.map(describeChannel).join("; ") : "none (incidents are only logged)"}`,
  ];
  const privates = privateAddresses(set);
  if (privates.length > 0) {
    lines.push(
      `  private network ${privates.map((p) => `${p.field} ${p.url} (${p.range})`).join("; ")} — reachable only from inside that network (VNet integration)`,
    );
  }
  return lines.join("\n");
}

/**
 * The set's configured URLs that point into a private range. Allowed (gateways behind a VNet are
 * real) but listed, so an operator sees which calls need the Function App's VNet integration.
 */
function privateAddresses(set: CredentialSet): { field: string; url: string; range: string }[] {
  const urls: [string, string][] = [
    ["authorityHost", set.authorityHost],
    ["graphBaseUrl", set.graphBaseUrl],
    ["keyVault.url", set.keyVault.url],
    // A set written the old way has one group, under `gateway`.
    ...targetGroupsOf(set).flatMap((g, i) =>
      gatewayGroupEndpoints(g).map(([field, url]): [string, string] => [`${set.groups ? `groups[${i}]` : "gateway"}.${field}`, url]),
    ),
    // A channel's configured endpoints are its *Url fields (the schema's naming rule); its webhook URLs live in Key Vault.
    ...set.alerts.flatMap((ch, i) =>
      Object.entries(ch)
        .filter((e): e is [string, string] => e[0].endsWith("Url") && typeof e[1] === "string")
        .map(([field, url]): [string, string] => [`alerts[${i}].${field}`, url]),
    ),
  ];
  const out: { field: string; url: string; range: string }[] = [];
  for (const [field, url] of urls) {
    const v = checkOutboundUrl(url, { example: url });
    if (v.ok && v.privateRange !== undefined) out.push({ field, url, range: v.privateRange });
  }
  return out;
}

function describeChannel(ch: AlertChannelConfig): string {
  return `${ch.kind}${ch.name ? ` ${ch.name}` : ""} ≥ ${ch.minSeverity}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
