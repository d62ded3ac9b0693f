/**
 * preprovision: which secrets of this deployment's vault the rotator writes and which it only
 * reads, from the credential sets, for infra/app/rbac.bicep's secret-scope role assignments.
 *
 * Why: Key Vault Secrets Officer on the whole vault also let the app rewrite the gateway API token
 * and the alert-channel secrets. The app now gets Officer only on each set's client secret and its
 * -pending companion, and Secrets User (read) on the secrets it reads. The template cannot read the
 * credential sets, so this hook writes the names into the azd environment (azd reloads it after
 * every hook, before provisioning): KEY_VAULT_ROTATED_SECRETS and KEY_VAULT_READ_SECRETS.
 */
import { targetGroupsOf } from "../../src/config/groups.js";
import type { CredentialSet, GatewayConfig } from "../../src/config/schema.js";
import { collectCredentialSets } from "../../src/config/load.js";
import type { HookEnv, HookOutcome } from "./hooks.js";

export const ROTATED_VAR = "KEY_VAULT_ROTATED_SECRETS";
export const READ_VAR = "KEY_VAULT_READ_SECRETS";

export interface VaultSecretNames {
  /** Each set's keyVault.secretName in this vault (rbac.bicep adds the -pending companion). */
  rotated: string[];
  /** Secrets of this vault the sets only read: gateway API tokens, Kong / Konnect tokens, alert-channel secrets. */
  read: string[];
  /** Sets whose secrets live in another vault: their roles are given by hand (docs/deployment.md). */
  elsewhere: string[];
}

/** Is this vault URL the vault named `vaultName` (https://<name>.vault.azure.net in any cloud)? */
function isVault(url: string, vaultName: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return host.startsWith(`${vaultName.toLowerCase()}.`) && host.includes(".vault.");
}

/** The Key Vault secrets a target group only reads: the gateway API token, Kong's admin token or Konnect access token. */
function groupTokenSecretNames(group: GatewayConfig): string[] {
  if (group.kind === "cequence") return [group.apiTokenSecretName];
  if (group.kind === "kong-openid-connect") return [group.adminTokenSecretName, group.accessTokenSecretName].filter((n): n is string => typeof n === "string");
  return [];
}

export function vaultSecretNames(sets: readonly CredentialSet[], vaultName: string): VaultSecretNames {
  const rotated = new Set<string>();
  const read = new Set<string>();
  const elsewhere: string[] = [];
  for (const set of sets) {
    if (!isVault(set.keyVault.url, vaultName)) {
      elsewhere.push(set.name);
      continue;
    }
    rotated.add(set.keyVault.secretName);
    // Every target group's token, not only the first group's (the old `gateway` field).
    for (const name of targetGroupsOf(set).flatMap(groupTokenSecretNames)) read.add(name);
    for (const channel of set.alerts ?? []) {
      for (const [field, value] of Object.entries(channel)) if (field.endsWith("SecretName") && typeof value === "string") read.add(value);
    }
  }
  return { rotated: [...rotated].sort(), read: [...read].filter((n) => !rotated.has(n)).sort(), elsewhere };
}

/**
 * Computes the names from CREDENTIAL_SETS_JSON_BASE64 or CREDENTIAL_SETS_FILE (already checked by
 * checkCredentialSets) and stores them with `azd env set`. Without AZURE_KEY_VAULT_NAME the vault
 * is not named yet and no set can point at it: nothing to grant.
 */
export function recordVaultSecretNames(h: HookEnv & { exec: NonNullable<HookEnv["exec"]> }): HookOutcome {
  const vault = h.env["AZURE_KEY_VAULT_NAME"]?.trim();
  if (!vault)
    return {
      ok: true,
      message: `AZURE_KEY_VAULT_NAME is not set: the app gets no secret roles in the new vault until the sets name it and you provision again (docs/deployment.md, Deploy)`,
    };
  const b64 = h.env["CREDENTIAL_SETS_JSON_BASE64"]?.trim();
  const source = b64 ? { json: Buffer.from(b64, "base64").toString("utf8") } : { file: h.env["CREDENTIAL_SETS_FILE"]?.trim() || "credential-sets.json" };
  const outcome = collectCredentialSets(source, { cwd: h.cwd });
  if (!outcome.ok) return { ok: false, message: "the credential sets are not valid: run npm run check-config" };
  const names = vaultSecretNames(outcome.value, vault);
  for (const [name, values] of [
    [ROTATED_VAR, names.rotated],
    [READ_VAR, names.read],
  ] as const) {
    const r = h.exec("azd", ["env", "set", name, values.join(",")]);
    if (r.error || r.status !== 0) return { ok: false, message: `azd env set ${name} failed: ${(r.error?.message ?? r.stderr).trim()}` };
  }
  const others = names.elsewhere.length
    ? `; sets in other vaults (${names.elsewhere.join(", ")}) need their roles there by hand (docs/deployment.md, Key Vault roles)`
    : "";
  return {
    ok: true,
    message: `${vault}: the app may write ${names.rotated.map((n) => `${n}, ${n}-pending`).join(", ") || "no secret"} and read ${names.read.join(", ") || "no other secret"}${others}`,
  };
}
