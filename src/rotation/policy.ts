import type { CredentialSet } from "../config/schema.js";
import { DAY_MS } from "../clock.js";

/** Days before expiry at which a secret is due: max(renewBeforeDays, lifetime × renewAtFraction). */
export function renewWindowDays(set: CredentialSet): number {
  return Math.max(set.secret.renewBeforeDays, set.secret.lifetimeDays * set.secret.renewAtFraction);
}

export function daysBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / DAY_MS;
}

export function managedDisplayNamePrefix(setName: string): string {
  return `mcp-sso-rotator/${setName}/`;
}

export function managedDisplayName(setName: string, runId: string): string {
  return `${managedDisplayNamePrefix(setName)}${runId}`;
}

export function pendingSecretName(secretName: string): string {
  return `${secretName}-pending`;
}

/** Client credentials always need the tenant's own token endpoint, even for multi-tenant apps. */
export function tenantTokenUrl(set: Pick<CredentialSet, "authorityHost" | "tenantId">): string {
  return `${set.authorityHost.replace(/\/+$/, "")}/${set.tenantId}/oauth2/v2.0/token`;
}

/** The `.default` scope of the set's Graph cloud (graph.microsoft.com, graph.microsoft.us, …). */
export function graphScopeFor(set: Pick<CredentialSet, "graphBaseUrl">): string {
  let origin = "https://graph.microsoft.com";
  try {
    origin = new URL(set.graphBaseUrl).origin;
  } catch {
    // The config schema validates graphBaseUrl; keep the public cloud for a value it let through.
  }
  return `${origin}/.default`;
}
