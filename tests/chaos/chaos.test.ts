import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { World } from "../harness/world.js";
import { runCampaign, shrinkViolation } from "../harness/chaos/campaign.js";
import { CONSUMER_KINDS, generateSchedule, type ChaosEvent, type ConsumerKind, type GeneratedSchedule } from "../harness/chaos/events.js";
import { runSchedule, startStorageProxy, stopChaosEnv, type ChaosEnv } from "../harness/chaos/simulator.js";

/**
 * Issue 10: the seeded lifecycle simulator at a small size (the campaign is `npm run chaos --
 * --schedules 500`), and proof that its oracle can fail.
 */
let world: World;
let env: ChaosEnv;
beforeAll(async () => {
  world = await World.start({ receivers: true });
  const storageConnectionString = inject("storageConnectionString");
  env = { world, storageConnectionString, storageProxy: await startStorageProxy(storageConnectionString) };
});
afterAll(async () => {
  if (env) await stopChaosEnv(env);
  await world?.stop();
});

describe("the invariant oracle is independent of the code under test", () => {
  it("imports nothing from src/ (least of all src/rotation) and no emulator module", () => {
    const source = readFileSync(new URL("../harness/chaos/oracle.ts", import.meta.url), "utf8");
    const imports = [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gm), ...source.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map(
      (m) => m[1]!,
    );
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((p) => p.includes("src/") || p.includes("emulators/"))).toEqual([]);
    expect(imports).toEqual(["@azure/storage-blob"]);
    const alertSource = readFileSync(new URL("../harness/chaos/alertOracle.ts", import.meta.url), "utf8");
    expect([...alertSource.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gm)].map((m) => m[1])).toEqual([]);
  });
});

describe("seeded schedules", () => {
  it("the same seed always draws the same schedule, and different seeds differ", () => {
    expect(generateSchedule(42)).toEqual(generateSchedule(42));
    expect(JSON.stringify(generateSchedule(42).events)).not.toEqual(JSON.stringify(generateSchedule(43).events));
  });

  it("estates draw every target-group kind, and faults on the Kong and Resource Manager emulators only where the estate has such a consumer", () => {
    const schedules = Array.from({ length: 60 }, (_, i) => generateSchedule(500 + i));
    const drawn = new Set(schedules.flatMap((s) => s.estate.kinds ?? []));
    expect([...drawn].sort()).toEqual([...CONSUMER_KINDS].sort());
    expect(schedules.some((s) => (s.estate.kinds ?? []).length === 0)).toBe(true);
    const faultsOn = (s: GeneratedSchedule): string[] => s.events.flatMap((e) => (e.t === "fault" ? [e.dep] : []));
    const served = (s: GeneratedSchedule): Set<string> => new Set((s.estate.kinds ?? []).map((k) => (k === "kong-openid-connect" ? "kong" : "arm")));
    expect(schedules.flatMap(faultsOn)).toEqual(expect.arrayContaining(["arm", "kong"]));
    for (const s of schedules) for (const dep of faultsOn(s).filter((d) => d === "arm" || d === "kong")) expect(served(s).has(dep)).toBe(true);
  });
});

describe("a small campaign inside npm test", () => {
  it("ten short schedules of faults, crashes, lease loss, requests and an administrator, over estates of every kind, end with zero violations of I1–I8", async () => {
    // Seeds 7060–7069 draw every kind and faults on the Kong and Resource Manager emulators too.
    const summary = await runCampaign(env, { schedules: 10, seed: 7060, generate: { days: [2, 3], perDay: [1, 3] }, shrink: false });
    expect(summary.schedules).toBe(10);
    expect(summary.events).toBeGreaterThan(30);
    expect(summary.faults).toBeGreaterThan(0);
    expect(Object.keys(summary.kinds).sort()).toEqual([...CONSUMER_KINDS].sort());
    expect(summary.faultsOn.arm).toBeGreaterThan(0);
    expect(summary.faultsOn.kong).toBeGreaterThan(0);
    const found = summary.violations.map((v) => `${v.invariant} (seed ${v.seed}, event ${v.afterEvent}): ${v.detail}`);
    expect(found, found.join("\n")).toEqual([]);
  }, 420_000);
});

describe("the oracle can fail", () => {
  /** A rotation that completes (the old secret retired after the grace period), then the sabotage as event 5. */
  const rotateThenSabotage = (sabotage: ChaosEvent & { t: "sabotage" }, kinds?: ConsumerKind[]): GeneratedSchedule => ({
    seed: 9_000_001,
    estate: { secretExpiresInDays: 10, targets: 3, otherTargets: 1, ...(kinds ? { kinds } : {}) },
    events: [
      { t: "tick" },
      { t: "health" },
      { t: "advance", hours: 30 },
      { t: "tick" },
      { t: "request", mode: "scheduled", dryRun: true },
      sabotage,
      { t: "advance", hours: 1 },
      { t: "addServer", copy: "current" },
    ],
  });

  it("a Key Vault version holding a live credential disabled behind the product's back is an I2 violation, shrunk to a list that replays it", async () => {
    const schedule = rotateThenSabotage({ t: "sabotage", what: "disableCurrentVersion" });
    const out = await runSchedule(env, schedule, { stopAtFirst: true });
    const i2 = out.violations.find((v) => v.invariant === "I2");
    expect(i2, JSON.stringify(out.violations)).toBeDefined();
    expect(i2!.afterEvent).toBe(5);

    const shrunk = await shrinkViolation(env, schedule, i2!, { tries: 8 });
    expect(shrunk.replay.events.length).toBeLessThan(schedule.events.length);
    expect(shrunk.replay.events).toContainEqual({ t: "sabotage", what: "disableCurrentVersion" });
    // The replay has to reproduce the violation, not converge afterwards: it stops at the first one.
    const replayed = await runSchedule(env, JSON.parse(JSON.stringify(shrunk.replay)) as GeneratedSchedule, { stopAtFirst: true });
    expect(replayed.violations.map((v) => v.invariant)).toContain("I2");
  }, 300_000);

  it("a target's secret overwritten behind the product's back (not by the administrator it tracks) is an I1 violation", async () => {
    const out = await runSchedule(env, rotateThenSabotage({ t: "sabotage", what: "deleteTargetSecret" }), { stopAtFirst: true });
    expect(out.violations[0]).toMatchObject({ invariant: "I1", afterEvent: 5 });
  }, 120_000);

  /** A consumer of a new kind edited behind the product's back, and the start of the I1 detail that must name it. */
  const consumerSabotages: readonly { case: string; kinds: ConsumerKind[]; sabotage: ChaosEvent & { t: "sabotage" }; detail: string }[] = [
    {
      case: "a Kong plugin put back on the retired hand-made secret (a retired credential still used by a consumer)",
      kinds: ["kong-openid-connect", "apim-named-value"],
      sabotage: { t: "sabotage", what: "overwriteConsumerSecret", kind: "kong-openid-connect", value: "old" },
      detail: "kong-openid-connect consumer oidc-orders uses a secret Entra refuses (a value no credential of the app has",
    },
    {
      case: "an API Management provider's stored secret overwritten",
      kinds: ["apim-credential-manager", "appservice-keyvault-reference"],
      sabotage: { t: "sabotage", what: "overwriteConsumerSecret", kind: "apim-credential-manager", value: "garbage" },
      detail: "apim-credential-manager consumer apim-chaos/aad-authcode uses a secret Entra refuses",
    },
  ];
  for (const c of consumerSabotages) {
    it(`${c.case} behind the product's back is an I1 violation naming the consumer`, async () => {
      const out = await runSchedule(env, rotateThenSabotage(c.sabotage, c.kinds), { stopAtFirst: true });
      expect(out.violations).toHaveLength(1);
      expect(out.violations[0]).toMatchObject({ invariant: "I1", afterEvent: 5 });
      expect(out.violations[0]!.detail.startsWith(c.detail), out.violations[0]!.detail).toBe(true);
    }, 120_000);
  }

  it("the same rotation without the sabotage: every consumer of every kind ends on the current secret, and the oracle finds nothing", async () => {
    const schedule = rotateThenSabotage({ t: "sabotage", what: "deleteTargetSecret" }, [...CONSUMER_KINDS]);
    const out = await runSchedule(env, { ...schedule, events: schedule.events.filter((e) => e.t !== "sabotage") });
    expect(out.kinds).toEqual([...CONSUMER_KINDS]);
    expect(out.rotationsCompleted).toBeGreaterThan(0);
    expect(out.violations).toEqual([]);
  }, 120_000);
});

/** The rotation timer's daily pass, then the rest of the day. */
const DAILY_PASS: readonly ChaosEvent[] = [{ t: "tick" }, { t: "advance", hours: 24 }];
/** Graph answers 503 for longer than a pass retries. */
const GRAPH_OUTAGE: ChaosEvent = { t: "fault", dep: "graph", kind: "status", status: 503, times: 12 };

/** Each defect the simulator found, by its shrunk schedule (named after the defect): it replays with no violation now. */
const FOUND: readonly { defect: string; schedule: GeneratedSchedule }[] = [
  {
    defect: "seed 2000: on a manual gateway a run-failure incident never resolved (its reconcile is skipped, so no pass counted as a recovery)",
    schedule: {
      seed: 2000,
      estate: { secretExpiresInDays: 60, targets: 4, otherTargets: 1, manual: true },
      events: [{ t: "fault", dep: "graph", kind: "drop", times: 8 }, { t: "tick" }],
    },
  },
  {
    // Shrunk from seed 423 of the campaign: Key Vault answers 404 for a moment, then the set rotates.
    defect: "seed 423: a Key Vault 404 at plan time made the pass rotate as if the vault were empty, and the credential it replaced was never retired (I6)",
    schedule: {
      seed: 423,
      estate: { secretExpiresInDays: 58, targets: 6, otherTargets: 0 },
      events: [
        { t: "tick" },
        { t: "fault", dep: "keyvault", kind: "status", status: 404, times: 4 },
        { t: "tick" },
        { t: "crash", seam: "afterStep", skip: 3 },
      ],
    },
  },
  {
    // Graph answers 503 through two daily passes: the first fails, the second waits; then it recovers.
    defect: "run-failure incident stays open: a failed pass, then a pass that only waited, then clean passes never resolved it (paged for months)",
    schedule: {
      seed: 1,
      estate: { secretExpiresInDays: 50, targets: 3, otherTargets: 0 },
      events: [...DAILY_PASS, GRAPH_OUTAGE, ...DAILY_PASS, GRAPH_OUTAGE, { t: "tick" }],
    },
  },
  {
    // Shrunk from seed 35: a lease loss mid-pass (another instance takes the run over), then passes.
    defect: "seed 35: a pass that lost its lease removed the credential the takeover pass had stashed and propagated (I1)",
    schedule: {
      seed: 35,
      estate: { secretExpiresInDays: 12, targets: 6, otherTargets: 2 },
      events: [{ t: "leaseLoss" }, { t: "redeliver", pick: 745 }, { t: "health" }, { t: "tick" }],
    },
  },
  {
    // The administrator's paste is judged by ground truth (the value belongs to no live credential),
    // not by the token endpoint's answer at that instant. The flap stays in the list.
    defect:
      "seed 90065: the oracle blamed the product (I1) for a server an administrator added with the retired secret while a replication flap still accepted it",
    schedule: {
      seed: 90065,
      estate: { secretExpiresInDays: 14, targets: 3, otherTargets: 0 },
      events: [
        ...DAILY_PASS,
        { t: "health" },
        { t: "replicationFlap", flapMs: 900, periodMs: 300, lagMs: 2000, seed: 639333 },
        { t: "tick" },
        { t: "addServer", copy: "old" },
        { t: "advance", hours: 24 },
      ],
    },
  },
  {
    // Campaign seed 46: a Kong outage held retirement until the hand-made secret had a day left, an
    // administrator added a server with a copy of it, and it expired before the next daily pass.
    // Here the grace period holds it: the clock jumps past its expiry before any pass runs.
    defect:
      "seed 46: the oracle blamed the product (I1) for a server an administrator added with a copy of a live secret that expired before any pass could replace it",
    schedule: {
      seed: 46,
      estate: { secretExpiresInDays: 3, targets: 3, otherTargets: 0 },
      events: [{ t: "tick" }, { t: "addServer", copy: "old" }, { t: "clockJump", days: 4 }],
    },
  },
];

describe("defects the simulator found", () => {
  for (const { defect, schedule } of FOUND) {
    it(
      defect,
      async () => {
        const out = await runSchedule(env, schedule);
        expect(out.violations).toEqual([]);
      },
      120_000,
    );
  }
});
