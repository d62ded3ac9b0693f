import type { CredentialSet } from "../config/schema.js";
import { isGuid, isTenantAlias } from "../entra/ids.js";
import { authorizeUrlFor } from "../entra/token.js";

/**
 * Reading Entra endpoint URLs the way the checks compare them: which host, which tenant segment,
 * which endpoint. Pure functions, so the comparison rules (custom domains, national clouds,
 * `common`) are tested without any service.
 */
export interface EntraUrl {
  /** Lower-case origin, default port dropped (`https://login.microsoftonline.com`). */
  origin: string;
  /** The first path segment, lower-cased: a GUID, a domain or an alias. */
  tenant: string;
  kind: "token" | "authorize" | "discovery" | "other";
  version: "v2" | "v1" | "unknown";
}

export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return undefined;
  }
}

export function parseEntraUrl(url: string): EntraUrl | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const segments = u.pathname.split("/").filter(Boolean);
  const tenant = decodeURIComponent(segments[0] ?? "").toLowerCase();
  const rest = segments.slice(1).join("/").toLowerCase();
  let kind: EntraUrl["kind"] = "other";
  let version: EntraUrl["version"] = "unknown";
  if (rest === "oauth2/v2.0/token") [kind, version] = ["token", "v2"];
  else if (rest === "oauth2/token") [kind, version] = ["token", "v1"];
  else if (rest === "oauth2/v2.0/authorize") [kind, version] = ["authorize", "v2"];
  else if (rest === "oauth2/authorize") [kind, version] = ["authorize", "v1"];
  else if (rest === "v2.0/.well-known/openid-configuration") [kind, version] = ["discovery", "v2"];
  else if (rest === ".well-known/openid-configuration") [kind, version] = ["discovery", "v1"];
  return { origin: u.origin.toLowerCase(), tenant, kind, version };
}

/** Users of a multi-tenant app sign in through `common`; a single-tenant app through its tenant. */
export function expectedAuthorizeUrl(set: Pick<CredentialSet, "authorityHost" | "tenantId" | "multiTenant">): string {
  return authorizeUrlFor(set.authorityHost, set.multiTenant ? "common" : set.tenantId);
}

/**
 * Verified domain names seen in URLs, resolved through their discovery documents: the tenant GUID,
 * `null` when Entra does not know the domain (AADSTS90002), `undefined` when it could not be asked.
 */
export type DomainMap = ReadonlyMap<string, string | null | undefined>;

/**
 * How a URL's tenant segment relates to the set's tenant. `domain` is a verified domain name that
 * resolved to the set's tenant; `unresolved` a domain we could not resolve; `other` names a
 * different (or no) tenant.
 */
export type TenantRelation = "same" | "domain" | "alias" | "unresolved" | "other";

export function relateTenant(segment: string, tenantId: string, domains?: DomainMap): TenantRelation {
  const s = segment.toLowerCase();
  if (s === tenantId.toLowerCase()) return "same";
  if (isTenantAlias(s)) return "alias";
  if (isGuid(s)) return "other";
  if (!domains?.has(s)) return "unresolved";
  const resolved = domains.get(s);
  if (resolved === undefined) return "unresolved";
  if (resolved === null) return "other";
  return resolved.toLowerCase() === tenantId.toLowerCase() ? "domain" : "other";
}

/**
 * The `cloud_instance_name` each known Entra sign-in host's discovery document names. A tenant of
 * another cloud answers with that cloud's instance: signing in through the wrong host fails.
 */
const CLOUD_INSTANCES: readonly { hosts: readonly string[]; instances: readonly string[]; name: string }[] = [
  { name: "the global Azure cloud", hosts: ["login.microsoftonline.com"], instances: ["microsoftonline.com"] },
  { name: "Azure US Government", hosts: ["login.microsoftonline.us"], instances: ["microsoftonline.us"] },
  {
    name: "Azure operated by 21Vianet (China)",
    hosts: ["login.chinacloudapi.cn", "login.partner.microsoftonline.cn"],
    instances: ["partner.microsoftonline.cn", "chinacloudapi.cn"],
  },
];

/**
 * A mismatch between the configured sign-in host's cloud and the cloud a discovery document
 * names, or undefined when they agree or either is unknown (custom domains, emulators).
 */
export function cloudMismatch(authorityHost: string, cloudInstanceName: string | undefined): { expected: string; actual: string } | undefined {
  if (!cloudInstanceName) return undefined;
  let host: string;
  try {
    host = new URL(authorityHost).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  const configured = CLOUD_INSTANCES.find((c) => c.hosts.includes(host));
  const named = CLOUD_INSTANCES.find((c) => c.instances.includes(cloudInstanceName.toLowerCase()));
  if (!configured || !named || configured === named) return undefined;
  return { expected: configured.name, actual: named.name };
}

/**
 * Whether an endpoint URL published by discovery (or stored on the gateway) is the expected one:
 * same origin, same endpoint, and a tenant segment that names the same tenant.
 */
export interface EndpointComparison {
  ok: boolean;
  problem?: "unparseable" | "host" | "endpoint" | "version" | "tenant-alias" | "tenant-other" | "tenant-unresolved";
  actual?: EntraUrl;
}

export function compareEndpoint(
  actualUrl: string,
  expected: { origin: string; kind: EntraUrl["kind"]; tenant: string; allowAlias?: boolean },
  domains?: DomainMap,
): EndpointComparison {
  const actual = parseEntraUrl(actualUrl);
  if (!actual) return { ok: false, problem: "unparseable" };
  if (actual.origin !== expected.origin.toLowerCase()) return { ok: false, problem: "host", actual };
  if (actual.kind !== expected.kind) return { ok: false, problem: "endpoint", actual };
  if (actual.version !== "v2") return { ok: false, problem: "version", actual };
  const expectedTenant = expected.tenant.toLowerCase();
  if (isTenantAlias(expectedTenant)) {
    return actual.tenant === expectedTenant ? { ok: true, actual } : { ok: false, problem: "tenant-other", actual };
  }
  const rel = relateTenant(actual.tenant, expectedTenant, domains);
  if (rel === "same" || rel === "domain") return { ok: true, actual };
  if (rel === "alias") return expected.allowAlias ? { ok: true, actual } : { ok: false, problem: "tenant-alias", actual };
  if (rel === "unresolved") return { ok: false, problem: "tenant-unresolved", actual };
  return { ok: false, problem: "tenant-other", actual };
}

/** Distinct domain-name tenant segments on the authority's origin, to resolve through discovery. */
export function domainTenantsIn(urls: readonly (string | undefined)[], authorityOrigin: string): string[] {
  const out = new Set<string>();
  for (const url of urls) {
    if (!url) continue;
    const p = parseEntraUrl(url);
    if (!p || p.origin !== authorityOrigin.toLowerCase() || !p.tenant) continue;
    if (!isGuid(p.tenant) && !isTenantAlias(p.tenant)) out.add(p.tenant);
  }
  return [...out];
}

/** Case-insensitive lookup of a gateway additional parameter (`tenantID`, `authorizationUrl`, `redirectUri`). */
export function paramOf(params: Record<string, string> | undefined, name: string): { key: string; value: string } | undefined {
  if (!params) return undefined;
  if (typeof params[name] === "string") return { key: name, value: params[name] };
  const key = Object.keys(params).find((k) => k.toLowerCase() === name.toLowerCase());
  return key !== undefined && typeof params[key] === "string" ? { key, value: params[key] } : undefined;
}
