/**
 * azd hooks (azure.yaml): `tsx scripts/azdHook.ts <preprovision|prepackage|postdeploy|predown>`.
 * Each stops azd with a message saying what to do when the deployment would not work.
 */
import { AzureCliCredential, AzureDeveloperCliCredential, ChainedTokenCredential } from "@azure/identity";
import path from "node:path";
import { armClient, ensureNearExpirySubscription } from "./azd/eventSubscription.js";
import { checkCredentialSets, checkDeletedVault, defaultExec, predownNotice, type HookOutcome } from "./azd/hooks.js";
import { recordVaultSecretNames } from "./azd/vaultSecrets.js";

const root = path.resolve(import.meta.dirname, "..");
const hook = process.argv[2];
const h = { env: process.env, cwd: root };

function report(name: string, o: HookOutcome): boolean {
  (o.ok ? console.log : console.error)(`${o.ok ? "✓" : "✗"} ${name}: ${o.message}`);
  return o.ok;
}

let ok = true;
switch (hook) {
  case "preprovision":
    // The secret names feed the app's secret-scope Key Vault roles (infra/app/rbac.bicep).
    ok =
      report("credential sets", checkCredentialSets(h)) &&
      report("Key Vault name", checkDeletedVault(h)) &&
      report("Key Vault roles", recordVaultSecretNames({ ...h, exec: defaultExec }));
    break;
  case "prepackage":
    // The credential-set file ships in the package. azd runs `npm run build` itself after this
    // hook (its Node.js build and package steps), which stages dist/package.
    ok = report("credential sets", checkCredentialSets(h));
    break;
  case "postdeploy": {
    // Event Grid validates an Azure Function endpoint when the subscription is created, so the
    // SecretNearExpiry subscription is made here, after every deploy, idempotently (never in Bicep).
    const tenantId = process.env["AZURE_TENANT_ID"]?.trim();
    const credential = new ChainedTokenCredential(
      new AzureDeveloperCliCredential(tenantId ? { tenantId } : {}),
      new AzureCliCredential(tenantId ? { tenantId } : {}),
    );
    // National clouds: azd env set AZURE_RESOURCE_MANAGER_ENDPOINT https://management.usgovcloudapi.net
    const endpoint = process.env["AZURE_RESOURCE_MANAGER_ENDPOINT"]?.trim() || "https://management.azure.com";
    ok = report("Key Vault SecretNearExpiry subscription", await ensureNearExpirySubscription({ arm: armClient({ endpoint, credential }), env: process.env }));
    break;
  }
  case "predown":
    report("after azd down", predownNotice(h));
    break;
  default:
    console.error("usage: tsx scripts/azdHook.ts <preprovision|prepackage|postdeploy|predown>");
    ok = false;
}
process.exitCode = ok ? 0 : 1;
