import { isGuid, isTenantAlias } from "../entra/ids.js";
import type { HttpClient } from "../http/client.js";

/**
 * Does a target's token URL point at the set's tenant? The same tenant is written many ways:
 * its GUID in any case, a domain of the tenant (`contoso.onmicrosoft.com`, a verified custom
 * domain), the v1 or v2 token path, the sign-in host in any case, with its default port or a
 * trailing slash, or a custom authority host. A server that uses the set's client ID but another
 * tenant (or an alias such as `common`, which client credentials cannot use) is drift: reported,
 * never written, because pushing our secret there either fails or hands it to another directory.
 */
export interface TenantIdentity {
  /** The set's directory (tenant) ID. */
  tenantId: string;
  /** Sign-in hosts (origins) that serve the tenant: the set's `authorityHost`, plus any custom authority host. */
  authorityHosts: string[];
  /** Domains already known to belong to the tenant (lower-case); others are resolved through OpenID discovery. */
  domains?: string[];
}

type TenantRelation = { kind: "same" } | { kind: "other"; why: string } | { kind: "domain"; origin: string; domain: string };

const TOKEN_PATHS: ReadonlySet<string> = new Set(["oauth2/v2.0/token", "oauth2/token"]);

/** Lower-case origin without the scheme's default port, or undefined for a malformed URL. */
function normaliseOrigin(raw: string): string | undefined {
  try {
    return new URL(raw.trim()).origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/** What can be told from the URL alone; a domain needs resolving (`kind: "domain"`). */
function relateTokenUrl(tokenUrl: string, id: TenantIdentity): TenantRelation {
  let u: URL;
  try {
    u = new URL(tokenUrl.trim());
  } catch {
    return { kind: "other", why: "the token URL is not a URL" };
  }
  const origin = u.origin.toLowerCase();
  const hosts = new Set(id.authorityHosts.map((h) => normaliseOrigin(h) ?? h.toLowerCase()));
  if (!hosts.has(origin)) return { kind: "other", why: `the token URL's host ${u.host} is not the set's authority host` };
  const segments = u.pathname.split("/").filter(Boolean);
  let tenant: string;
  try {
    tenant = decodeURIComponent(segments[0] ?? "")
      .trim()
      .toLowerCase();
  } catch {
    return { kind: "other", why: "the token URL's tenant segment is malformed" };
  }
  const rest = segments.slice(1).join("/").toLowerCase();
  if (!TOKEN_PATHS.has(rest)) return { kind: "other", why: "the token URL is not a tenant's token endpoint (…/oauth2/v2.0/token)" };
  if (tenant === "") return { kind: "other", why: "the token URL names no tenant" };
  if (isTenantAlias(tenant)) return { kind: "other", why: `the token URL uses '${tenant}', which client credentials cannot use; it must name the tenant` };
  if (isGuid(tenant))
    return tenant === id.tenantId.toLowerCase() ? { kind: "same" } : { kind: "other", why: `the token URL names tenant ${tenant}, not ${id.tenantId}` };
  if ((id.domains ?? []).some((d) => d.toLowerCase() === tenant)) return { kind: "same" };
  return { kind: "domain", origin, domain: tenant };
}

/** Resolves a domain to its tenant GUID at one authority host; undefined when Entra does not know it. */
export type DomainResolver = (origin: string, domain: string, abortSignal?: AbortSignal) => Promise<string | undefined>;

/**
 * OpenID discovery (`{host}/{domain}/v2.0/.well-known/openid-configuration`): its token endpoint
 * names the tenant's GUID. Only asked of hosts already accepted as the set's authority hosts.
 * Answers are cached per host and domain, so 2,000 targets written with one domain cost one call.
 */
export function discoveryDomainResolver(http: HttpClient): DomainResolver {
  const cache = new Map<string, Promise<string | undefined>>();
  return (origin, domain, abortSignal) => {
    const key = `${origin} ${domain}`;
    let p = cache.get(key);
    if (!p) {
      p = http
        .request<unknown>({
          method: "GET",
          url: `${origin}/${encodeURIComponent(domain)}/v2.0/.well-known/openid-configuration`,
          throwOnHttpError: false,
          ...(abortSignal ? { abortSignal } : {}),
        })
        .then((res) => {
          if (res.status >= 400 || !res.data || typeof res.data !== "object") return undefined;
          const endpoint = (res.data as { token_endpoint?: unknown }).token_endpoint;
          if (typeof endpoint !== "string") return undefined;
          const seg = normaliseOrigin(endpoint) ? new URL(endpoint).pathname.split("/").filter(Boolean)[0] : undefined;
          return seg && isGuid(seg) ? seg.toLowerCase() : undefined;
        });
      // A failed lookup (network) is not cached: the next listing asks again.
      p.catch(() => cache.delete(key));
      cache.set(key, p);
    }
    return p;
  };
}

/** The full verdict for one token URL, resolving a domain form when needed. */
export async function classifyTokenUrl(
  tokenUrl: string,
  id: TenantIdentity,
  resolve: DomainResolver | undefined,
  abortSignal?: AbortSignal,
): Promise<{ same: true } | { same: false; why: string }> {
  const rel = relateTokenUrl(tokenUrl, id);
  if (rel.kind === "same") return { same: true };
  if (rel.kind === "other") return { same: false, why: rel.why };
  if (!resolve) return { same: false, why: `the token URL names domain ${rel.domain}, which is not a known domain of tenant ${id.tenantId}` };
  const guid = await resolve(rel.origin, rel.domain, abortSignal);
  if (guid === undefined) return { same: false, why: `the token URL names domain ${rel.domain}, which Entra does not know as a tenant` };
  return guid === id.tenantId.toLowerCase()
    ? { same: true }
    : { same: false, why: `the token URL names domain ${rel.domain}, which belongs to tenant ${guid}, not ${id.tenantId}` };
}
