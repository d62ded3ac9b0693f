import { describe, expect, it } from "vitest";
import { useArmTestWorld } from "../../emulators/arm/testWorld.js";
import { gatewaySchema } from "../../src/config/schema.js";
import { createGatewayAdapter } from "../../src/gateway/factory.js";
import { HttpClient, type HttpRequestOptions, type HttpResponse } from "../../src/http/client.js";

/**
 * Issue 27 item 2: the appservice-keyvault-reference group lists its configured sites and slots
 * `maxConcurrency` at a time, not one after another, against the ARM emulator. How many listings
 * were in flight together is counted at the HTTP layer, and what each site answered is compared
 * with the emulator's sites: nothing depends on how long anything took.
 */
const w = useArmTestWorld({ keyVault: true });
const SITES = "/subscriptions/00000000-0000-0000-0000-00000000b001/resourceGroups/rg-apps/providers/Microsoft.Web/sites";
const KEY = "SSO_CLIENT_SECRET";

/** The HTTP layer, counting the reference listings in flight at once. */
class CountingHttp extends HttpClient {
  inFlight = 0;
  peak = 0;
  override async request<T = unknown>(req: HttpRequestOptions): Promise<HttpResponse<T>> {
    const listing = req.method === "GET" && /\/config\/configreferences\/appsettings\?/.test(req.url);
    if (listing) this.peak = Math.max(this.peak, ++this.inFlight);
    try {
      return await super.request<T>(req);
    } finally {
      if (listing) this.inFlight--;
    }
  }
}

describe("appservice-keyvault-reference: discovery", () => {
  it("8 sites with maxConcurrency 3: three listings in flight at once, never more, and the targets in the configured order", async () => {
    const secretName = "sso-secret";
    w.kv.vault.seedSecret(secretName, "sso-secret-value-0123456789");
    w.fx.arm.appService.nameVault("corp-vault", w.kv.vaultUrl);
    const sites = Array.from({ length: 8 }, (_, i) => `${SITES}/app-${i}`);
    for (const site of sites) w.fx.arm.appService.seedSite(site, { settings: { [KEY]: `@Microsoft.KeyVault(VaultName=corp-vault;SecretName=${secretName})` } });
    // Each listing takes a while, so listings sent together overlap.
    w.fx.arm.server.faults.add({ route: "^GET .*/config/configreferences/appsettings$", latencyMs: 60 });
    const http = new CountingHttp({ ca: w.fx.caCertPem, retry: { maxRetries: 0 } });
    const config = gatewaySchema.parse({ kind: "appservice-keyvault-reference", sites, vaultName: "corp-vault", armEndpoint: w.fx.url, maxConcurrency: 3 });
    const adapter = createGatewayAdapter(config, {
      http,
      credential: w.fx.credential(),
      keyVaultSecret: { vaultUrl: w.kv.vaultUrl, secretName },
    });

    const targets = await adapter.listTargets({ clientId: "client-1" });

    expect(targets.map((t) => t.name)).toEqual(sites.map((_, i) => `app-${i}/${KEY}`));
    expect(w.fx.arm.server.count("GET", /\/config\/configreferences\/appsettings$/)).toBe(8);
    expect(http.peak).toBe(3);
  });
});
