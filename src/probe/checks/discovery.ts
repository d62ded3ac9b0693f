import type { OidcDiscovery } from "../../entra/token.js";
import { maybe, nameList, oauthTargets, type CheckContext, type CheckDefinition } from "../context.js";
import { cloudMismatch, compareEndpoint, originOf, parseEntraUrl, type EndpointComparison } from "../endpoints.js";
import { Findings } from "../findings.js";
import type { Evidence } from "../model.js";

/**
 * The tenant's OpenID discovery document answers on the configured sign-in host and publishes
 * token/authorize endpoints on that host for that tenant (custom domains and national clouds
 * included). For multi-tenant sets the `common` document must publish a `common` authorize
 * endpoint, and no gateway target may use an alias for its token URL: client credentials need the
 * tenant endpoint (AADSTS9001023 on /common).
 */
export const ALIAS_TOKEN_HINT =
  "Put the tenant ID in the gateway's Token URL (https://<sign-in host>/<tenant-id>/oauth2/v2.0/token). " +
  "The setup guide's multi-tenant advice to replace the tenant ID with `common` applies to the Authorization URL only: " +
  "client credentials are refused on /common.";

const HOST_HINT =
  "Entra publishes this tenant's endpoints on another host. For a custom domain, authorityHost must be the custom sign-in host " +
  "(login.<your-domain>) and the gateway's Token URL and Authorization URL must use the same host; for a national cloud use that cloud's login host.";

export const discoveryCheck: CheckDefinition = {
  id: "discovery",
  title: "OpenID discovery matches the configured sign-in host and tenant",
  async run(ctx, f) {
    const { set } = ctx;
    const evidence: Evidence = { authorityHost: set.authorityHost, tenantId: set.tenantId, multiTenant: set.multiTenant };
    const origin = originOf(set.authorityHost) ?? set.authorityHost.toLowerCase();

    const doc = await readDocument(ctx, set.tenantId, f);
    if (doc) {
      evidence.tokenEndpoint = doc.token_endpoint;
      evidence.authorizationEndpoint = doc.authorization_endpoint;
      evidence.issuer = doc.issuer;
      if (doc.cloud_instance_name) evidence.cloudInstance = doc.cloud_instance_name;

      const cloud = cloudMismatch(set.authorityHost, doc.cloud_instance_name);
      if (cloud) {
        f.fail(
          "critical",
          `tenant ${set.tenantId} belongs to ${cloud.actual}, but authorityHost ${set.authorityHost} signs in to ${cloud.expected}`,
          "Set authorityHost and graphBaseUrl to the cloud the tenant lives in, and use that cloud's host in the gateway's Token URL and Authorization URL.",
        );
      }
      reportEndpoint(
        f,
        "token endpoint",
        doc.token_endpoint,
        compareEndpoint(doc.token_endpoint, { origin, kind: "token", tenant: set.tenantId }),
        set.tenantId,
        origin,
      );
      reportEndpoint(
        f,
        "authorization endpoint",
        doc.authorization_endpoint,
        compareEndpoint(doc.authorization_endpoint, { origin, kind: "authorize", tenant: set.tenantId }),
        set.tenantId,
        origin,
      );
      if (!doc.issuer.toLowerCase().includes(set.tenantId.toLowerCase())) {
        f.fail(
          "error",
          `the discovery document's issuer ${doc.issuer} does not name tenant ${set.tenantId}`,
          "Tokens for this tenant would not validate against this issuer: check tenantId and authorityHost.",
        );
      }
    }

    if (set.multiTenant) {
      const common = await readDocument(ctx, "common", f);
      if (common) {
        evidence.commonAuthorizationEndpoint = common.authorization_endpoint;
        const cmp = compareEndpoint(common.authorization_endpoint, { origin, kind: "authorize", tenant: "common" });
        reportEndpoint(f, "common authorization endpoint", common.authorization_endpoint, cmp, "common", origin);
      }
    }

    // Token URLs the gateway actually uses: an alias there breaks every client-credentials request.
    const targets = oauthTargets(maybe(await ctx.shared.targets(), evidence, "gatewayTargets"));
    const byAlias = new Map<string, string[]>();
    for (const t of targets) {
      const p = parseEntraUrl(t.tokenUrl);
      if (p && (p.tenant === "common" || p.tenant === "consumers" || p.tenant === "organizations")) {
        byAlias.set(t.tokenUrl, [...(byAlias.get(t.tokenUrl) ?? []), t.name]);
      }
    }
    for (const [url, names] of byAlias) {
      const organizations = parseEntraUrl(url)?.tenant === "organizations";
      f.fail(
        "critical",
        `${names.length} gateway target(s) (${nameList(names)}) use ${url} as Token URL; client credentials need the tenant endpoint ` +
          `(Entra answers AADSTS${organizations ? 50059 : 9001023})`,
        ALIAS_TOKEN_HINT,
        organizations ? 50059 : 9001023,
      );
    }
    if (targets.length > 0) evidence.gatewayTokenUrls = [...new Set(targets.map((t) => t.tokenUrl))];
    return f.outcome(
      `discovery for tenant ${set.tenantId} publishes token and authorize endpoints on ${origin}` +
        (set.multiTenant ? "; the common document publishes a common authorize endpoint" : ""),
      evidence,
    );
  },
};

async function readDocument(ctx: CheckContext, tenant: string, f: Findings): Promise<OidcDiscovery | undefined> {
  // The same read the token and authorize checks take their endpoints from.
  const read = await ctx.shared.discovery(tenant);
  if (read.ok) return read.value;
  const err = read.error;
  if (err.code === "ENTRA_TENANT_NOT_FOUND") {
    f.fail(
      "critical",
      `Entra does not know tenant '${tenant}' at ${ctx.set.authorityHost} (AADSTS${err.aadsts ?? 90002})`,
      "Check tenantId (the Directory (tenant) ID GUID from the app registration's Overview page) and that authorityHost is the cloud the tenant lives in.",
      err.aadsts ?? 90002,
    );
    return undefined;
  }
  const clientSide = err.status !== undefined && err.status < 500 && err.status !== 429 && err.status !== 408;
  if (err.code === "ENTRA_DISCOVERY_INVALID" || (err.code === "ENTRA_DISCOVERY_FAILED" && clientSide)) {
    f.fail("error", err.message, err.hint, err.aadsts);
    return undefined;
  }
  // Network trouble, timeouts, 5xx: the check could not run.
  throw err;
}

function reportEndpoint(f: Findings, what: string, url: string, cmp: EndpointComparison, tenant: string, origin: string): void {
  if (cmp.ok) return;
  switch (cmp.problem) {
    case "host":
      f.fail("error", `the discovery document publishes its ${what} on ${cmp.actual?.origin}, not on the configured ${origin}`, HOST_HINT);
      return;
    case "tenant-alias":
    case "tenant-other":
    case "tenant-unresolved":
      f.fail(
        "error",
        `the discovery document publishes its ${what} for tenant '${cmp.actual?.tenant}', not '${tenant}' (${url})`,
        "The sign-in host resolved the tenant to another directory: check tenantId and authorityHost.",
      );
      return;
    default:
      f.fail(
        "error",
        `the discovery document's ${what} ${url} is not an Entra v2.0 endpoint`,
        "authorityHost must be an Entra sign-in host (https://login.microsoftonline.com or your custom/national login host), not a portal or gateway URL.",
      );
  }
}
