/** Shapes of the Entra / Microsoft Graph resources the rotator reads and writes. */
export interface PasswordCredential {
  keyId: string;
  displayName: string | null;
  /** First three characters of the secret, as Graph returns them. */
  hint: string | null;
  startDateTime: string;
  endDateTime: string;
}

export interface NewPasswordCredential extends PasswordCredential {
  /** Returned once, by addPassword only. Never log, journal or tag it. */
  secretText: string;
}

export interface AppRegistration {
  /** Object ID (the `applications/{id}` key). */
  id: string;
  appId: string;
  displayName: string;
  signInAudience: string;
  passwordCredentials: PasswordCredential[];
  web: {
    redirectUris: string[];
    implicitGrantSettings: { enableIdTokenIssuance: boolean; enableAccessTokenIssuance: boolean };
  };
  isFallbackPublicClient: boolean | null;
  requiredResourceAccess: { resourceAppId: string; resourceAccess: { id: string; type: "Scope" | "Role" }[] }[];
}

export interface AppManagementPolicy {
  /** True when the tenant's default policy forbids adding password credentials. */
  passwordAdditionBlocked: boolean;
  /** Cap on new password lifetimes, when the policy sets one. */
  maxPasswordLifetimeDays?: number;
}

export interface ServicePrincipal {
  id: string;
  appId: string;
  appRoleAssignmentRequired: boolean;
}

export interface AppRoleAssignment {
  principalType: "User" | "Group" | "ServicePrincipal";
  principalId: string;
  principalDisplayName?: string;
}

export interface OAuth2PermissionGrant {
  clientId: string;
  consentType: "AllPrincipals" | "Principal";
  resourceId: string;
  scope: string;
}

export interface CallOptions {
  abortSignal?: AbortSignal;
}

/** The Graph calls the rotator and the probes make (src/entra/graph.ts implements it over the Graph SDK). */
export interface GraphApplicationsApi {
  /** By client ID (`$filter=appId eq`), or by object ID when known. Throws RotatorError GRAPH_APP_NOT_FOUND. */
  getApplication(ref: { appId: string; objectId?: string }, options?: CallOptions): Promise<AppRegistration>;
  /** Not idempotent: sent without automatic retries. */
  addPassword(
    objectId: string,
    credential: { displayName: string; endDateTime: string },
    options?: CallOptions,
  ): Promise<NewPasswordCredential>;
  /** Idempotent from our side: a keyId that is already gone counts as removed. */
  removePassword(objectId: string, keyId: string, options?: CallOptions): Promise<void>;
  getAppManagementPolicy(options?: CallOptions): Promise<AppManagementPolicy>;
  getServicePrincipal(appId: string, options?: CallOptions): Promise<ServicePrincipal | undefined>;
  listAppRoleAssignedTo(servicePrincipalId: string, options?: CallOptions): Promise<AppRoleAssignment[]>;
  listOAuth2PermissionGrants(servicePrincipalId: string, options?: CallOptions): Promise<OAuth2PermissionGrant[]>;
}

export type TokenResult =
  | { ok: true; status: number; expiresIn: number }
  | { ok: false; status: number; error: string; aadsts?: number; description: string };

/** Client-credentials token requests as a plain form POST, so the exact status and AADSTS code are seen. */
export interface TokenEndpointClient {
  requestToken(
    request: { tokenUrl: string; clientId: string; clientSecret: string; scope?: string },
    options?: CallOptions,
  ): Promise<TokenResult>;
}
