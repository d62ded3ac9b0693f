import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** What a hook concluded: go on, or stop with a message that says what to do. */
export interface HookOutcome {
  ok: boolean;
  message: string;
}

export interface HookEnv {
  /** azd's environment values (azd passes them to hooks as environment variables). */
  env: Readonly<Record<string, string | undefined>>;
  /** Project root (where azure.yaml is). */
  cwd: string;
  /** Runs a command, returns its exit code and output; injectable for tests. */
  exec?: (command: string, args: string[]) => { status: number | null; stdout: string; stderr: string; error?: Error };
}

const EXAMPLE = "docs/examples/credential-sets.example.json";

const HOW_TO = (file: string) => `How to write one:
  1. cp ${EXAMPLE} ${file}
  2. per credential set: tenantId, clientId and applicationObjectId of the app registration,
     keyVault.url + secretName (the vault this deployment creates is https://<AZURE_KEY_VAULT_NAME>.vault.azure.net;
     choose its name first with: azd env set AZURE_KEY_VAULT_NAME <3-24 letters, digits, dashes>),
     the gateway, and the alert channels (their URLs and keys are Key Vault secret names, never values)
  3. npm run check-config -- ${file}
Reference: docs/configuration.md#credential-set-file · docs/deployment.md#the-credential-set-file`;

export function defaultExec(command: string, args: string[]) {
  const r = spawnSync(command, args, { encoding: "utf8", shell: false });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", ...(r.error ? { error: r.error } : {}) };
}

/** check-config's own validation (scripts/check-config.ts) on the file, in a child process. */
function checkConfig(file: string, h: HookEnv): HookOutcome {
  const exec = h.exec ?? defaultExec;
  const tsx = path.join(h.cwd, "node_modules", "tsx", "dist", "cli.mjs");
  const r = exec(process.execPath, [tsx, path.join(h.cwd, "scripts", "check-config.ts"), file]);
  if (r.error) return { ok: false, message: `could not run check-config (${r.error.message}); run npm ci first` };
  return { ok: r.status === 0, message: `${r.stdout}${r.stderr}`.trim() };
}

/**
 * preprovision / prepackage: the credential sets the app will load must be valid before anything
 * is deployed, or every invocation fails at start-up. They come from CREDENTIAL_SETS_JSON_BASE64
 * when set (infra/main.bicep then writes CREDENTIAL_SETS_JSON), else from the file named by
 * CREDENTIAL_SETS_FILE (default credential-sets.json) in the package.
 */
export function checkCredentialSets(h: HookEnv): HookOutcome {
  const b64 = h.env["CREDENTIAL_SETS_JSON_BASE64"]?.trim();
  if (b64) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rotator-sets-"));
    try {
      const file = path.join(dir, "CREDENTIAL_SETS_JSON.json");
      writeFileSync(file, Buffer.from(b64, "base64").toString("utf8"));
      const r = checkConfig(file, h);
      return r.ok
        ? { ok: true, message: `CREDENTIAL_SETS_JSON_BASE64: ${r.message.split("\n")[0]!.replace(file, "credential sets")}` }
        : {
            ok: false,
            message: `CREDENTIAL_SETS_JSON_BASE64 (decoded) is not a valid credential-set file:\n${r.message.replaceAll(file, "CREDENTIAL_SETS_JSON")}\nFix the file, then: azd env set CREDENTIAL_SETS_JSON_BASE64 "$(base64 -w0 credential-sets.json)"`,
          };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const name = h.env["CREDENTIAL_SETS_FILE"]?.trim() || "credential-sets.json";
  const file = path.resolve(h.cwd, name);
  if (!existsSync(file)) {
    return {
      ok: false,
      message: `${name} is missing: the Function App loads its credential sets from it (CREDENTIAL_SETS_FILE) and would fail on every invocation.\n${HOW_TO(name)}`,
    };
  }
  const r = checkConfig(file, h);
  return r.ok ? { ok: true, message: r.message.split("\n")[0]! } : { ok: false, message: `${name} is not valid:\n${r.message}\n${HOW_TO(name)}` };
}

/**
 * Re-provisioning after `azd down`: the vault stays soft-deleted for 90 days (purge protection)
 * and keeps its name. With the Azure CLI at hand, find out before ARM fails half-way.
 */
export function checkDeletedVault(h: HookEnv): HookOutcome {
  const name = h.env["AZURE_KEY_VAULT_NAME"]?.trim();
  if (!name) return { ok: true, message: "no Key Vault provisioned yet in this environment" };
  const exec = h.exec ?? defaultExec;
  const r = exec("az", ["keyvault", "show-deleted", "--name", name, "--query", "properties.scheduledPurgeDate", "-o", "tsv"]);
  if (r.error || r.status === null)
    return {
      ok: true,
      message: `could not check whether Key Vault ${name} is soft-deleted (Azure CLI not found); if provisioning fails with "deleted but recoverable", see docs/deployment.md#removing-a-deployment`,
    };
  if (r.status !== 0) return { ok: true, message: `Key Vault ${name} is not soft-deleted` };
  const rg = h.env["AZURE_RESOURCE_GROUP"] ?? "<resource group>";
  return {
    ok: false,
    message: `Key Vault ${name} was deleted (azd down) and is soft-deleted until ${r.stdout.trim() || "its purge date"}: purge protection keeps the name taken.
Either recover it with its secrets (the current client secrets are in it):
  az group create --name ${rg} --location ${h.env["AZURE_LOCATION"] ?? "<location>"}
  az keyvault recover --name ${name}
  azd provision
or provision a new vault under another name, and point credential-sets.json at it:
  azd env set AZURE_KEY_VAULT_NAME <new name>
  (edit keyVault.url in credential-sets.json, then store the secrets again: docs/deployment.md#secrets-in-key-vault)`,
  };
}

/**
 * predown: what `azd down` leaves behind, said before it runs. The Event Grid subscription goes
 * with the resource group and the next deploy's postdeploy step creates it again; nothing in the
 * azd environment has to be reset for `azd up` to work again. The vault does not go: purge
 * protection keeps it soft-deleted, with its secrets and its name, for 90 days.
 */
export function predownNotice(h: HookEnv): HookOutcome {
  const name = h.env["AZURE_KEY_VAULT_NAME"]?.trim();
  const vault = name
    ? `Key Vault ${name} will stay soft-deleted for 90 days with its secrets (purge protection: azd down --purge cannot remove it), and keeps its name.
The next azd up in this environment stops in preprovision and offers both ways back: az keyvault recover --name ${name}, or a new AZURE_KEY_VAULT_NAME.`
    : "no Key Vault recorded in this environment";
  return {
    ok: true,
    message: `${vault}\nThe Event Grid SecretNearExpiry subscription goes with the resource group; the postdeploy step of the next azd up creates it again.`,
  };
}
