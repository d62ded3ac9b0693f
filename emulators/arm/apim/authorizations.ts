import type { EmuRequest } from "../../common/server.js";
import { fail, type ArmCore } from "../core.js";
import { newEtag, type ApimService, type ApimState, type StoredConnection, type StoredProvider } from "./state.js";

/**
 * API Management credential providers (`authorizationProviders`) and their connections
 * (`authorizations`), from ../shared/specs/apim-authorization-providers.md: synchronous PUT (201/200
 * + ETag, optional If-Match), GET and list that never return `clientSecret` (§ Is the client secret
 * ever returned on GET), and a connection `status` that is `Connected` while the secret it uses is
 * accepted by Entra, else `Error` with the Entra error (§ Verification 1). The status is worked out
 * on every read from the Entra emulator's ground truth (`acceptsSecret`).
 */
const API_VERSIONS = ["2024-05-01", "2025-03-01-preview"] as const;

export type SecretAcceptance = (clientId: string, secret: string) => boolean;

export interface AuthorizationDeps {
  state: ApimState;
  acceptsSecret: SecretAcceptance;
}

const SERVICE = "^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.ApiManagement/service/[^/]+)";
const NAME = "([^/]+)";

type StringMap = Record<string, string>;

/** The map without `clientSecret`, whatever its case (§ Is the client secret ever returned on GET). */
function withoutSecret(m: StringMap | undefined): StringMap {
  return Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => k.toLowerCase() !== "clientsecret"));
}

function secretOf(m: StringMap | undefined): string | undefined {
  return Object.entries(m ?? {}).find(([k]) => k.toLowerCase() === "clientsecret")?.[1];
}

function serviceOf(state: ApimState, id: string): ApimService {
  const s = state.service(id);
  if (!s) fail(404, "ResourceNotFound", `The Resource 'Microsoft.ApiManagement/service/${/service\/([^/]+)$/i.exec(id)?.[1] ?? id}' was not found.`);
  return s;
}

function providerOf(service: ApimService, name: string): StoredProvider {
  const p = service.providers.get(name.toLowerCase());
  if (!p) fail(404, "ResourceNotFound", "Authorization provider not found.");
  return p;
}

function providerContract(serviceId: string, p: StoredProvider): unknown {
  const grantTypes = Object.fromEntries(Object.entries(p.grantTypes).map(([g, m]) => [g, withoutSecret(m)]));
  return {
    id: `${serviceId}/authorizationProviders/${p.name}`,
    type: "Microsoft.ApiManagement/service/authorizationProviders",
    name: p.name,
    properties: { displayName: p.displayName, identityProvider: p.identityProvider, oauth2: { redirectUrl: p.redirectUrl, grantTypes } },
  };
}

/** § Verification 1: the status comes from a token request with the secret the connection uses. */
function statusOf(p: StoredProvider, c: StoredConnection, accepts: SecretAcceptance): { status: string; error?: { code: string; message: string } } {
  const clientId = c.grantType === "ClientCredentials" ? c.parameters["clientId"] : p.grantTypes["authorizationCode"]?.["clientId"];
  const secret = c.grantType === "ClientCredentials" ? c.secret : p.authCodeSecret;
  if (clientId && secret && accepts(clientId, secret)) return { status: "Connected" };
  return {
    status: "Error",
    error: {
      code: "Unauthorized",
      message:
        `Failed to acquire access token for service using client credentials flow: IdentityProvider=${p.name}. Error: Failed to exchange client credentials for token. Response code=Unauthorized, Details:\r\n` +
        JSON.stringify({
          error: "invalid_client",
          error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId ?? ""}'.`,
          error_codes: [7000215],
        }),
    },
  };
}

function connectionContract(serviceId: string, p: StoredProvider, c: StoredConnection, accepts: SecretAcceptance): unknown {
  const s = statusOf(p, c, accepts);
  return {
    id: `${serviceId}/authorizationProviders/${p.name}/authorizations/${c.name}`,
    type: "Microsoft.ApiManagement/service/authorizationProviders/authorizations",
    name: c.name,
    properties: {
      authorizationType: "OAuth2",
      oauth2grantType: c.grantType,
      parameters: withoutSecret(c.parameters),
      status: s.status,
      ...(s.error ? { error: s.error } : {}),
    },
  };
}

function checkIfMatch(req: EmuRequest, etag: string | undefined): void {
  const given: string | string[] | undefined = req.headers["if-match"];
  const value = typeof given === "string" ? given : given?.[0];
  if (value !== undefined && value !== "*" && value !== etag)
    fail(412, "PreconditionFailed", "The entity state differs from the one given in the 'If-Match' header.");
}

export function registerAuthorizationRoutes(core: ArmCore, deps: AuthorizationDeps): void {
  const { state } = deps;
  const on = core.routesOf("Microsoft.ApiManagement/service/authorizationProviders", API_VERSIONS);
  const providers = new RegExp(`${SERVICE}/authorizationProviders$`, "i");
  const provider = new RegExp(`${SERVICE}/authorizationProviders/${NAME}$`, "i");
  const connections = new RegExp(`${SERVICE}/authorizationProviders/${NAME}/authorizations$`, "i");
  const connection = new RegExp(`${SERVICE}/authorizationProviders/${NAME}/authorizations/${NAME}$`, "i");

  on("GET", providers, "read", (req) => {
    const service = serviceOf(state, req.params[0]!);
    return { status: 200, body: { value: [...service.providers.values()].map((p) => providerContract(service.id, p)) } };
  });
  on("GET", provider, "read", (req) => {
    const service = serviceOf(state, req.params[0]!);
    const p = providerOf(service, req.params[1]!);
    return { status: 200, headers: { ETag: p.etag }, body: providerContract(service.id, p) };
  });
  on("PUT", provider, "write", (req) => {
    const service = serviceOf(state, req.params[0]!);
    const name = req.params[1]!;
    const existing = service.providers.get(name.toLowerCase());
    checkIfMatch(req, existing?.etag);
    const props = req.json<{
      properties?: { displayName?: unknown; identityProvider?: unknown; oauth2?: { redirectUrl?: unknown; grantTypes?: Record<string, StringMap> } };
    } | null>()?.properties;
    const grants = props?.oauth2?.grantTypes ?? {};
    const kinds = Object.keys(grants);
    if (typeof props?.displayName !== "string" || typeof props.identityProvider !== "string" || kinds.length !== 1) {
      // Docs: "A credential provider configuration can only have one grant type".
      fail(
        400,
        "ValidationError",
        "One or more fields contain incorrect values: displayName and identityProvider are required, and oauth2.grantTypes needs exactly one grant type.",
      );
    }
    const authCodeSecret = secretOf(grants["authorizationCode"]);
    state.remember(authCodeSecret);
    const stored: StoredProvider = {
      name: existing?.name ?? name,
      displayName: props.displayName,
      identityProvider: props.identityProvider,
      redirectUrl:
        typeof props.oauth2?.redirectUrl === "string"
          ? props.oauth2.redirectUrl
          : `https://authorization-manager.consent.azure-apim.net/redirect/apim/${/service\/([^/]+)$/i.exec(service.id)?.[1] ?? ""}`,
      // Docs (Entra provider settings): login URL defaults to https://login.windows.net, tenant to common.
      grantTypes: Object.fromEntries(
        Object.entries(grants).map(([g, m]) => [
          g,
          props.identityProvider === "aad" ? { loginUri: "https://login.windows.net", tenantId: "common", ...withoutSecret(m) } : withoutSecret(m),
        ]),
      ),
      ...(authCodeSecret !== undefined ? { authCodeSecret } : {}),
      connections: existing?.connections ?? new Map<string, StoredConnection>(),
      etag: newEtag(),
    };
    service.providers.set(name.toLowerCase(), stored);
    return { status: existing ? 200 : 201, headers: { ETag: stored.etag }, body: providerContract(service.id, stored) };
  });

  on("GET", connections, "authorizations/read", (req) => {
    const service = serviceOf(state, req.params[0]!);
    const p = providerOf(service, req.params[1]!);
    const value = [...p.connections.values()].map((c) => connectionContract(service.id, p, c, deps.acceptsSecret));
    return { status: 200, body: { value, count: value.length } };
  });
  on("GET", connection, "authorizations/read", (req) => {
    const service = serviceOf(state, req.params[0]!);
    const p = providerOf(service, req.params[1]!);
    const c = p.connections.get(req.params[2]!.toLowerCase());
    if (!c) fail(404, "ResourceNotFound", "Authorization not found.");
    return { status: 200, headers: { ETag: c.etag }, body: connectionContract(service.id, p, c, deps.acceptsSecret) };
  });
  on("PUT", connection, "authorizations/write", (req) => {
    const service = serviceOf(state, req.params[0]!);
    const p = providerOf(service, req.params[1]!);
    const name = req.params[2]!;
    const existing = p.connections.get(name.toLowerCase());
    checkIfMatch(req, existing?.etag);
    const props = req.json<{ properties?: { authorizationType?: unknown; parameters?: StringMap } } | null>()?.properties;
    if (props?.authorizationType !== "OAuth2") fail(400, "ValidationError", "One or more fields contain incorrect values: authorizationType must be OAuth2.");
    const given = secretOf(props.parameters);
    const secret =
      given !== undefined && state.mangledWrites.has(`${service.id}/authorizationProviders/${p.name}/authorizations/${name}`.toLowerCase())
        ? `${given}-mangled`
        : given;
    state.remember(secret);
    const stored: StoredConnection = {
      name: existing?.name ?? name,
      // The provider's grant type decides (the spec's example sends AuthorizationCode and answers ClientCredentials).
      grantType: p.grantTypes["clientCredentials"] ? "ClientCredentials" : "AuthorizationCode",
      parameters: withoutSecret(props.parameters),
      ...(secret !== undefined ? { secret } : {}),
      etag: newEtag(),
    };
    p.connections.set(name.toLowerCase(), stored);
    return { status: existing ? 200 : 201, headers: { ETag: stored.etag }, body: connectionContract(service.id, p, stored, deps.acceptsSecret) };
  });
}
