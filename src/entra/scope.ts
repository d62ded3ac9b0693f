/**
 * The client-credentials scope for Microsoft Graph in the set's cloud. Each national cloud has its
 * own Graph (graph.microsoft.us, dod-graph.microsoft.us, microsoftgraph.chinacloudapi.cn) and its
 * authority issues tokens only for that one (a global-Graph scope fails with AADSTS500011), so the
 * scope comes from the Graph base URL the set already names: `<origin>/.default`. The Graph client,
 * Entra verification, adoption and the probe's token check all ask for this one scope.
 * https://learn.microsoft.com/graph/deployments
 */
export function graphScope(graphBaseUrl: string): string {
  let origin: string;
  try {
    origin = new URL(graphBaseUrl).origin.toLowerCase();
  } catch {
    throw new TypeError(`graphBaseUrl ${JSON.stringify(graphBaseUrl)} is not a URL; give the Graph host, e.g. https://graph.microsoft.us`);
  }
  return `${origin}/.default`;
}
