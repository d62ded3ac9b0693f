import type { Clock } from "../../common/clock.js";
import type { ArmCore } from "../core.js";
import { fetchNamedValue, registerNamedValueRoutes, type KeyVaultReader } from "./namedValues.js";
import { ApimState, newEtag, type ApimService, type StoredConnection, type StoredNamedValue, type StoredProvider } from "./state.js";
import { registerAuthorizationRoutes, type SecretAcceptance } from "./authorizations.js";

export type { KeyVaultReader } from "./namedValues.js";
export type { StoredNamedValue } from "./state.js";

/**
 * The API Management subset of the ARM emulator (../shared/specs/apim-*.md), registered on the
 * one ARM core. Seeding and ground truth are in-process only.
 */
export interface ApimProviderOptions {
  clock: Clock;
  /** How the services' identity reads Key Vault; default: every read fails (no vault wired). */
  keyVault?: KeyVaultReader;
  /** Whether Entra accepts a client ID + secret right now (the Entra emulator's ground truth); default: never. */
  acceptsSecret?: SecretAcceptance;
}

/** § Refresh interval: a Key Vault-backed named value is fetched again "within 4 hours" of a change. */
const AUTO_REFRESH_MS = 4 * 3_600_000;

export class ApimProvider {
  private readonly state = new ApimState();
  private pageSize = 100;
  private readonly readVault: KeyVaultReader;

  constructor(
    core: ArmCore,
    private readonly options: ApimProviderOptions,
  ) {
    this.readVault = (id) => (this.options.keyVault ?? (() => ({ error: { code: "Forbidden", message: "no Key Vault is wired to this emulator" } })))(id);
    registerNamedValueRoutes(core, { state: this.state, clock: options.clock, keyVault: this.readVault, pageSize: () => this.pageSize });
    registerAuthorizationRoutes(core, { state: this.state, acceptsSecret: (id, secret) => this.options.acceptsSecret?.(id, secret) ?? false });
  }

  /** A credential provider with one grant type; an authorization-code one may hold a client secret. */
  seedProvider(
    serviceId: string,
    input: { name: string; grantType: "authorizationCode" | "clientCredentials"; clientId?: string; clientSecret?: string; tenantId?: string },
  ): StoredProvider {
    const service = this.mustService(serviceId);
    const settings: Record<string, string> = {
      ...(input.clientId ? { clientId: input.clientId } : {}),
      scopes: "User.Read.All",
      loginUri: "https://login.windows.net",
      resourceUri: "https://graph.microsoft.com",
      tenantId: input.tenantId ?? "common",
    };
    const p: StoredProvider = {
      name: input.name,
      displayName: input.name,
      identityProvider: "aad",
      redirectUrl: `https://authorization-manager.consent.azure-apim.net/redirect/apim/${/service\/([^/]+)$/i.exec(serviceId)?.[1] ?? ""}`,
      grantTypes: { [input.grantType]: settings },
      ...(input.clientSecret ? { authCodeSecret: input.clientSecret } : {}),
      connections: new Map(),
      etag: newEtag(),
    };
    this.state.remember(input.clientSecret);
    service.providers.set(p.name.toLowerCase(), p);
    return p;
  }

  /** A connection of a provider; a client-credentials one holds its client ID and secret. */
  seedConnection(serviceId: string, providerName: string, input: { name: string; clientId?: string; clientSecret?: string }): StoredConnection {
    const p = this.mustProvider(serviceId, providerName);
    const c: StoredConnection = {
      name: input.name,
      grantType: p.grantTypes["clientCredentials"] ? "ClientCredentials" : "AuthorizationCode",
      parameters: input.clientId ? { clientId: input.clientId } : {},
      ...(input.clientSecret ? { secret: input.clientSecret } : {}),
      etag: newEtag(),
    };
    this.state.remember(input.clientSecret);
    p.connections.set(c.name.toLowerCase(), c);
    return c;
  }

  /** Writes of this connection store a mangled secret (answered 200 as usual): its status turns Error with the Entra error. */
  mangleSecretWrites(serviceId: string, providerName: string, connectionName: string, on = true): void {
    const key = `${this.mustService(serviceId).id}/authorizationProviders/${providerName}/authorizations/${connectionName}`.toLowerCase();
    if (on) this.state.mangledWrites.add(key);
    else this.state.mangledWrites.delete(key);
  }

  /** Ground truth: a provider as stored, its authorization-code secret included. */
  provider(serviceId: string, name: string): StoredProvider | undefined {
    return this.mustService(serviceId).providers.get(name.toLowerCase());
  }

  private mustProvider(serviceId: string, name: string): StoredProvider {
    const p = this.provider(serviceId, name);
    if (!p) throw new Error(`no authorization provider ${name} on ${serviceId}`);
    return p;
  }

  /** An API Management service by its resource ID. */
  seedService(resourceId: string): ApimService {
    return this.state.seedService(resourceId);
  }

  /** A named value as it stands after its creation completed; a Key Vault-backed one is fetched at once. */
  seedNamedValue(
    serviceId: string,
    input: {
      name: string;
      displayName?: string;
      value?: string;
      secret?: boolean;
      keyVault?: { secretIdentifier: string; identityClientId?: string };
      tags?: string[];
    },
  ): StoredNamedValue {
    const service = this.mustService(serviceId);
    const nv: StoredNamedValue = {
      name: input.name,
      displayName: input.displayName ?? input.name,
      tags: input.tags ?? [],
      secret: input.keyVault ? true : (input.secret ?? false),
      value: input.value,
      ...(input.keyVault ? { keyVault: { secretIdentifier: input.keyVault.secretIdentifier, identityClientId: input.keyVault.identityClientId ?? null } } : {}),
      etag: newEtag(),
    };
    this.state.remember(nv.value);
    if (nv.keyVault) {
      const got = (this.options.keyVault ?? (() => ({ error: { code: "Forbidden", message: "no vault" } })))(nv.keyVault.secretIdentifier);
      const at = this.options.clock.now().toISOString();
      if ("error" in got) nv.keyVault.lastStatus = { code: got.error.code, message: got.error.message, timeStampUtc: at };
      else {
        nv.value = got.value;
        nv.fetchedVersion = got.version;
        this.state.remember(got.value);
        nv.keyVault.lastStatus = { code: "Success", timeStampUtc: at };
      }
    }
    service.namedValues.set(nv.name.toLowerCase(), nv);
    return nv;
  }

  /** The service's identity loses (`on`) or regains its access to Key Vault: refreshes fail with `error`. */
  breakKeyVaultAccess(
    serviceId: string,
    on = true,
    error: { code: string; message: string } = { code: "Forbidden", message: "The user, group or application does not have secrets get permission." },
  ): void {
    const service = this.mustService(serviceId);
    if (on) service.keyVaultBroken = error;
    else delete service.keyVaultBroken;
  }

  setPageSize(n: number): void {
    this.pageSize = n;
  }

  // ---- ground truth (tests only) ----------------------------------------------------------------

  namedValue(serviceId: string, name: string): StoredNamedValue | undefined {
    return this.mustService(serviceId).namedValues.get(name.toLowerCase());
  }

  /**
   * The named value as the service really uses it now: a Key Vault-backed one whose last fetch is 4 h
   * old has been fetched again by the service itself (§ Refresh interval), which no route shows
   * until then. Ground truth for "the secret a consumer uses", e.g. after a refused refreshSecret.
   */
  namedValueInUse(serviceId: string, name: string): StoredNamedValue | undefined {
    const service = this.mustService(serviceId);
    const nv = service.namedValues.get(name.toLowerCase());
    const last = nv?.keyVault?.lastStatus?.timeStampUtc;
    if (nv?.keyVault && (last === undefined || this.options.clock.now().getTime() - Date.parse(last) >= AUTO_REFRESH_MS)) {
      fetchNamedValue(service, nv, { state: this.state, clock: this.options.clock, keyVault: this.readVault });
    }
    return nv;
  }

  /** Every value ever stored or fetched, for SecretScanner. */
  issuedSecrets(): string[] {
    return this.state.secrets();
  }

  reset(): void {
    this.state.clear();
    this.pageSize = 100;
  }

  private mustService(id: string): ApimService {
    const s = this.state.service(id);
    if (!s) throw new Error(`no API Management service ${id}`);
    return s;
  }
}
