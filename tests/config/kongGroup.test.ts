import { gatewayTokenSecretField } from "../../src/config/schema.js";
import { describe, expect, it } from "vitest";
import { collectCredentialSets } from "../../src/config/load.js";
import { describeCredentialSets } from "../../src/config/summary.js";
import { targetGroupsOf } from "../../src/config/groups.js";
import { validCequenceSet, type RawJson } from "./fixtures.js";

/**
 * Issue 24 item 5: a `kong-openid-connect` group speaks the self-hosted Admin API (the default, so
 * files written before Konnect keep working unchanged), optionally per workspace, or a Konnect
 * control plane (`"api": "konnect"`). Every bad input is named by its field, with the fix.
 */
const CONTROL_PLANE = "7f3c9a2e-4b1d-4e8f-9a6c-2d3e4f5a6b7c";
const adminGroup = (): RawJson => ({ kind: "kong-openid-connect", adminUrl: "https://kong-admin.example.com:8444", adminTokenSecretName: "kong-admin-token" });
const konnectGroup = (): RawJson => ({
  kind: "kong-openid-connect",
  api: "konnect",
  konnectUrl: "https://eu.api.konghq.com/v2",
  controlPlaneId: CONTROL_PLANE,
  accessTokenSecretName: "konnect-token",
});

function withGroup(group: RawJson): RawJson {
  const set = validCequenceSet();
  set.groups = [set.gateway, group];
  delete set.gateway;
  return set;
}

function issues(group: RawJson): string[] {
  const outcome = collectCredentialSets({ json: JSON.stringify({ sets: [withGroup(group)] }) });
  if (outcome.ok) throw new Error("expected the file to be refused");
  return outcome.issues;
}

function loaded(group: RawJson) {
  const outcome = collectCredentialSets({ json: JSON.stringify({ sets: [withGroup(group)] }) });
  if (!outcome.ok) throw new Error(outcome.issues.join("\n"));
  return outcome.value[0]!;
}

describe("kong-openid-connect group config", () => {
  it("a group written before Konnect (no api field) loads unchanged as the self-hosted Admin API, its token named as before", () => {
    const set = loaded(adminGroup());
    const group = targetGroupsOf(set)[1]!;
    expect(group).toMatchObject({ ...adminGroup(), api: "admin-api", adminTokenHeader: "Kong-Admin-Token", pageSize: 100 });
    expect(gatewayTokenSecretField(group)?.name).toBe("kong-admin-token");
    expect(describeCredentialSets([set])).toContain("kong-openid-connect https://kong-admin.example.com:8444 (admin token in kong-admin-token");
  });

  it("a Konnect group and an Admin API group with workspaces load; the summary names the control plane, the token's secret and the workspaces", () => {
    const konnect = loaded(konnectGroup());
    const group = targetGroupsOf(konnect)[1]!;
    expect(group).toMatchObject(konnectGroup());
    expect(gatewayTokenSecretField(group)?.name).toBe("konnect-token");
    expect(describeCredentialSets([konnect])).toContain(
      `kong-openid-connect Konnect https://eu.api.konghq.com/v2 control plane ${CONTROL_PLANE} (access token in konnect-token`,
    );
    const workspaces = loaded({ ...adminGroup(), workspaces: ["default", "team-sales"] });
    expect(describeCredentialSets([workspaces])).toContain("workspaces default, team-sales");
  });

  it.each([
    ["an unknown api", { ...adminGroup(), api: "cloud" }, `sets[0].groups[1].api: "cloud" is not a Kong API — use "admin-api"`],
    [
      "Konnect without its control plane",
      { ...konnectGroup(), controlPlaneId: undefined },
      "sets[0].groups[1].controlPlaneId: is required — copy it from Konnect",
    ],
    [
      "Konnect without its token",
      { ...konnectGroup(), accessTokenSecretName: undefined },
      "sets[0].groups[1].accessTokenSecretName: is required — give the name of the Key Vault secret",
    ],
    ["a control plane that is not an ID", { ...konnectGroup(), controlPlaneId: "prod-cp" }, "sets[0].groups[1].controlPlaneId: must be a GUID like"],
    [
      "a Konnect URL without /v2",
      { ...konnectGroup(), konnectUrl: "https://eu.api.konghq.com" },
      "sets[0].groups[1].konnectUrl: must be the Konnect API base URL ending in /v2 — e.g. https://eu.api.konghq.com/v2",
    ],
    ["a plain-http Konnect URL", { ...konnectGroup(), konnectUrl: "http://eu.api.konghq.com/v2" }, "sets[0].groups[1].konnectUrl: "],
    [
      "Konnect fields without api konnect",
      { ...adminGroup(), controlPlaneId: CONTROL_PLANE },
      `sets[0].groups[1].controlPlaneId: is a Konnect field — add "api": "konnect" to this group`,
    ],
    [
      "Admin API fields on a Konnect group",
      { ...konnectGroup(), adminUrl: "https://kong-admin.example.com:8444" },
      "sets[0].groups[1].adminUrl: is a field of the self-hosted Kong Admin API — remove it",
    ],
    [
      "workspaces on a Konnect group",
      { ...konnectGroup(), workspaces: ["default"] },
      "sets[0].groups[1].workspaces: is a field of the self-hosted Kong Admin API",
    ],
    ["a workspace with a slash", { ...adminGroup(), workspaces: ["team/sales"] }, "sets[0].groups[1].workspaces[0]: must be a Kong workspace name"],
    [
      "a workspace listed twice",
      { ...adminGroup(), workspaces: ["a", "a"] },
      "sets[0].groups[1].workspaces: names a workspace twice — list each workspace once",
    ],
    ["no workspace", { ...adminGroup(), workspaces: [] }, "sets[0].groups[1].workspaces: must name at least one workspace"],
    ["workspaces as one string", { ...adminGroup(), workspaces: "team-sales" }, "sets[0].groups[1].workspaces: must be a list of workspace names"],
    [
      "the Konnect token stored under the client secret's own name",
      { ...konnectGroup(), accessTokenSecretName: "cequence-sso-client-secret" },
      "sets[0].groups[1].accessTokenSecretName: is the client secret's own Key Vault name",
    ],
  ])("%s is refused, naming the field and the fix", (_name, group, expected) => {
    const found = issues(group);
    expect(
      found.find((i) => i.startsWith(expected)),
      found.join("\n"),
    ).toBeDefined();
    for (const line of found) expect(line).toMatch(/^\S+: .+ — .+/s);
  });
});
