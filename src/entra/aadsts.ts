/**
 * What an AADSTS code means for this service and what an operator does about it. Probes and the
 * rotation engine attach these to incidents; the texts name the setting to change, not just the code.
 */
export interface AadstsExplanation {
  code: number;
  summary: string;
  hint: string;
  /** True when waiting helps (a new secret that has not replicated yet). */
  transient: boolean;
}

const TABLE: Record<number, Omit<AadstsExplanation, "code">> = {
  7000215: {
    summary: "Invalid client secret (wrong value, the secret ID instead of its value, or a new secret not replicated yet).",
    hint: "If the secret was created in the last minutes, wait and retry (replication takes seconds to ~10 min). Otherwise the stored value is not a current secret of the app: check Key Vault holds the secret VALUE, not its ID, and that it was not removed from the app registration.",
    transient: true,
  },
  7000222: {
    summary: "The client secret has expired.",
    hint: "Rotate now (emergency rotation): the app registration's secret is past its end date, so every token request with it fails.",
    transient: false,
  },
  7000218: {
    summary: "No client secret (or assertion) was sent.",
    hint: "The caller sent client credentials without a secret: check the gateway target or Key Vault secret is not empty.",
    transient: false,
  },
  700016: {
    summary: "The application (client ID) was not found in the tenant.",
    hint: "Check the client ID and that the token/authorize URL names the tenant where the app is registered (GUID or verified domain).",
    transient: false,
  },
  90002: {
    summary: "The tenant was not found.",
    hint: "Check the tenant ID or domain in the token/authorize URL and that it belongs to this cloud (login.microsoftonline.com).",
    transient: false,
  },
  900023: {
    summary: "The tenant identifier is neither a GUID nor a valid domain.",
    hint: "Fix the tenant segment of the URL: use the directory (tenant) ID GUID or a verified domain.",
    transient: false,
  },
  9001023: {
    summary: "This grant type is not supported on /common or /consumers.",
    hint: "Client-credentials token URLs must name the tenant: replace /common with the tenant ID (only the authorize URL may use /common, for multi-tenant apps).",
    transient: false,
  },
  50059: {
    summary: "No tenant could be determined from the request.",
    hint: "Use a tenant-specific token URL (https://login.microsoftonline.com/<tenant-id>/oauth2/v2.0/token).",
    transient: false,
  },
  50011: {
    summary: "The redirect URI is not registered on the app.",
    hint: "Add the gateway's exact callback URL (scheme, host, path, trailing slash, case) to the app registration's Web platform redirect URIs, or fix the gateway's redirectUri.",
    transient: false,
  },
  500113: {
    summary: "The app has no redirect URI registered.",
    hint: "Add the gateway's callback URL to the app registration's Web platform redirect URIs.",
    transient: false,
  },
  700054: {
    summary: "ID tokens are not enabled for the app.",
    hint: "Enable 'ID tokens' under Authentication > Implicit grant and hybrid flows on the app registration, or stop requesting response_type id_token.",
    transient: false,
  },
  50194: {
    summary: "A single-tenant app was used on /common.",
    hint: "Use the tenant-specific authorize URL, or make the app multi-tenant if that is intended.",
    transient: false,
  },
  50105: {
    summary: "The signed-in user is not assigned to the app (assignment required).",
    hint: "Assign the user (or a group they belong to) to the enterprise application, or turn off 'Assignment required'.",
    transient: false,
  },
  65001: {
    summary: "Consent for the requested permissions has not been granted.",
    hint: "Grant admin consent for the app's delegated Microsoft Graph permissions (openid profile email User.Read) in the app registration's API permissions.",
    transient: false,
  },
  1002012: {
    summary: "Client-credentials scope must end with /.default.",
    hint: "Request `<resource>/.default` (for example https://graph.microsoft.com/.default) in the client-credentials scope.",
    transient: false,
  },
};

export function explainAadsts(code: number | undefined): AadstsExplanation | undefined {
  if (code === undefined) return undefined;
  const e = TABLE[code];
  return e ? { code, ...e } : undefined;
}
