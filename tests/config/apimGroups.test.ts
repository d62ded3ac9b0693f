import { describe, expect, it } from "vitest";
import { targetGroupsOf } from "../../src/config/groups.js";
import { describeCredentialSets } from "../../src/config/summary.js";
import { expectGroupIssues, withSecondGroup } from "./fixtures.js";

/** Issue 24 item 3: the `apim-named-value` group in the credential-set file, and check-config's words for a wrong one. */
const APIM = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1";

describe("apim-named-value groups", () => {
  it("loads Key Vault-backed and plain groups with their defaults, and the summary says which does what", () => {
    const kv = withSecondGroup({ kind: "apim-named-value", services: [APIM] });
    expect(kv.ok).toBe(true);
    if (!kv.ok) return;
    expect(targetGroupsOf(kv.value[0]!)[1]).toEqual({ kind: "apim-named-value", services: [APIM], maxConcurrency: 4 });
    expect(describeCredentialSets(kv.value)).toContain("apim-named-value: refreshes Key Vault-backed named values on 1 service(s)");

    const plain = withSecondGroup({
      kind: "apim-named-value",
      services: [APIM],
      plainNamedValues: ["sso-secret"],
      armEndpoint: "https://management.usgovcloudapi.net",
    });
    expect(plain.ok).toBe(true);
    if (plain.ok) expect(describeCredentialSets(plain.value)).toContain("apim-named-value: writes sso-secret on 1 service(s)");
  });

  it("names the field and the fix for a wrong service ID, a missing services list, an empty plainNamedValues and an http armEndpoint", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        { kind: "apim-named-value", services: ["apimService1"] },
        "groups[1].services[0]",
        /must be an API Management service resource ID like \/subscriptions\/.*copy it from the service's Properties page/,
      ],
      [{ kind: "apim-named-value" }, "groups[1].services", /is required — list the API Management services to search/],
      [{ kind: "apim-named-value", services: [APIM], plainNamedValues: [] }, "groups[1].plainNamedValues", /use two groups for both/],
      [{ kind: "apim-named-value", services: [APIM], armEndpoint: "http://management.azure.com" }, "groups[1].armEndpoint", /https/],
    ];
    expectGroupIssues(cases);
  });

  it("an unknown kind names apim-named-value among the kinds", () => {
    const r = withSecondGroup({ kind: "apim", services: [APIM] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.join("\n")).toMatch(/not a target kind — use .*apim-named-value/);
  });

  it("loads an apim-credential-manager group and names the field for a wrong service ID", () => {
    const ok = withSecondGroup({ kind: "apim-credential-manager", services: [APIM] });
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(describeCredentialSets(ok.value)).toContain("apim-credential-manager: providers and connections on 1 service(s)");
    const bad = withSecondGroup({ kind: "apim-credential-manager", services: ["/subscriptions/x"] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.find((i) => i.includes("groups[1].services[0]"))).toMatch(/API Management service resource ID/);
  });
});
