import { randomUUID } from "node:crypto";
import type { Clock } from "../../common/clock.js";
import type { KeyVaultReader } from "../apim/index.js";
import type { ArmCore } from "../core.js";
import { current, fetchReferences, registerAppServiceRoutes, type AppServiceDeps } from "./routes.js";
import { AppServiceState, type AppServiceSite, type StoredResolution } from "./state.js";

export type { StoredResolution } from "./state.js";

/**
 * The App Service subset of the ARM emulator (../shared/specs/appservice-keyvault-references.md),
 * registered on the one ARM core. Seeding, faults and ground truth are in-process only.
 */
export interface AppServiceProviderOptions {
  clock: Clock;
  /** How the sites' identity reads Key Vault; default: every read fails (no vault wired). */
  keyVault?: KeyVaultReader;
}

export class AppServiceProvider {
  private readonly state = new AppServiceState();
  private readonly vaults = new Map<string, string>();
  private readonly deps: AppServiceDeps;

  constructor(core: ArmCore, options: AppServiceProviderOptions) {
    this.deps = {
      state: this.state,
      clock: options.clock,
      keyVault: (id) => (options.keyVault ?? (() => ({ error: { code: "VaultNotFound", message: "no Key Vault is wired to this emulator" } })))(id),
      vaultUrl: (name) => this.vaults.get(name.toLowerCase()) ?? `https://${name}.vault.azure.net`,
    };
    registerAppServiceRoutes(core, this.deps);
  }

  /** The URL a `VaultName=<name>` reference resolves to (the Key Vault emulator's, in tests). */
  nameVault(vaultName: string, url: string): void {
    this.vaults.set(vaultName.toLowerCase(), url);
  }

  /**
   * A running site or slot (`…/sites/<name>[/slots/<slot>]`) with its app settings; it fetches its
   * references at once, as an app does when it starts.
   */
  seedSite(
    resourceId: string,
    input: { settings?: Record<string, string>; identity?: AppServiceSite["identity"]; reportsActiveVersion?: boolean } = {},
  ): AppServiceSite {
    const site = this.state.add({
      id: resourceId,
      identity: input.identity ?? "SystemAssigned",
      principalId: randomUUID(),
      settings: new Map(Object.entries(input.settings ?? {})),
      resolved: new Map(),
      reportsActiveVersion: input.reportsActiveVersion ?? true,
    });
    fetchReferences(site, this.deps);
    return site;
  }

  /** The site's identity loses (`on`) or regains its access to Key Vault; it shows on the next fetch. */
  denyKeyVault(siteId: string, on = true): void {
    this.mustSite(siteId).keyVaultDenied = on;
  }

  /** A stuck site (`on`): it answers refreshes and restarts but never fetches again. */
  freeze(siteId: string, on = true): void {
    this.mustSite(siteId).frozen = on;
  }

  // ---- ground truth (tests only) ----------------------------------------------------------------

  /** What the site last fetched for a setting; undefined when the setting is not a reference. */
  resolution(siteId: string, key: string): StoredResolution | undefined {
    return this.mustSite(siteId).resolved.get(key);
  }

  /** The value the app really receives for a setting: the resolved secret, or the literal reference when it failed. */
  appSees(siteId: string, key: string): string | undefined {
    const site = this.mustSite(siteId);
    return site.resolved.get(key)?.value ?? site.settings.get(key);
  }

  /**
   * What the app uses now: as appSees, after the site's own 24 h re-fetch (§ Refresh / rotation),
   * which otherwise happens only when a route reads the site.
   */
  appUses(siteId: string, key: string): string | undefined {
    current(this.mustSite(siteId), this.deps);
    return this.appSees(siteId, key);
  }

  /** Every value any site resolved, for SecretScanner. */
  issuedSecrets(): string[] {
    return this.state.secrets();
  }

  reset(): void {
    this.state.clear();
    this.vaults.clear();
  }

  private mustSite(id: string): AppServiceSite {
    const s = this.state.site(id);
    if (!s) throw new Error(`no App Service site ${id}`);
    return s;
  }
}
