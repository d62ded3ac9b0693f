import { describe, expect, it } from "vitest";
import { ProcessCrash } from "../harness/processCrash.js";
import { FINISHED } from "../../src/rotation/model.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * Found by `npm run chaos` (issue 10, seed 125 of the first campaign, shrunk to 7 events): a pass
 * whose lease was broken kept writing. Another pass took the lease over and finished the run; the
 * first pass's next journal write hit the ETag conflict, "merged" and wrote its stale `running`
 * view over the finished run, then died. No state pointed at that run any more, so it stayed
 * `running` for ever (I8) beside the next runs (I5). Judged from the raw journals in Storage.
 */
const world = useWorld();

describe("defect: a pass that lost its lease overwrites the journal of the pass that took over", () => {
  it("lease takeover leaves a zombie run: the pass that lost the lease stops instead of overwriting, and no run is left active", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 60, targets: 3, otherTargets: 0 });
    let tookOver = false;
    let inSecond = false;
    let crashedFirst = false;
    s.hooks.afterStep = async (step) => {
      if (step === "plan" && !tookOver) {
        // Another instance breaks the lease and runs a whole pass while this one still works.
        tookOver = true;
        await s.expireLease();
        inSecond = true;
        // Another instance: its own runner (the scenario's runner would share this pass's ETags).
        const other = await s.runtime.createRunner(s.set, s.logger);
        const second = await other.runPass({ mode: "scheduled", trigger: "queue" });
        inSecond = false;
        expect(FINISHED.has(second.status)).toBe(true);
        return;
      }
      if (step === "reconcile" && tookOver && !inSecond && !crashedFirst) {
        crashedFirst = true;
        throw new ProcessCrash("after reconcile, in the pass that lost its lease");
      }
    };
    await s.pass().catch((e: unknown) => {
      // The first pass either stops on its own (lease lost) or dies at the crash seam.
      expect(e).toBeInstanceOf(Error);
    });
    s.hooks.afterStep = undefined;
    await s.expireLease();

    const runs = await Promise.all((await s.runtime.journals.listRuns(s.set.name)).map((id) => s.runtime.journals.readRun(s.set.name, id)));
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.filter((r) => r && !FINISHED.has(r.status)).map((r) => `${r!.runId} ${r!.status}`)).toEqual([]);
    // And the next pass works normally.
    const next = await s.pass();
    expect(FINISHED.has(next.status)).toBe(true);
    (await s.scanJournals(s.scanner())).assertClean();
  });
});
