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
  /** Decides which policy restrictions apply (restrictForAppsCreatedAfterDateTime); null when Graph gives none. */
  createdDateTime: string | null;
  passwordCredentials: PasswordCredential[];
  web: {
    redirectUris: string[];
    implicitGrantSettings: { enableIdTokenIssuance: boolean; enableAccessTokenIssuance: boolean };
  };
  isFallbackPublicClient: boolean | null;
  requiredResourceAccess: { resourceAppId: string; resourceAccess: { id: string; type: "Scope" | "Role" }[] }[];
}

/** The app management policy in effect for one app's new client secrets (src/entra/appPolicy.ts). */
export interface AppManagementPolicy {
  /** True when the effective policy forbids adding password credentials to this app. */
  passwordAdditionBlocked: boolean;
  /** Cap on new password lifetimes, when the effective policy sets one. */
  maxPasswordLifetimeDays?: number;
  /**
   * Which policy decided: the app's own appManagementPolicy, the tenant default, none (no policy
   * restricts), or unknown (the policies could not be read: nothing is clamped in advance).
   */
  source: "app" | "tenantDefault" | "none" | "unknown";
  policyId?: string;
  /** One line saying which restrictions apply and why, for plans, logs and probe evidence. */
  detail: string;
}

interface ServicePrincipal {
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
  /**
   * Not idempotent: sent without automatic retries, except after Graph's "concurrent requests"
   * refusal, and then only once a re-read shows no credential with this display name.
   */
  addPassword(objectId: string, credential: { displayName: string; endDateTime: string }, options?: CallOptions): Promise<NewPasswordCredential>;
  /** Idempotent from our side: a keyId that is already gone counts as removed. */
  removePassword(objectId: string, keyId: string, options?: CallOptions): Promise<void>;
  /**
   * The effective policy for this app: its own appManagementPolicy if one is assigned and enabled,
   * else the tenant default; restrictions only where the app was created after their
   * restrictForAppsCreatedAfterDateTime. Needs Policy.Read.ApplicationConfiguration.
   */
  getAppManagementPolicy(app: { appId: string; objectId?: string }, options?: CallOptions): Promise<AppManagementPolicy>;
  getServicePrincipal(appId: string, options?: CallOptions): Promise<ServicePrincipal | undefined>;
  listAppRoleAssignedTo(servicePrincipalId: string, options?: CallOptions): Promise<AppRoleAssignment[]>;
  listOAuth2PermissionGrants(servicePrincipalId: string, options?: CallOptions): Promise<OAuth2PermissionGrant[]>;
}

export type TokenResult = { ok: true; status: number; expiresIn: number } | { ok: false; status: number; error: string; aadsts?: number; description: string };

/** Client-credentials token requests as a plain form POST, so the exact status and AADSTS code are seen. */
export interface TokenEndpointClient {
  requestToken(request: { tokenUrl: string; clientId: string; clientSecret: string; scope?: string }, options?: CallOptions): Promise<TokenResult>;
}
