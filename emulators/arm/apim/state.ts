import { SecretLedger } from "../secretLedger.js";
import { randomUUID } from "node:crypto";

/**
 * The API Management services of the emulator and what they hold, secrets in clear (ground truth:
 * tests read it in-process; no route returns a secret except `listValue`, as in Azure).
 */
interface KeyVaultStatus {
  code: string;
  message?: string;
  timeStampUtc: string;
}

export interface StoredNamedValue {
  name: string;
  displayName: string;
  tags: string[];
  secret: boolean;
  /** The plain value, or for a Key Vault-backed one the value last fetched from the vault. */
  value: string | undefined;
  keyVault?: { secretIdentifier: string; identityClientId: string | null; lastStatus?: KeyVaultStatus };
  /** The Key Vault version the value came from (ground truth only; the API never shows it). */
  fetchedVersion?: string;
  etag: string;
}

/** A credential provider; its authorization-code `clientSecret` is kept apart and never served. */
export interface StoredProvider {
  name: string;
  displayName: string;
  identityProvider: string;
  redirectUrl: string;
  /** Grant type → its settings, without `clientSecret`. */
  grantTypes: Record<string, Record<string, string>>;
  authCodeSecret?: string;
  connections: Map<string, StoredConnection>;
  etag: string;
}

/** A connection (`authorizations/{id}`); a client-credentials one holds its own secret. */
export interface StoredConnection {
  name: string;
  grantType: "ClientCredentials" | "AuthorizationCode";
  /** Without `clientSecret`. */
  parameters: Record<string, string>;
  secret?: string;
  etag: string;
}

export interface ApimService {
  /** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{name}` as seeded. */
  id: string;
  namedValues: Map<string, StoredNamedValue>;
  providers: Map<string, StoredProvider>;
  /** Key Vault reads of this service's identity fail with this error (no access policy, firewall). */
  keyVaultBroken?: { code: string; message: string };
}

export function newEtag(): string {
  return `"${randomUUID().replace(/-/g, "").slice(0, 16)}"`;
}

export class ApimState extends SecretLedger {
  private readonly services = new Map<string, ApimService>();
  /** Connections (lower-case resource paths) whose writes store a mangled secret (a buggy client or service). */
  readonly mangledWrites = new Set<string>();

  seedService(id: string): ApimService {
    const s: ApimService = { id, namedValues: new Map(), providers: new Map() };
    this.services.set(id.toLowerCase(), s);
    return s;
  }

  service(id: string): ApimService | undefined {
    return this.services.get(id.toLowerCase());
  }

  all(): ApimService[] {
    return [...this.services.values()];
  }

  override clear(): void {
    super.clear();
    this.services.clear();
    this.mangledWrites.clear();
  }
}
