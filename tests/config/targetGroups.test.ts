import { describe, expect, it } from "vitest";
import { collectCredentialSets } from "../../src/config/load.js";
import { targetGroupsOf } from "../../src/config/groups.js";
import { checkConfigCommand } from "../../src/cli/commands/checkConfig.js";
import { Output } from "../../src/cli/output.js";
import { validCequenceSet, validManualSet } from "./fixtures.js";

/** Issue 24 item 1: a credential set lists target groups; the old single `gateway` form keeps working. */
function load(sets: unknown[]) {
  const outcome = collectCredentialSets({ json: JSON.stringify({ sets }) });
  if (!outcome.ok) throw new Error(outcome.issues.join("\n"));
  return outcome.value;
}

function checkConfig(sets: unknown[]): { lines: string; body: Record<string, unknown>; code: number } {
  let lines = "";
  const stream = { write: (t: string) => (lines += t) };
  const out = new Output({ stdout: stream, stderr: stream, env: {}, cwd: process.cwd() }, false);
  const { code, body } = checkConfigCommand(out, { env: {}, cwd: process.cwd(), emulatorSets: load(sets) });
  return { lines, body, code };
}

describe("target groups in the credential-set file", () => {
  it("an old-form file (one gateway) loads as one group, and check-config says how to write the new form", () => {
    const [set] = load([validCequenceSet()]);
    expect(set!.groups).toBeUndefined();
    expect(targetGroupsOf(set!)).toEqual([set!.gateway]);
    expect(targetGroupsOf(set!)[0]!.kind).toBe("cequence");

    const run = checkConfig([validCequenceSet()]);
    expect(run.code).toBe(0);
    expect(run.lines).toContain(`set cequence-sso uses the older single "gateway"`);
    expect(run.lines).toContain(`write "groups": [ { "kind": "cequence", … } ]`);
    expect(run.body["advice"]).toHaveLength(1);
  });

  it("a new-form file lists every group in order, its first group is the set's gateway, and check-config gives no advice", () => {
    const raw = validCequenceSet();
    const manual = validManualSet().gateway;
    raw.groups = [raw.gateway, manual];
    delete raw.gateway;
    const [set] = load([raw]);
    expect(targetGroupsOf(set!).map((g) => g.kind)).toEqual(["cequence", "manual"]);
    expect(set!.gateway.kind).toBe("cequence");
    // A parsed set re-parses (the emulator sets go through a JSON round-trip): gateway equals the first group.
    const run = checkConfig([raw]);
    expect(run.code).toBe(0);
    expect(run.lines).not.toContain("older single");
    expect(run.body["advice"]).toBeUndefined();
  });

  it("refuses a set that gives both forms with different gateways, and one with an empty group list, each with its fix", () => {
    const both = validCequenceSet();
    both.groups = [validManualSet().gateway];
    const a = collectCredentialSets({ json: JSON.stringify({ sets: [both] }) });
    expect(a.ok).toBe(false);
    if (!a.ok) expect(a.issues.join("\n")).toContain(`move this gateway into "groups" as its first entry`);

    const empty = validCequenceSet();
    empty.groups = [];
    delete empty.gateway;
    const b = collectCredentialSets({ json: JSON.stringify({ sets: [empty] }) });
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.issues.join("\n")).toContain("must list at least one target group");
  });

  it("checks every group's API token name against the client secret's Key Vault name", () => {
    const raw = validCequenceSet();
    raw.groups = [validManualSet().gateway, { ...raw.gateway, apiTokenSecretName: raw.keyVault.secretName }];
    delete raw.gateway;
    const outcome = collectCredentialSets({ json: JSON.stringify({ sets: [raw] }) });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.issues.join("\n")).toMatch(/groups\[1\]\.apiTokenSecretName.*client secret's own Key Vault name/);
  });
});
