/**
 * How Entra identifiers are written: tenant, client (application) and credential key IDs are GUIDs,
 * any case; a tenant segment may instead be one of the aliases, which name no tenant.
 */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID_PATTERN.test(value);
}

const TENANT_ALIASES: ReadonlySet<string> = new Set(["common", "organizations", "consumers"]);

/** `common`, `organizations` or `consumers` (any case): a sign-in URL segment that names no tenant. */
export function isTenantAlias(segment: string): boolean {
  return TENANT_ALIASES.has(segment.toLowerCase());
}
