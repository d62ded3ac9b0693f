/**
 * Which Resource Manager a deployment talks to, and the audience of its tokens. Each cloud has its
 * own Resource Manager host and audience; a token for another cloud's audience is refused with
 * InvalidAuthenticationTokenAudience. Azure Stack and local emulators have no entry here: they are
 * given their audience explicitly (or use the global one, as the local ARM emulator does).
 */
interface ResourceManagerCloud {
  name: string;
  endpoint: string;
  authorityHosts: readonly string[];
}

const CLOUDS: readonly ResourceManagerCloud[] = [
  { name: "AzureCloud", endpoint: "https://management.azure.com", authorityHosts: ["login.microsoftonline.com"] },
  { name: "AzureUSGovernment", endpoint: "https://management.usgovcloudapi.net", authorityHosts: ["login.microsoftonline.us"] },
  { name: "AzureChinaCloud", endpoint: "https://management.chinacloudapi.cn", authorityHosts: ["login.chinacloudapi.cn", "login.partner.microsoftonline.cn"] },
];

export const GLOBAL_ARM_ENDPOINT = CLOUDS[0]!.endpoint;

function hostOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
  } catch {
    return undefined;
  }
}

/** The Resource Manager of the cloud whose Entra authority is `authorityHost`; the global one for an unknown authority. */
export function armEndpointForAuthority(authorityHost: string | undefined): string {
  const host = hostOf(authorityHost);
  return (CLOUDS.find((c) => host !== undefined && c.authorityHosts.includes(host)) ?? CLOUDS[0]!).endpoint;
}

/**
 * The scope to ask the credential for: `<audience>/.default`. An explicit audience wins; a known
 * cloud's endpoint is its own audience; anything else (an emulator, a proxy) falls back to the
 * cloud of the authority host, then to the global audience.
 */
export function armScope(options: { endpoint: string; audience?: string; authorityHost?: string }): string {
  if (options.audience !== undefined) return `${options.audience.replace(/\/+$/, "")}/.default`;
  const host = hostOf(options.endpoint);
  const known = CLOUDS.find((c) => hostOf(c.endpoint) === host);
  return `${known ? known.endpoint : armEndpointForAuthority(options.authorityHost)}/.default`;
}
