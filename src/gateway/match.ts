import type { GatewayTarget, TargetFilter } from "./types.js";

/** How targets are recognised: one rule for discovery, propagation and verification. */

/** Client IDs are GUIDs: compared without case or surrounding blanks. */
export function sameClientId(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Scheme and host are case-insensitive and a trailing slash is noise; the path (tenant) is compared as written. */
export function normaliseUrl(raw: string): string {
  try {
    const u = new URL(raw.trim());
    return `${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, "")}${u.search}`;
  } catch {
    return raw.trim();
  }
}

export function matchesFilter(t: Pick<GatewayTarget, "clientId" | "tokenUrl">, filter: TargetFilter): boolean {
  if (!sameClientId(t.clientId, filter.clientId)) return false;
  if (!filter.tokenUrls || filter.tokenUrls.length === 0) return true;
  const want = new Set(filter.tokenUrls.map(normaliseUrl));
  return want.has(normaliseUrl(t.tokenUrl));
}
