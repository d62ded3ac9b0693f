import { SecretLedger } from "../secretLedger.js";
/**
 * The App Service sites (and slots) of the emulator and what each really resolves, secrets in
 * clear (ground truth: tests read it in-process; no route returns a resolved value, as in Azure,
 * ../shared/specs/appservice-keyvault-references.md § Is the secret returned on GET?).
 */

/** `ResolveStatus` of the spec (§ `ApiKVReference`). */
export type ResolveStatus =
  | "Initialized"
  | "Resolved"
  | "InvalidSyntax"
  | "MSINotEnabled"
  | "VaultNotFound"
  | "SecretNotFound"
  | "SecretVersionNotFound"
  | "AccessToKeyVaultDenied"
  | "OtherReasons"
  | "FetchTimedOut"
  | "UnauthorizedClient";

/** A `@Microsoft.KeyVault(...)` setting, parsed (§ Refresh / rotation: the two syntaxes). */
export interface ParsedReference {
  vaultName: string;
  secretName: string;
  secretVersion: string;
  /** The SecretUri form's URI; absent for the VaultName= form. */
  secretUri?: string;
}

/** What the app holds for one reference setting after its last fetch. */
export interface StoredResolution {
  status: ResolveStatus;
  details: string;
  /** The Key Vault version fetched (ground truth; the API shows it as `activeVersion` only when the site fills it in). */
  version?: string;
  /** The value the app receives; undefined means it receives the literal `@Microsoft.KeyVault(...)` string (§ Refresh / rotation). */
  value?: string;
}

export interface AppServiceSite {
  /** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}[/slots/{slot}]` as seeded. */
  id: string;
  identity: "SystemAssigned" | "UserAssigned" | "None";
  principalId: string;
  /** App settings in order, values as stored (references are strings, not secrets). */
  settings: Map<string, string>;
  resolved: Map<string, StoredResolution>;
  /** When the site last fetched its references (ms, the emulator clock): the cache lasts 24 h. */
  fetchedAt?: number;
  /** Its identity cannot read the vault (no access policy / role): references end AccessToKeyVaultDenied. */
  keyVaultDenied?: boolean;
  /** A stuck site: it acknowledges refreshes and restarts but never fetches again. */
  frozen?: boolean;
  /** Whether the configreferences answers fill in `activeVersion` (the spec leaves it undescribed). */
  reportsActiveVersion: boolean;
}

/** Parses an app setting value; undefined when it is not a Key Vault reference, "invalid" when its syntax is wrong. */
export function parseReference(value: string): ParsedReference | "invalid" | undefined {
  const m = /^@Microsoft\.KeyVault\((.*)\)\s*$/is.exec(value.trim());
  if (!m) return undefined;
  const parts = new Map<string, string>();
  for (const pair of m[1]!.split(";")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    if (eq < 1) return "invalid";
    parts.set(pair.slice(0, eq).trim().toLowerCase(), pair.slice(eq + 1).trim());
  }
  const uri = parts.get("secreturi");
  if (uri !== undefined) {
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      return "invalid";
    }
    const [kind, name, version, ...more] = u.pathname.split("/").filter(Boolean);
    if (kind?.toLowerCase() !== "secrets" || !name || more.length > 0) return "invalid";
    return { vaultName: u.hostname.split(".")[0]!, secretName: name, secretVersion: version ?? "", secretUri: uri };
  }
  const vaultName = parts.get("vaultname");
  const secretName = parts.get("secretname");
  if (!vaultName || !secretName) return "invalid";
  return { vaultName, secretName, secretVersion: parts.get("secretversion") ?? "" };
}

export class AppServiceState extends SecretLedger {
  private readonly sites = new Map<string, AppServiceSite>();

  add(site: AppServiceSite): AppServiceSite {
    this.sites.set(site.id.toLowerCase(), site);
    return site;
  }

  site(id: string): AppServiceSite | undefined {
    return this.sites.get(id.toLowerCase());
  }

  /** The slots of a site (seeded as `<site>/slots/<name>`). */
  slotsOf(siteId: string): AppServiceSite[] {
    const prefix = `${siteId.toLowerCase()}/slots/`;
    return [...this.sites.values()].filter((s) => s.id.toLowerCase().startsWith(prefix));
  }

  override clear(): void {
    super.clear();
    this.sites.clear();
  }
}
