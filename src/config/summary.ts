import { checkOutboundUrl } from "./outbound.js";
import { renewAtDays, type AlertChannelConfig, type CredentialSet, type GatewayConfig } from "./schema.js";
import { targetGroupsOf } from "./groups.js";

/**
 * A human-readable, secret-free summary of loaded credential sets (the file holds no secret
 * values, only Key Vault secret names). Used by `check-config` and the demo.
 */
export function describeCredentialSets(sets: readonly CredentialSet[]): string {
  return sets.map(describeCredentialSet).join("\n\n");
}

function describeGroup(g: GatewayConfig): string {
  switch (g.kind) {
    case "cequence":
      return (
        `cequence ${g.baseUrl} (tenant ${g.tenant}, token in ${g.apiTokenSecretName}, ` +
        `${g.maxConcurrency} parallel, ${g.maxRequestsPerSecond} req/s${g.testConnection ? ", test connection" : ""})`
      );
    case "kong-openid-connect":
      return `kong-openid-connect ${g.adminUrl} (${g.adminTokenSecretName ? `admin token in ${g.adminTokenSecretName}` : "RBAC off"}, ${g.maxConcurrency} parallel, ${g.maxRequestsPerSecond} req/s)`;
    case "apim-named-value":
      return g.plainNamedValues
        ? `apim-named-value: writes ${g.plainNamedValues.join(", ")} on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`
        : `apim-named-value: refreshes Key Vault-backed named values on ${g.services.length} service(s) (${g.maxConcurrency} parallel)`;
    case "appservice-keyvault-reference":
      return `appservice-keyvault-reference: refreshes Key Vault references on ${g.sites.length} site(s)/slot(s) (${g.maxConcurrency} parallel)`;
    case "manual":
      return `manual — an operator updates ${g.targets.length > 0 ? g.targets.join(", ") : "the targets listed in the incident"} and confirms`;
  }
}

export function describeCredentialSet(set: CredentialSet): string {
  const s = set.secret;
  const renewAt = renewAtDays(s.renewBeforeDays, s.renewAtFraction, s.lifetimeDays);
  const gateway = targetGroupsOf(set).map(describeGroup).join("\n                  ");
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
    ...(set.gateway.kind === "cequence" ? ([["gateway.baseUrl", set.gateway.baseUrl]] as [string, string][]) : []),
    ...targetGroupsOf(set).flatMap((g, i): [string, string][] => (g.kind === "kong-openid-connect" ? [[`groups[${i}].adminUrl`, g.adminUrl]] : [])),
    ...set.alerts.flatMap((ch, i): [string, string][] =>
      ch.kind === "pagerduty" ? [[`alerts[${i}].eventsUrl`, ch.eventsUrl]] : ch.kind === "opsgenie" ? [[`alerts[${i}].apiUrl`, ch.apiUrl]] : [],
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
