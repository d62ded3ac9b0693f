import { renewAtDays, type CredentialSet } from "../config/schema.js";
import { DAY_MS } from "../clock.js";

/**
 * When a secret is due for renewal, from the lifetime new secrets really get. A policy cap below the
 * configured lifetime shortens every new secret; a window computed from the configured lifetime
 * would then cover a fresh secret's whole life and every pass would rotate again.
 */
export interface RenewalWindow {
  /** Days before expiry at which the current secret is due. */
  days: number;
  /** Lifetime of new secrets: secret.lifetimeDays, clamped by the effective policy's cap. */
  effectiveLifetimeDays: number;
  /** How `days` was reached, in words (plans, probe evidence). */
  basis: string;
  /** Set when renewBeforeDays is not below the effective lifetime and was lowered. */
  renewBeforeClamped?: { configuredDays: number; usedDays: number };
}

/** secret.lifetimeDays, clamped by a policy cap when there is one below it. */
export function effectiveLifetimeDays(set: CredentialSet, maxPasswordLifetimeDays?: number): number {
  return maxPasswordLifetimeDays !== undefined && maxPasswordLifetimeDays < set.secret.lifetimeDays ? maxPasswordLifetimeDays : set.secret.lifetimeDays;
}

/**
 * max(renewBeforeDays, effectiveLifetime × renewAtFraction). When renewBeforeDays is not below the
 * effective lifetime, every fresh secret would be due at once: renewBeforeDays then counts as half
 * the effective lifetime (a secret serves half its life and keeps half as a buffer), unless the
 * fraction asks for more.
 */
export function renewalWindow(set: CredentialSet, lifetimeDays: number = set.secret.lifetimeDays): RenewalWindow {
  const { renewBeforeDays, renewAtFraction } = set.secret;
  const fractionDays = lifetimeDays * renewAtFraction;
  const r1 = (n: number): number => Math.round(n * 10) / 10;
  const ofLifetime = `${lifetimeDays}-day effective lifetime${lifetimeDays < set.secret.lifetimeDays ? ` (secret.lifetimeDays ${set.secret.lifetimeDays}, capped by policy)` : ""}`;
  if (renewBeforeDays >= lifetimeDays) {
    const used = lifetimeDays / 2;
    const days = renewAtDays(used, renewAtFraction, lifetimeDays);
    return {
      days,
      effectiveLifetimeDays: lifetimeDays,
      basis:
        `renewBeforeDays ${renewBeforeDays} is not below the ${ofLifetime}, so it counts as half of it (${r1(used)}); ` +
        `window = max(${r1(used)}, ${lifetimeDays} × ${renewAtFraction} = ${r1(fractionDays)}) = ${r1(days)} days — lower secret.renewBeforeDays`,
      renewBeforeClamped: { configuredDays: renewBeforeDays, usedDays: r1(used) },
    };
  }
  const days = renewAtDays(renewBeforeDays, renewAtFraction, lifetimeDays);
  return {
    days,
    effectiveLifetimeDays: lifetimeDays,
    basis: `window = max(renewBeforeDays ${renewBeforeDays}, ${ofLifetime} × ${renewAtFraction} = ${r1(fractionDays)}) = ${r1(days)} days`,
  };
}

/** Days before expiry at which a secret is due, for secrets of the given effective lifetime (see effectiveLifetimeDays). */
export function renewWindowDays(set: CredentialSet, lifetimeDays: number): number {
  return renewalWindow(set, lifetimeDays).days;
}

/** When a secret expiring at `endDateTime` falls due, `windowDays` (renewalWindow().days) before. */
export function renewalDueAt(endDateTime: string, windowDays: number): string {
  return new Date(Date.parse(endDateTime) - windowDays * DAY_MS).toISOString();
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
