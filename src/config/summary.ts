import type { AlertChannelConfig, CredentialSet } from "./schema.js";

/**
 * A human-readable, secret-free summary of loaded credential sets (the file holds no secret
 * values, only Key Vault secret names). Used by `check-config` and the demo.
 */
export function describeCredentialSets(sets: readonly CredentialSet[]): string {
  return sets.map(describeCredentialSet).join("\n\n");
}

export function describeCredentialSet(set: CredentialSet): string {
  const s = set.secret;
  const renewAt = Math.max(s.renewBeforeDays, s.lifetimeDays * s.renewAtFraction);
  const gateway =
    set.gateway.kind === "cequence"
      ? `cequence ${set.gateway.baseUrl} (tenant ${set.gateway.tenant}, token in ${set.gateway.apiTokenSecretName}, ` +
        `${set.gateway.maxConcurrency} parallel, ${set.gateway.maxRequestsPerSecond} req/s${set.gateway.testConnection ? ", test connection" : ""})`
      : `manual — an operator updates ${set.gateway.targets.length > 0 ? set.gateway.targets.join(", ") : "the targets listed in the incident"} and confirms`;
  const lines = [
    `${set.name}`,
    `  app             tenant ${set.tenantId}, client ${set.clientId}${set.multiTenant ? " (multi-tenant)" : ""}`,
    `  cloud           ${set.authorityHost} · Graph ${set.graphBaseUrl}`,
    `  key vault       ${set.keyVault.url} secret ${set.keyVault.secretName} (+ ${set.keyVault.secretName}-pending)`,
    `  secret policy   lifetime ${s.lifetimeDays} d, renew with ${round(renewAt)} d left, grace ${s.gracePeriodHours} h` +
      (s.adoptKeyId ? `, adopt ${s.adoptKeyId}` : ""),
    `  verification    ${set.verification.consecutiveSuccesses} successes in a row within ${set.verification.budgetSeconds} s`,
    `  sign-in         redirect ${set.redirectUri}, scopes ${set.scopes.join(" ")}`,
    `  gateway         ${gateway}`,
    `  alerts          ${set.alerts.length > 0 ? set.alerts.map(describeChannel).join("; ") : "none (incidents are only logged)"}`,
  ];
  return lines.join("\n");
}

function describeChannel(ch: AlertChannelConfig): string {
  return `${ch.kind}${ch.name ? ` ${ch.name}` : ""} ≥ ${ch.minSeverity}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
