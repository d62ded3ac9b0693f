import { z } from "zod";
import { RotatorError, parseAadsts } from "../errors.js";
import type { HttpClient } from "../http/client.js";
import type { CallOptions, TokenEndpointClient, TokenResult } from "./types.js";

const GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default";

function authorityBase(authorityHost: string, tenant: string): string {
  return `${authorityHost.replace(/\/+$/, "")}/${encodeURIComponent(tenant)}`;
}

export function tokenUrlFor(authorityHost: string, tenant: string): string {
  return `${authorityBase(authorityHost, tenant)}/oauth2/v2.0/token`;
}

export function authorizeUrlFor(authorityHost: string, tenant: string): string {
  return `${authorityBase(authorityHost, tenant)}/oauth2/v2.0/authorize`;
}

export function discoveryUrlFor(authorityHost: string, tenant: string): string {
  return `${authorityBase(authorityHost, tenant)}/v2.0/.well-known/openid-configuration`;
}

/**
 * An unexpected error body as text. JSON.stringify recurses: a body nested thousands of levels
 * deep (hostile or broken) overflowed the stack with an untyped RangeError.
 */
function bodyText(data: unknown): string {
  try {
    return JSON.stringify(data ?? "");
  } catch {
    return "(an error body that cannot be shown: nested too deeply)";
  }
}

/** How much of an error description a result keeps, after redaction. */
const MAX_DESCRIPTION = 500;

export function createTokenEndpointClient(deps: { http: HttpClient }): TokenEndpointClient {
  return {
    async requestToken(request, options: CallOptions = {}): Promise<TokenResult> {
      // Redact the whole text, then cut: a secret straddling the cut must not survive as a fragment.
      const scrub = (text: string): string => {
        const clean = deps.http.redactText(text, [request.clientSecret]);
        return clean.length > MAX_DESCRIPTION ? `${clean.slice(0, MAX_DESCRIPTION)}…` : clean;
      };
      const res = await deps.http.request<unknown>({
        method: "POST",
        url: request.tokenUrl,
        form: {
          client_id: request.clientId,
          client_secret: request.clientSecret,
          scope: request.scope ?? GRAPH_DEFAULT_SCOPE,
          grant_type: "client_credentials",
        },
        // Not idempotent in HttpClient's sense: only a 429 (the server did not act) is retried.
        idempotent: false,
        throwOnHttpError: false,
        secrets: [request.clientSecret],
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      const body = (res.data && typeof res.data === "object" ? res.data : {}) as Record<string, unknown>;
      if (res.status >= 200 && res.status < 300) {
        if (typeof body.access_token === "string" && body.access_token !== "") {
          return { ok: true, status: res.status, expiresIn: Number(body.expires_in) || 0 };
        }
        return { ok: false, status: res.status, error: "invalid_response", description: "The token endpoint answered 2xx without an access_token." };
      }
      const description = typeof body.error_description === "string" ? body.error_description : typeof res.data === "string" ? res.data : bodyText(res.data);
      const codes = Array.isArray(body.error_codes) ? body.error_codes.filter((c): c is number => typeof c === "number") : [];
      const aadsts = codes[0] ?? parseAadsts(description);
      return {
        ok: false,
        status: res.status,
        // The error code is upstream text too: a hostile endpoint may echo the secret in it.
        error: typeof body.error === "string" ? scrub(body.error).slice(0, 100) : `http_${res.status}`,
        ...(aadsts !== undefined ? { aadsts } : {}),
        description: scrub(description),
      };
    },
  };
}

const discoverySchema = z.looseObject({
  issuer: z.string().min(1),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  end_session_endpoint: z.url().optional(),
  tenant_region_scope: z.string().nullable().optional(),
  cloud_instance_name: z.string().optional(),
});

export type OidcDiscovery = z.infer<typeof discoverySchema>;

/** GETs and validates `{authority}/{tenant}/v2.0/.well-known/openid-configuration`. */
export async function fetchDiscovery(request: { http: HttpClient; authorityHost: string; tenant: string }, options: CallOptions = {}): Promise<OidcDiscovery> {
  const url = discoveryUrlFor(request.authorityHost, request.tenant);
  const res = await request.http.request<unknown>({
    method: "GET",
    url,
    throwOnHttpError: false,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  });
  const body = res.data;
  if (res.status >= 400) {
    const text = typeof body === "string" ? body : JSON.stringify(body ?? "");
    const aadsts = parseAadsts(text);
    if (aadsts === 90002 || aadsts === 900023) {
      throw new RotatorError("ENTRA_TENANT_NOT_FOUND", `OpenID discovery for tenant '${request.tenant}' failed: AADSTS${aadsts} (HTTP ${res.status}).`, {
        hint: "Check the tenant ID (GUID) or verified domain configured for this credential set, and that the authority host is the right cloud.",
        status: res.status,
        aadsts,
      });
    }
    throw new RotatorError("ENTRA_DISCOVERY_FAILED", `GET ${url} answered ${res.status}${aadsts ? ` (AADSTS${aadsts})` : ""}.`, {
      hint: "The OpenID discovery document could not be read; check the authority host and tenant, and retry if Entra is degraded.",
      status: res.status,
      ...(aadsts !== undefined ? { aadsts } : {}),
      retryable: res.status >= 500 || res.status === 429,
    });
  }
  const parsed = discoverySchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      if (i.path.length === 0) return "the response is not a JSON object";
      const field = i.path.join(".");
      const missing = i.code === "invalid_type" && (body as Record<string, unknown> | null)?.[field] === undefined;
      return missing ? `missing field '${field}'` : `field '${field}': ${i.message}`;
    });
    throw new RotatorError("ENTRA_DISCOVERY_INVALID", `OpenID discovery document at ${url} is not usable: ${problems.join("; ")}.`, {
      hint: "The authority host does not serve a valid Entra discovery document; check the configured authority URL (it must be the login endpoint, not a portal or gateway URL).",
      status: res.status,
    });
  }
  return parsed.data;
}
