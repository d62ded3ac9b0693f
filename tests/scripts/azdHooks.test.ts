import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkCredentialSets, checkDeletedVault, predownNotice } from "../../scripts/azd/hooks.js";
import { READ_VAR, recordVaultSecretNames, ROTATED_VAR } from "../../scripts/azd/vaultSecrets.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const EXAMPLE = path.join(REPO, "docs/examples/credential-sets.example.json");

/** The hooks run check-config from the project root; a temp project that links to this one's tools. */
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "rotator-hooks-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("preprovision / prepackage: credential sets", () => {
  it("azd up without credential-sets.json deployed an app that failed every invocation: the hooks stop, saying how to write one from docs/examples", () => {
    const o = checkCredentialSets({ env: { CREDENTIAL_SETS_FILE: path.join(dir, "credential-sets.json") }, cwd: REPO });
    expect(o.ok).toBe(false);
    expect(o.message).toContain("is missing");
    expect(o.message).toContain("cp docs/examples/credential-sets.example.json");
    expect(o.message).toContain("npm run check-config --");
  });

  it("stop on an invalid file with check-config's list of bad fields", () => {
    const file = path.join(dir, "sets.json");
    const doc = JSON.parse(readFileSync(EXAMPLE, "utf8")) as { sets: { clientId: string }[] };
    doc.sets[0]!.clientId = "not-a-guid";
    writeFileSync(file, JSON.stringify(doc));
    const o = checkCredentialSets({ env: { CREDENTIAL_SETS_FILE: file }, cwd: REPO });
    expect(o.ok).toBe(false);
    expect(o.message).toContain("clientId");
    expect(o.message).toContain("How to write one");
  }, 30_000);

  it("pass a valid file, and a valid CREDENTIAL_SETS_JSON_BASE64 instead of the file", () => {
    const file = path.join(dir, "credential-sets.json");
    copyFileSync(EXAMPLE, file);
    expect(checkCredentialSets({ env: { CREDENTIAL_SETS_FILE: file }, cwd: REPO })).toMatchObject({ ok: true });
    const b64 = Buffer.from(readFileSync(EXAMPLE)).toString("base64");
    const o = checkCredentialSets({ env: { CREDENTIAL_SETS_JSON_BASE64: b64, CREDENTIAL_SETS_FILE: path.join(dir, "absent.json") }, cwd: REPO });
    expect(o).toMatchObject({ ok: true });
    const bad = checkCredentialSets({ env: { CREDENTIAL_SETS_JSON_BASE64: Buffer.from('{"sets":[{}]}').toString("base64") }, cwd: REPO });
    expect(bad.ok).toBe(false);
    expect(bad.message).toContain("CREDENTIAL_SETS_JSON_BASE64");
  }, 60_000);
});

describe("preprovision: a vault name held by a soft-deleted vault (after azd down)", () => {
  const exec =
    (status: number | null, stdout = "", error?: Error) =>
    (command: string, args: string[]) => {
      expect([command, ...args.slice(0, 4)]).toEqual(["az", "keyvault", "show-deleted", "--name", "kv-rotator-prod"]);
      return { status, stdout, stderr: "", ...(error ? { error } : {}) };
    };
  const env = { AZURE_KEY_VAULT_NAME: "kv-rotator-prod", AZURE_RESOURCE_GROUP: "rg-prod", AZURE_LOCATION: "swedencentral" };

  it("stops with both ways out: recover the vault, or a new name", () => {
    const o = checkDeletedVault({ env, cwd: REPO, exec: exec(0, "2027-03-01T00:00:00Z\n") });
    expect(o.ok).toBe(false);
    expect(o.message).toContain("az keyvault recover --name kv-rotator-prod");
    expect(o.message).toContain("azd env set AZURE_KEY_VAULT_NAME");
    expect(o.message).toContain("2027-03-01");
  });

  it("goes on when the vault is not deleted, when none was provisioned, and when az is not installed", () => {
    expect(checkDeletedVault({ env, cwd: REPO, exec: exec(3) }).ok).toBe(true);
    expect(
      checkDeletedVault({
        env: {},
        cwd: REPO,
        exec: () => {
          throw new Error("must not run az");
        },
      }).ok,
    ).toBe(true);
    const o = checkDeletedVault({ env, cwd: REPO, exec: exec(null, "", new Error("spawn az ENOENT")) });
    expect(o.ok).toBe(true);
    expect(o.message).toContain("docs/deployment.md#removing-a-deployment");
  });
});

describe("postprovision: the Entra reminder", () => {
  const graphPermissions = (text: string) =>
    new Set([...text.matchAll(/\b(?:Application|Policy|Directory|AuditLog|DelegatedPermissionGrant)\.[A-Za-z]+(?:\.[A-Za-z]+)*/g)].map((m) => m[0]));

  it("the postprovision message asked admins for Policy.Read.All: both shells name exactly the two permissions docs/deployment.md grants, Policy.Read.ApplicationConfiguration the narrower one", () => {
    const yaml = readFileSync(path.join(REPO, "azure.yaml"), "utf8");
    const hook = /^ {2}postprovision:\n([\s\S]*?)\n {2}(?:#|\w)/m.exec(yaml)?.[1];
    expect(hook).toBeDefined();
    const [posix, windows] = hook!.split(/^ {4}windows:$/m);
    const doc = readFileSync(path.join(REPO, "docs/deployment.md"), "utf8");
    const granted = graphPermissions(/1\. grant the identity the Graph \*\*application\*\* permissions ([^;]*);/.exec(doc)![1]!);
    expect([...granted].sort()).toEqual(["Application.ReadWrite.OwnedBy", "Policy.Read.ApplicationConfiguration"]);
    for (const shell of [posix!, windows!]) expect(graphPermissions(shell)).toEqual(granted);
  });
});

describe("predown", () => {
  it("says what azd down leaves (the soft-deleted vault keeps its name) and how azd up comes back; never stops azd down", () => {
    const o = predownNotice({ env: { AZURE_KEY_VAULT_NAME: "kv-rotator-prod" }, cwd: REPO });
    expect(o.ok).toBe(true);
    expect(o.message).toContain("az keyvault recover --name kv-rotator-prod");
    expect(o.message).toContain("postdeploy");
    expect(predownNotice({ env: {}, cwd: REPO }).ok).toBe(true);
    const yaml = readFileSync(path.join(REPO, "azure.yaml"), "utf8");
    expect(yaml).toMatch(/^ {2}predown:\n(?: {4}.*\n)+? {6}run: npm run --silent azd-hook -- predown$/m);
  });
});

describe("preprovision: the secret names behind the app's Key Vault roles", () => {
  /** A stand-in for `azd env set`: records what the hook stores in the azd environment. */
  const azdEnv = () => {
    const stored: Record<string, string> = {};
    const exec = (command: string, args: string[]) => {
      expect([command, ...args.slice(0, 2)]).toEqual(["azd", "env", "set"]);
      stored[args[2]!] = args[3]!;
      return { status: 0, stdout: "", stderr: "" };
    };
    return { stored, exec };
  };

  it("Secrets Officer on the whole vault let the app rewrite the gateway token and alert secrets: the hook lists the client secrets it writes apart from the secrets it only reads, for this vault only", () => {
    const file = path.join(dir, "sets.json");
    const doc = JSON.parse(readFileSync(EXAMPLE, "utf8")) as { sets: { keyVault: { url: string } }[] };
    doc.sets[1]!.keyVault.url = "https://kv-other-team.vault.azure.net";
    writeFileSync(file, JSON.stringify(doc));
    const { stored, exec } = azdEnv();
    const o = recordVaultSecretNames({ env: { AZURE_KEY_VAULT_NAME: "KV-MCP-SSO-PROD", CREDENTIAL_SETS_FILE: file }, cwd: REPO, exec });
    expect(o.ok).toBe(true);
    expect(stored[ROTATED_VAR]).toBe("cequence-sso-client-secret");
    expect(stored[READ_VAR]!.split(",")).toEqual([
      "alert-opsgenie-api-key",
      "alert-pagerduty-routing-key",
      "alert-slack-webhook-url",
      "alert-teams-workflow-url",
      "alert-webhook-signing-key",
      "alert-webhook-url",
      "cequence-gateway-api-token",
    ]);
    expect(o.message).toContain("legacy-gateway-sso");
    expect(o.message).toContain("by hand");
  });

  it("the read list looked only at the set's `gateway`: with target groups, a second cequence group's API token and Kong's admin / Konnect tokens got no read role (Key Vault 403 in Azure); every group's token secret is read-only now", () => {
    const file = path.join(dir, "sets.json");
    const doc = JSON.parse(readFileSync(EXAMPLE, "utf8")) as { sets: Record<string, unknown>[] };
    const set = doc.sets[0]!;
    const first = set["gateway"] as Record<string, unknown>;
    delete set["gateway"];
    set["alerts"] = [];
    set["groups"] = [
      first,
      { ...first, apiTokenSecretName: "second-gateway-api-token" },
      { kind: "kong-openid-connect", adminUrl: "https://kong-admin.internal:8444", adminTokenSecretName: "kong-admin-token" },
      {
        kind: "kong-openid-connect",
        api: "konnect",
        konnectUrl: "https://us.api.konghq.com/v2",
        controlPlaneId: "0b5a5c4e-3f7a-4b7e-9d2c-1e2f3a4b5c6d",
        accessTokenSecretName: "konnect-token",
      },
      { kind: "kong-openid-connect", adminUrl: "https://kong-open.internal:8444" },
      { kind: "manual", targets: ["mcp-1"] },
    ];
    doc.sets = [set];
    writeFileSync(file, JSON.stringify(doc));
    const { stored, exec } = azdEnv();
    const o = recordVaultSecretNames({ env: { AZURE_KEY_VAULT_NAME: "kv-mcp-sso-prod", CREDENTIAL_SETS_FILE: file }, cwd: REPO, exec });
    expect(o.ok, o.message).toBe(true);
    expect(stored[ROTATED_VAR]).toBe("cequence-sso-client-secret");
    expect(stored[READ_VAR]!.split(",")).toEqual(["cequence-gateway-api-token", "kong-admin-token", "konnect-token", "second-gateway-api-token"]);
  }, 30_000);

  it("reads CREDENTIAL_SETS_JSON_BASE64 like the app; without a vault name it grants nothing and says why", () => {
    const { stored, exec } = azdEnv();
    const b64 = Buffer.from(readFileSync(EXAMPLE)).toString("base64");
    expect(recordVaultSecretNames({ env: { AZURE_KEY_VAULT_NAME: "kv-mcp-sso-prod", CREDENTIAL_SETS_JSON_BASE64: b64 }, cwd: REPO, exec }).ok).toBe(true);
    expect(stored[ROTATED_VAR]).toBe("cequence-sso-client-secret,legacy-gateway-sso-client-secret");
    const none = azdEnv();
    const o = recordVaultSecretNames({ env: { CREDENTIAL_SETS_JSON_BASE64: b64 }, cwd: REPO, exec: none.exec });
    expect(o.ok).toBe(true);
    expect(o.message).toContain("AZURE_KEY_VAULT_NAME");
    expect(none.stored).toEqual({});
  });
});
