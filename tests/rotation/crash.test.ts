import { describe, expect, it } from "vitest";
import { ProcessCrash } from "../harness/processCrash.js";
import type { StepName } from "../../src/rotation/model.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * A worker can die anywhere. For every point between two steps, between a side effect and its
 * journal entry, and inside propagation, a crash there followed by new passes must finish the
 * rotation with exactly one new credential, no outage at any moment, and nothing left behind.
 */
const world = useWorld();

type CrashPoint = { label: string; arm: (s: Scenario, crash: () => never) => void };

const STEP_POINTS: StepName[] = ["plan", "create", "stash", "verify-entra", "promote", "propagate", "verify-targets", "retire"];
const points: CrashPoint[] = [
  ...STEP_POINTS.map((step) => ({
    label: `after step ${step} is journaled`,
    arm: (s: Scenario, crash: () => never) => {
      s.hooks.afterStep = (st) => {
        if (st === step) crash();
      };
    },
  })),
  ...(
    [
      ["create", "addPassword"],
      ["stash", "setSecret"],
      ["promote", "setSecret"],
      ["retire", "removePassword"],
    ] as const
  ).map(([step, effect]) => ({
    label: `after ${step}'s ${effect} succeeded but before the journal recorded it`,
    arm: (s: Scenario, crash: () => never) => {
      s.hooks.afterEffect = (st, ef) => {
        if (st === step && ef === effect) crash();
      };
    },
  })),
  ...[1, 3].map((n) => ({
    label: `inside propagation after ${n} target(s) were updated`,
    arm: (s: Scenario, crash: () => never) => {
      let updated = 0;
      s.hooks.afterTargetUpdated = () => {
        if (++updated === n) crash();
      };
    },
  })),
];

describe("crash recovery", () => {
  it.each(points.map((p) => [p.label, p] as const))("a crash %s is finished by the next pass with exactly one new credential", async (_label, point) => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 5, otherTargets: 1 });
    let crashes = 0;
    const crash = (): never => {
      if (crashes++ === 0) throw new ProcessCrash(point.label);
      return undefined as never;
    };
    point.arm(s, crash);
    const chain = s.hooks.afterStep;
    s.hooks.afterStep = async (step) => {
      s.assertNoOutage(`after ${step}`);
      await chain?.(step);
    };

    let last;
    for (let pass = 0; pass < 8; pass++) {
      try {
        last = await s.pass();
      } catch (e) {
        expect(e).toBeInstanceOf(ProcessCrash);
        s.assertNoOutage(`right after the crash ${point.label}`);
        await s.expireLease();
        continue;
      }
      if (["succeeded", "failed", "needs_attention"].includes(last.status)) break;
      if (last.journal.steps.at(-1)?.name === "retire") world.clock.advance(25 * 3_600_000);
    }
    expect(crashes).toBeGreaterThanOrEqual(1);
    expect(last?.status).toBe("succeeded");
    // Exactly one credential created by the rotator survives, and it is the only one left.
    expect(s.createdCredentials()).toHaveLength(1);
    expect(s.credentials()).toHaveLength(1);
    const current = s.vaultCurrent()!;
    expect(current.tags["keyId"]).toBe(s.createdCredentials()[0]!.keyId);
    expect(s.targets().every((t) => t.clientSecret === current.value)).toBe(true);
    s.assertNoOutage("at the end");
    s.assertSettled("at the end");
    // A further pass has nothing to do and creates nothing (I6).
    expect((await s.pass()).status).toBe("noop");
    expect(s.createdCredentials()).toHaveLength(1);
    (await s.scanJournals(s.scanner())).assertClean();
  });
});
