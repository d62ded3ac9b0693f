import { describe, expect, it } from "vitest";
import { statusCommand } from "../../src/cli/commands/status.js";
import { Output } from "../../src/cli/output.js";
import { PassProgress } from "../../src/cli/progress.js";
import { renderDashboard } from "../../src/dashboard/render.js";
import { gatherStatus } from "../../src/dashboard/statusData.js";
import { memoryLogger } from "../../src/logging.js";
import { Scenario, useWorld } from "../rotation/harness.js";
import { ESTATE_SITE, useEveryKindEstate } from "../rotation/everyKind.js";

/**
 * Issue 24 item 8: `status` (its lines and its JSON) and the status page list a set's targets by
 * kind with how each group proved pickup, from the run journal: "kind: N targets, M proven (proof)".
 * The estate is a consumer of every kind on the emulators; a Function app that never fetches again
 * keeps its group unproven.
 */
const world = useWorld();
const estate = useEveryKindEstate(world);

describe("status lists targets by kind with their proof", () => {
  it("per group one line 'kind: N targets, M proven (proof)' in status, its JSON and the page; an unproven group shows 0 proven", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, otherTargets: 0, overrides: estate.overrides() });
    estate.seed(s);
    estate.arm.appService.freeze(ESTATE_SITE); // acknowledges the refresh, keeps the old version
    const pass = await s.pass();
    expect(pass.status).toBe("failed");

    const lines = [
      // Groups run at once, each read back as soon as its own writes finish: the stuck App Service
      // group does not keep the gateway's servers from being proven in the same pass.
      "cequence: 2 targets, 2 proven (fingerprint)",
      "kong-openid-connect: 1 target, 1 proven (fingerprint)",
      "apim-named-value: 1 target, 1 proven (status)",
      "apim-named-value: 1 target, 1 proven (fingerprint)",
      "apim-credential-manager: 1 target, 1 proven (status)",
      "appservice-keyvault-reference: 1 target, 0 proven (none yet)",
    ];
    const snapshot = await gatherStatus(s.runtime, { sets: [s.set.name] });
    expect(snapshot.sets[0]!.targets.kinds?.map((k) => [k.group, k.kind, k.targets, k.proven, k.proof])).toEqual([
      [0, "cequence", 2, 2, "fingerprint"],
      [1, "kong-openid-connect", 1, 1, "fingerprint"],
      [2, "apim-named-value", 1, 1, "status"],
      [3, "apim-named-value", 1, 1, "fingerprint"],
      [4, "apim-credential-manager", 1, 1, "status"],
      [5, "appservice-keyvault-reference", 1, 0, "none yet"],
    ]);

    const html = renderDashboard(snapshot);
    for (const l of lines) expect(html).toContain(`>${l}</li>`);
    expect(html).toContain('<li class="bad">appservice-keyvault-reference: 1 target, 0 proven (none yet)</li>');

    const stdout: string[] = [];
    const stderr: string[] = [];
    const out = new Output({ stdout: { write: (t: string) => stdout.push(t) }, stderr: { write: (t: string) => stderr.push(t) }, env: {}, cwd: "." }, true);
    const { body } = await statusCommand({
      runtime: s.runtime,
      out,
      progress: new PassProgress(out, false),
      sets: [s.set],
      loggerFor: () => memoryLogger().logger,
    });
    const set = (body["sets"] as { targetsByKind: { kind: string; line: string }[] }[])[0]!;
    expect(set.targetsByKind.map((k) => k.line)).toEqual(lines);
    const text = stderr.join("");
    for (const l of lines) expect(text).toContain(`    ${l}\n`);

    // Once the app fetches again, the next pass proves it by the version it reports.
    estate.arm.appService.freeze(ESTATE_SITE, false);
    expect((await s.runToEnd()).status).toBe("succeeded");
    const after = await gatherStatus(s.runtime, { sets: [s.set.name], recentRuns: 3 });
    expect(after.sets[0]!.targets.kinds?.at(-1)).toMatchObject({ kind: "appservice-keyvault-reference", targets: 1, proven: 1, proof: "version" });

    const scan = await s.scanJournals(s.scanner().addSecrets([...estate.arm.issuedSecrets(), ...estate.kong.issuedSecrets()]));
    scan.collect("page", html).collect("status JSON", body).collectAll("status lines", [text]);
    scan.assertClean();
  });
});
