import { describe, expect, it } from "vitest";
import { targetGroupsOf } from "../../src/config/groups.js";
import { describeCredentialSets } from "../../src/config/summary.js";
import { expectGroupIssues, withSecondGroup } from "./fixtures.js";

/** Issue 24 item 4: the `appservice-keyvault-reference` group in the credential-set file, and check-config's words for a wrong one. */
const SITE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.Web/sites/orders-func";

describe("appservice-keyvault-reference groups", () => {
  it("loads sites and slots with their defaults, and the summary says what the group does", () => {
    const r = withSecondGroup({ kind: "appservice-keyvault-reference", sites: [SITE, `${SITE}/slots/staging`] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(targetGroupsOf(r.value[0]!)[1]).toEqual({ kind: "appservice-keyvault-reference", sites: [SITE, `${SITE}/slots/staging`], maxConcurrency: 4 });
    expect(describeCredentialSets(r.value)).toContain("appservice-keyvault-reference: refreshes Key Vault references on 2 site(s)/slot(s)");
    expect(
      withSecondGroup({ kind: "appservice-keyvault-reference", sites: [SITE], vaultName: "corp-vault", armEndpoint: "https://management.usgovcloudapi.net" })
        .ok,
    ).toBe(true);
  });

  it("names the field and the fix for a wrong site ID, a missing or empty sites list, a bad vaultName and an http armEndpoint", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        { kind: "appservice-keyvault-reference", sites: ["orders-func"] },
        "groups[1].sites[0]",
        /must be an App Service or Function app resource ID like \/subscriptions\/.*\/slots\/<slot> for a slot — copy it from the app's Properties page/,
      ],
      [
        {
          kind: "appservice-keyvault-reference",
          sites: ["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/x"],
        },
        "groups[1].sites[0]",
        /must be an App Service or Function app resource ID/,
      ],
      [{ kind: "appservice-keyvault-reference" }, "groups[1].sites", /is required — list the sites and slots to search/],
      [{ kind: "appservice-keyvault-reference", sites: [] }, "groups[1].sites", /at least one site or slot/],
      [
        { kind: "appservice-keyvault-reference", sites: [SITE], vaultName: "https://corp-vault.vault.azure.net" },
        "groups[1].vaultName",
        /must be a Key Vault name .* e\.g\. corp-vault/,
      ],
      [{ kind: "appservice-keyvault-reference", sites: [SITE], armEndpoint: "http://management.azure.com" }, "groups[1].armEndpoint", /https/],
    ];
    expectGroupIssues(cases);
  });
});
