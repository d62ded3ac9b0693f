import type { EmuRequest, EmuResponse } from "../common/server.js";
import { KEY_VAULT_RESOURCE, kvErrors, unauthorized } from "./errors.js";

/**
 * Who may call the vault: the bearer challenge (a request without a valid token gets 401 and a
 * `WWW-Authenticate` naming the authority and the Key Vault resource), token checks
 * (audience, tenant), and Azure RBAC data actions per role.
 */
interface TokenClaims {
  appId?: string;
  tenantId?: string;
  audience?: string;
  /** The caller's object ID (`oid`: its service principal or managed identity). */
  objectId?: string;
}

/** Truthy means valid; claims, when returned, are checked against the vault's tenant and resource. */
export type TokenValidator = (token: string) => boolean | TokenClaims | null | undefined;

export type SecretAction = "getSecret" | "readMetadata" | "setSecret" | "update" | "delete" | "recover" | "purge";

export type KeyVaultRole = "Key Vault Secrets Officer" | "Key Vault Secrets User" | "Key Vault Reader" | "none";

const ALL_ACTIONS: SecretAction[] = ["getSecret", "readMetadata", "setSecret", "update", "delete", "recover", "purge"];

/** Data actions of the built-in roles (Secrets Officer: secrets/*; Secrets User: getSecret + readMetadata; Reader: metadata only). */
export const ROLE_ACTIONS: Record<KeyVaultRole, ReadonlySet<SecretAction>> = {
  "Key Vault Secrets Officer": new Set(ALL_ACTIONS),
  "Key Vault Secrets User": new Set<SecretAction>(["getSecret", "readMetadata"]),
  "Key Vault Reader": new Set<SecretAction>(["readMetadata"]),
  none: new Set<SecretAction>(),
};

/** Audiences the real service accepts for its data plane (resource URI, with or without slash, and its app ID). */
const VAULT_AUDIENCES = new Set([KEY_VAULT_RESOURCE, `${KEY_VAULT_RESOURCE}/`, "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"]);

export interface Caller {
  appId?: string;
  tenantId?: string;
  objectId?: string;
}

export class VaultAuth {
  private readonly roles = new Map<string, KeyVaultRole>();

  constructor(
    private readonly authorityUrl: () => string,
    private readonly validateToken: TokenValidator = (token) => token.length > 0,
  ) {}

  /** The tenant named by the challenge's authority URL (its first path segment). */
  tenantId(): string | undefined {
    try {
      return new URL(this.authorityUrl()).pathname.split("/").filter(Boolean)[0];
    } catch {
      return undefined;
    }
  }

  /**
   * Sets one principal's role on the vault, by its object ID (`oid` claim, what an Azure role
   * assignment names) or its client ID (`appid`); "*" (default) sets it for every caller without
   * an own assignment.
   */
  assignRole(role: KeyVaultRole, principal = "*"): void {
    this.roles.set(principal.toLowerCase(), role);
  }

  clearRoles(): void {
    this.roles.clear();
  }

  /** The caller's role: by object ID first, then client ID, then the "*" default (Secrets Officer when nothing is assigned). */
  roleOf(caller: Caller): KeyVaultRole {
    const own = [caller.objectId, caller.appId].map((id) => (id ? this.roles.get(id.toLowerCase()) : undefined)).find(Boolean);
    return own ?? this.roles.get("*") ?? "Key Vault Secrets Officer";
  }

  /** The caller, or the 401 that makes the SDK fetch a token for the challenged resource and retry. */
  authenticate(req: EmuRequest): Caller | EmuResponse {
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) return unauthorized("AKV10000: Request is missing a Bearer or PoP token.", this.authorityUrl());
    const verdict = this.validateToken(m[1]!);
    if (!verdict) return unauthorized("Token validation failed: the token is unknown or expired.", this.authorityUrl());
    if (verdict === true) return {};
    if (verdict.audience !== undefined && !VAULT_AUDIENCES.has(verdict.audience)) {
      return unauthorized(`AKV10022: Invalid audience. Expected ${KEY_VAULT_RESOURCE}, found: ${verdict.audience}.`, this.authorityUrl());
    }
    const tenant = this.tenantId();
    if (verdict.tenantId !== undefined && tenant !== undefined && verdict.tenantId.toLowerCase() !== tenant.toLowerCase()) {
      return unauthorized(
        `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${tenant}/, found https://sts.windows.net/${verdict.tenantId}/.`,
        this.authorityUrl(),
      );
    }
    return { appId: verdict.appId, tenantId: verdict.tenantId, objectId: verdict.objectId };
  }

  /** Throws the real 403 `ForbiddenByRbac` when the caller's role lacks the data action. */
  authorize(caller: Caller, action: SecretAction, secretName: string | undefined, vaultName: string): void {
    if (ROLE_ACTIONS[this.roleOf(caller)].has(action)) return;
    const who = `appid=${caller.appId ?? "unknown"};oid=${caller.objectId ?? "unknown"};iss=https://sts.windows.net/${caller.tenantId ?? this.tenantId() ?? "unknown"}/`;
    const resource =
      `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/Microsoft.KeyVault/vaults/${vaultName}` +
      (secretName ? `/secrets/${secretName}` : "");
    throw kvErrors.forbiddenByRbac(who, `${action}${action === "delete" ? "" : "/action"}`, resource, vaultName);
  }
}

export function isResponse(x: Caller | EmuResponse): x is EmuResponse {
  return typeof (x as EmuResponse).status === "number";
}
