import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useArmTestWorld } from "../testWorld.js";

/**
 * Fidelity of the App Service subset against ../shared/specs/appservice-keyvault-references.md and
 * its verbatim examples (appservice-keyvault-references/examples/<api-version>/*.json): the
 * example tests seed the example's own site with references to the example's vault and secrets,
 * replay the example's request and compare the answer with the example's response. The spec says
 * real answers carry more than the examples (`reference`, `status`), so the examples' fields must
 * be present and equal, and more may follow.
 */
const EXAMPLES = fileURLToPath(new URL("../../../../shared/specs/appservice-keyvault-references/examples/", import.meta.url));
const HOUR = 3_600_000;

interface Example {
  parameters: { subscriptionId: string; resourceGroupName: string; name: string; appSettingKey?: string; "api-version": string };
  responses: { "200": { body: { value?: { id: string; properties: Record<string, string> }[]; id?: string; properties?: Record<string, string> } } };
}

const w = useArmTestWorld({ keyVault: true });

function example(file: string): Example {
  return JSON.parse(readFileSync(EXAMPLES + file, "utf8")) as Example;
}

const siteOf = (p: Example["parameters"]) => `/subscriptions/${p.subscriptionId}/resourceGroups/${p.resourceGroupName}/providers/Microsoft.Web/sites/${p.name}`;
/** The example's references as app settings: the setting named by its id's last segment, in the VaultName= form. */
const settingsOf = (items: { id: string; properties: Record<string, string> }[]) =>
  Object.fromEntries(
    items.map((i) => [
      i.id.split("/").at(-1)!,
      `@Microsoft.KeyVault(VaultName=${i.properties["vaultName"]};SecretName=${i.properties["secretName"]};SecretVersion=${i.properties["secretVersion"]})`,
    ]),
  );

const SITE = "/subscriptions/00000000-0000-0000-0000-00000000b001/resourceGroups/rg-apps/providers/Microsoft.Web/sites/orders-api";
const V = "api-version=2024-11-01";

describe("Key Vault references (appservice-keyvault-references.md)", () => {
  for (const file of ["2024-04-01/GetKeyVaultReferencesForAppSettings.json", "2025-05-01/GetKeyVaultReferencesForAppSettings.json"]) {
    it(`${file}: GET config/configreferences/appsettings answers the example's references`, async () => {
      const ex = example(file);
      const want = ex.responses["200"].body.value!;
      w.fx.arm.appService.seedSite(siteOf(ex.parameters), { settings: { ...settingsOf(want), PLAIN: "not a reference" } });
      const r = await w.call("GET", `${siteOf(ex.parameters)}/config/configreferences/appsettings?api-version=${ex.parameters["api-version"]}`);
      expect(r.status).toBe(200);
      const got = (r.body as { value: unknown[] }).value;
      expect(got).toHaveLength(want.length); // the plain setting is not a reference
      want.forEach((w, i) => expect(got[i]).toMatchObject(w));
      // Not in the examples, in real answers (§ ApiKVReference): the raw reference and a status (no such vault here).
      expect((got[0] as { properties: Record<string, unknown> }).properties).toMatchObject({
        reference: expect.stringMatching(/^@Microsoft\.KeyVault\(/),
        status: "VaultNotFound",
      });
    });
  }

  for (const file of ["2024-11-01/GetKeyVaultReferencesForAppSetting.json", "2026-09-01/GetKeyVaultReferencesForAppSetting.json"]) {
    it(`${file}: GET config/configreferences/appsettings/{appSettingKey} answers the example's reference`, async () => {
      const ex = example(file);
      const want = ex.responses["200"].body as { id: string; properties: Record<string, string> };
      w.fx.arm.appService.seedSite(siteOf(ex.parameters), { settings: settingsOf([want]) });
      const r = await w.call(
        "GET",
        `${siteOf(ex.parameters)}/config/configreferences/appsettings/${ex.parameters.appSettingKey}?api-version=${ex.parameters["api-version"]}`,
      );
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject(want);
    });
  }

  it("a versionless reference resolves from Key Vault with the site's identity; no answer carries the value; POST list returns the reference, GET none", async () => {
    const first = w.kv.vault.seedSecret("sso-secret", "first-value-0123456789abcdef");
    w.fx.arm.appService.seedSite(SITE, { settings: { SSO: `@Microsoft.KeyVault(SecretUri=${w.kv.vault.url}/secrets/sso-secret)`, OTHER: "x" } });
    const ref = await w.call("GET", `${SITE}/config/configreferences/appsettings/SSO?${V}`);
    expect(ref.body).toMatchObject({
      id: `${SITE}/config/configreferences/appsettings/SSO`,
      properties: { status: "Resolved", secretName: "sso-secret", secretVersion: "", activeVersion: first.version, source: "KeyVault" },
    });
    expect(w.fx.arm.appService.appSees(SITE, "SSO")).toBe("first-value-0123456789abcdef");
    const list = await w.call("POST", `${SITE}/config/appsettings/list?${V}`);
    expect((list.body as { properties: Record<string, string> }).properties).toEqual({
      SSO: `@Microsoft.KeyVault(SecretUri=${w.kv.vault.url}/secrets/sso-secret)`,
      OTHER: "x",
    });
    const get = await w.call("GET", `${SITE}/config/appsettings?${V}`);
    expect((get.body as { properties: Record<string, string> }).properties).toEqual({});
    for (const r of [ref, list, get, await w.call("GET", `${SITE}/config/configreferences/appsettings?${V}`)]) {
      expect(JSON.stringify(r.body)).not.toContain("first-value-0123456789abcdef");
    }
  });

  it("§ Refresh / rotation: a new version is used after the docs-only refresh POST, or after 24 h without it; never before", async () => {
    w.kv.vault.seedSecret("sso-secret", "first-value-0123456789abcdef");
    w.fx.arm.appService.seedSite(SITE, { settings: { SSO: `@Microsoft.KeyVault(SecretUri=${w.kv.vault.url}/secrets/sso-secret)` } });
    const second = w.kv.vault.seedSecret("sso-secret", "second-value-0123456789abcdef");
    w.fx.entra.clock.advance(23 * HOUR);
    expect(w.fx.arm.appService.appSees(SITE, "SSO")).toBe("first-value-0123456789abcdef");
    // The refresh POST of the docs, with the docs' api-version; it answers the collection (README guess).
    const refresh = await w.call("POST", `${SITE}/config/configreferences/appsettings/refresh?api-version=2022-03-01`);
    expect(refresh.status).toBe(200);
    expect((refresh.body as { value: { properties: { activeVersion: string } }[] }).value[0]!.properties.activeVersion).toBe(second.version);
    expect(w.fx.arm.appService.appSees(SITE, "SSO")).toBe("second-value-0123456789abcdef");

    const third = w.kv.vault.seedSecret("sso-secret", "third-value-0123456789abcdef");
    w.fx.entra.clock.advance(24 * HOUR);
    const r = await w.call("GET", `${SITE}/config/configreferences/appsettings/SSO?${V}`);
    expect((r.body as { properties: { activeVersion: string } }).properties.activeVersion).toBe(third.version);
  });

  it("§ Refresh / rotation (ground truth): appUses is what the app receives after its own 24 h re-fetch, whether or not any route read the site", () => {
    w.kv.vault.seedSecret("sso-secret", "first-value-0123456789abcdef");
    w.fx.arm.appService.seedSite(SITE, { settings: { SSO: `@Microsoft.KeyVault(SecretUri=${w.kv.vault.url}/secrets/sso-secret)` } });
    w.kv.vault.seedSecret("sso-secret", "second-value-0123456789abcdef");
    w.fx.entra.clock.advance(24 * HOUR - 1_000);
    expect(w.fx.arm.appService.appUses(SITE, "SSO")).toBe("first-value-0123456789abcdef");
    w.fx.entra.clock.advance(1_000);
    // appSees shows the cached fetch; the app itself has fetched again.
    expect(w.fx.arm.appService.appSees(SITE, "SSO")).toBe("first-value-0123456789abcdef");
    expect(w.fx.arm.appService.appUses(SITE, "SSO")).toBe("second-value-0123456789abcdef");
  });

  it("an identity without access ends AccessToKeyVaultDenied and the app sees the literal reference; a VaultName= reference with a version pins it", async () => {
    const first = w.kv.vault.seedSecret("sso-secret", "first-value-0123456789abcdef");
    w.fx.arm.appService.nameVault("corp-vault", w.kv.vault.url);
    const pinned = `@Microsoft.KeyVault(VaultName=corp-vault;SecretName=sso-secret;SecretVersion=${first.version})`;
    w.fx.arm.appService.seedSite(SITE, { settings: { SSO: `@Microsoft.KeyVault(VaultName=corp-vault;SecretName=sso-secret)`, PINNED: pinned } });
    w.kv.vault.seedSecret("sso-secret", "second-value-0123456789abcdef");
    await w.call("POST", `${SITE}/config/configreferences/appsettings/refresh?api-version=2022-03-01`);
    expect(w.fx.arm.appService.appSees(SITE, "SSO")).toBe("second-value-0123456789abcdef");
    expect(w.fx.arm.appService.appSees(SITE, "PINNED")).toBe("first-value-0123456789abcdef");

    w.fx.arm.appService.denyKeyVault(SITE);
    await w.call("POST", `${SITE}/config/configreferences/appsettings/refresh?api-version=2022-03-01`);
    const r = await w.call("GET", `${SITE}/config/configreferences/appsettings/SSO?${V}`);
    expect(r.body).toMatchObject({ properties: { status: "AccessToKeyVaultDenied", details: expect.stringContaining("secrets get permission") } });
    expect((r.body as { properties: Record<string, unknown> }).properties["activeVersion"]).toBeUndefined();
    expect(w.fx.arm.appService.appSees(SITE, "SSO")).toBe("@Microsoft.KeyVault(VaultName=corp-vault;SecretName=sso-secret)");
  });

  it("slots are listed under their site and answer their own references; errors are DefaultErrorResponse; a denied refresh answers 403 AuthorizationFailed", async () => {
    w.kv.vault.seedSecret("sso-secret", "first-value-0123456789abcdef");
    const ref = `@Microsoft.KeyVault(SecretUri=${w.kv.vault.url}/secrets/sso-secret)`;
    w.fx.arm.appService.seedSite(SITE, { settings: { SSO: ref } });
    w.fx.arm.appService.seedSite(`${SITE}/slots/staging`, { settings: { SSO: ref }, reportsActiveVersion: false });
    const slots = await w.call("GET", `${SITE}/slots?${V}`);
    expect((slots.body as { value: { id: string; name: string; type: string }[] }).value).toEqual([
      expect.objectContaining({ id: `${SITE}/slots/staging`, name: "orders-api/staging", type: "Microsoft.Web/sites/slots" }),
    ]);
    const slotRef = await w.call("GET", `${SITE}/slots/staging/config/configreferences/appsettings/SSO?${V}`);
    expect(slotRef.body).toMatchObject({ id: `${SITE}/slots/staging/config/configreferences/appsettings/SSO`, properties: { status: "Resolved" } });
    expect((slotRef.body as { properties: Record<string, unknown> }).properties["activeVersion"]).toBeUndefined();

    const missing = await w.call("GET", `${SITE}/config/configreferences/appsettings/NOPE?${V}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: "NotFound", message: expect.any(String) } });
    w.fx.arm.core.deny("Microsoft.Web/sites/config/configreferences/appsettings/refresh/action");
    const denied = await w.call("POST", `${SITE}/config/configreferences/appsettings/refresh?api-version=2022-03-01`);
    expect(denied.status).toBe(403);
    expect((denied.body as { error: { code: string } }).error.code).toBe("AuthorizationFailed");
  });
  it("§ Refresh / rotation: any app-settings change (PUT) restarts the app and refetches at once; an app without an identity shows MSINotEnabled", async () => {
    w.kv.vault.seedSecret("sso-secret", "first-value-0123456789abcdef");
    const ref = `@Microsoft.KeyVault(SecretUri=${w.kv.vault.url}/secrets/sso-secret)`;
    w.fx.arm.appService.seedSite(SITE, { settings: { SSO: ref } });
    const second = w.kv.vault.seedSecret("sso-secret", "second-value-0123456789abcdef");
    const put = await w.call("PUT", `${SITE}/config/appsettings?${V}`, { body: { properties: { SSO: ref, NEW: "y" } } });
    expect(put.status).toBe(200);
    expect(w.fx.arm.appService.resolution(SITE, "SSO")).toMatchObject({ status: "Resolved", version: second.version });

    w.fx.arm.appService.seedSite(`${SITE}/slots/noid`, { settings: { SSO: ref }, identity: "None" });
    const r = await w.call("GET", `${SITE}/slots/noid/config/configreferences/appsettings/SSO?${V}`);
    expect(r.body).toMatchObject({ properties: { status: "MSINotEnabled", identityType: { type: "None" } } });
    expect(w.fx.arm.appService.appSees(`${SITE}/slots/noid`, "SSO")).toBe(ref);
  });
});
