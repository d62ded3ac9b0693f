import { identifierNames } from "../apimNamedValue/adapter.js";

/**
 * Whether an App Service Key Vault reference names the set's secret: `current` (no version: the
 * app follows the latest version), `versioned` (pinned: it never rotates), or not at all.
 * ../shared/specs/appservice-keyvault-references.md § Refresh / rotation gives the two syntaxes:
 * `@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>[/<version>])` and
 * `@Microsoft.KeyVault(VaultName=<v>;SecretName=<n>[;SecretVersion=<ver>])`. The configreferences
 * answer carries the raw `reference` (real answers) and always `vaultName`/`secretName`/`secretVersion`
 * (the examples); the raw string is preferred, since a SecretUri names the vault by its host.
 */
export interface ReferenceFields {
  reference?: string;
  vaultName?: string;
  secretName?: string;
  secretVersion?: string;
}

export interface SetSecret {
  vaultUrl: string;
  secretName: string;
  /** The vault's name as `VaultName=` writes it. */
  vaultName: string;
}

type Parsed = { secretUri: string } | { vaultName: string; secretName: string; secretVersion: string };

function parseSetting(value: string): Parsed | undefined {
  const m = /^@Microsoft\.KeyVault\((.*)\)\s*$/is.exec(value.trim());
  if (!m) return undefined;
  const parts = new Map<string, string>();
  for (const pair of m[1]!.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0) parts.set(pair.slice(0, eq).trim().toLowerCase(), pair.slice(eq + 1).trim());
  }
  const uri = parts.get("secreturi");
  if (uri !== undefined) return { secretUri: uri };
  const vaultName = parts.get("vaultname");
  const secretName = parts.get("secretname");
  return vaultName && secretName ? { vaultName, secretName, secretVersion: parts.get("secretversion") ?? "" } : undefined;
}

export function referenceNames(fields: ReferenceFields, secret: SetSecret): "current" | "versioned" | undefined {
  const parsed = fields.reference ? parseSetting(fields.reference) : undefined;
  if (parsed && "secretUri" in parsed) return identifierNames(parsed.secretUri, secret);
  const vault = parsed?.vaultName ?? fields.vaultName;
  const name = parsed?.secretName ?? fields.secretName;
  const version = parsed ? parsed.secretVersion : (fields.secretVersion ?? "");
  if (!vault || !name || vault.toLowerCase() !== secret.vaultName.toLowerCase() || name.toLowerCase() !== secret.secretName.toLowerCase()) return undefined;
  return version ? "versioned" : "current";
}

/** The vault name of a vault URL (`https://corp-vault.vault.azure.net` → `corp-vault`), as a reference's VaultName= writes it. */
export function vaultNameOf(vaultUrl: string): string {
  try {
    return new URL(vaultUrl).hostname.split(".")[0] ?? "";
  } catch {
    return "";
  }
}
