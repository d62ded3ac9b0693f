/**
 * azd hooks (azure.yaml): `tsx scripts/azdHook.ts <preprovision|prepackage|postdeploy>`. Each
 * stops azd with a message saying what to do when the deployment would not work.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { checkCredentialSets, checkDeletedVault, type HookOutcome } from "./azd/hooks.js";

const root = path.resolve(import.meta.dirname, "..");
const hook = process.argv[2];
const h = { env: process.env, cwd: root };

function report(name: string, o: HookOutcome): boolean {
  (o.ok ? console.log : console.error)(`${o.ok ? "✓" : "✗"} ${name}: ${o.message}`);
  return o.ok;
}

function run(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "inherit", cwd: root, shell: process.platform === "win32" }).status === 0;
}

let ok = true;
switch (hook) {
  case "preprovision":
    ok = report("credential sets", checkCredentialSets(h)) && report("Key Vault name", checkDeletedVault(h));
    break;
  case "prepackage":
    // The credential-set file ships in the package. azd runs `npm run build` itself after this
    // hook (its Node.js build and package steps), which stages dist/package.
    ok = report("credential sets", checkCredentialSets(h));
    break;
  case "postdeploy":
    // Event Grid validates an Azure Function endpoint when the subscription is created, so the
    // SecretNearExpiry subscription can only exist once keyVaultEvents is deployed.
    if (process.env["KEY_VAULT_EVENTS_ENABLED"] !== "true") {
      console.log("Creating the Key Vault SecretNearExpiry subscription now that keyVaultEvents is deployed (azd provision)…");
      ok = run("azd", ["env", "set", "KEY_VAULT_EVENTS_ENABLED", "true"]) && run("azd", ["provision", "--no-prompt"]);
    }
    break;
  default:
    console.error("usage: tsx scripts/azdHook.ts <preprovision|prepackage|postdeploy>");
    ok = false;
}
process.exitCode = ok ? 0 : 1;
