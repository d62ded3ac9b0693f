import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ContainerClient } from "@azure/storage-blob";
import { World, freshContainer, type SeededSet } from "../harness/world.js";
import { BREAK_RECIPES } from "../harness/breakRecipes.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import { silentLogger } from "../../src/logging.js";
import type { Timer } from "@azure/functions";
import functions from "@azure/functions";
import { makeHealthTimerHandler } from "../../src/handlers/health.js";
import { cliLeaks, exportOperatorIdentity, operatorSettings, runInProcess, runProcess, type CliRun } from "./harness.js";

const { InvocationContext } = functions;

/**
 * Issue 25: what on-call is told by `status` agrees with the estate. Each test is named after the
 * defect it pins and drives the real CLI against the emulators; ground truth comes from them.
 */
let world: World;
let container: ContainerClient;
const outputs: CliRun[] = [];
const hosts: BuiltRuntime[] = [];

function envFor(...sets: SeededSet[]): Record<string, string> {
  return operatorSettings(world, container, inject("storageConnectionString"), sets);
}

async function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const r = await runInProcess(args, env);
  outputs.push(r);
  return r;
}

async function timed(args: string[], env: Record<string, string>): Promise<CliRun & { ms: number }> {
  const started = Date.now();
  const r = await cli(args, env);
  return { ...r, ms: Date.now() - started };
}

beforeAll(async () => {
  world = await World.start({ replicationDelayMs: 0 });
  container = await freshContainer(inject("storageConnectionString"));
  const env = envFor(world.seedSet({ name: "truth-init", targets: 0, otherTargets: 0 }));
  exportOperatorIdentity(env);
});

afterAll(async () => {
  world.keyVault.server.faults.clear();
  world.gateway.server.faults.clear();
  await world?.stop();
  expect(cliLeaks(world, outputs)).toEqual([]);
  void hosts;
});

type StatusSet = {
  set: string;
  verdict: string;
  staleTargets: { name: string }[];
  unreadable: { dependency: string; code: string }[];
  unknowns: string[];
  verdictAsOf: { basis: string; ageMs: number | null };
};
const setOf = (r: CliRun): StatusSet => (r.json["sets"] as StatusSet[])[0]!;

describe("issue 25: status tells the truth", () => {
  it("defect 1 — a deleted server stays 'not verified' for ever: a server deleted and recreated under a new ID during a waiting rotation is not reported stale once every live server holds the current secret", async () => {
    const seeded = world.seedSet({ name: "truth-gone", targets: 5, otherTargets: 0 });
    const env = envFor(seeded);
    // Every gateway update answers 503: the forced rotation waits at propagate.
    const fault = world.gateway.server.faults.add({ route: "^PATCH /mcp-servers/[^/]+/authentication$", status: 503 });
    const first = await cli(["rotate", "--set", "truth-gone", "--force", "--json"], env);
    expect((first.json["sets"] as { status: string; step: string }[])[0]).toMatchObject({ status: "waiting", step: "propagate" });
    // Meanwhile server 02 is deleted and recreated under a new ID (same name, same old secret).
    const old = world.gateway.servers().find((s) => s.name === "truth-gone-mcp-02")!;
    world.gateway.deleteServer(old.id);
    const recreated = world.gateway.seedServer({
      name: old.name,
      tokenName: old.tokenName,
      tokenUrl: old.tokenUrl,
      clientId: old.clientId,
      clientSecret: old.clientSecret,
      scopes: old.scopes,
      additionalParameters: old.additionalParameters,
    });
    expect(recreated.id).not.toBe(old.id);
    world.gateway.server.faults.remove(fault);

    // The estate converges in two passes, and a third changes nothing.
    for (let i = 0; i < 3; i++) await cli(["rotate", "--set", "truth-gone", "--json"], env);
    const current = world.keyVault
      .versions(seeded.set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1)!;
    const live = world.gateway.servers().filter((s) => s.clientId === seeded.set.clientId);
    expect(live).toHaveLength(5);
    expect(live.every((s) => s.clientSecret === current.value)).toBe(true);

    const status = await cli(["status", "--set", "truth-gone"], env);
    expect(status.stdout).toMatch(/targets {9}5\/5 verified/);
    expect(status.stdout).not.toMatch(/not verified/);
    const json = await cli(["status", "--set", "truth-gone", "--json"], env);
    expect(setOf(json).staleTargets).toEqual([]);
    expect(json.json).toMatchObject({ sets: [{ targetsFromRun: { verified: 5, total: 5 } }] });
  });

  it("defect 2 — status exits 0 while Key Vault is down: 503, refused connections and a hang each make status exit 1 naming Key Vault within the 5 s per-dependency deadline, as plan exits 1", async () => {
    const seeded = world.seedSet({ name: "truth-kv", targets: 3, otherTargets: 0 });
    const env = envFor(seeded);
    // A forced rotation waiting out its grace period: the verdict Storage alone gives is ROTATING.
    const rotate = await cli(["rotate", "--set", "truth-kv", "--force", "--json"], env);
    expect(rotate.code, rotate.stderr).toBe(0);
    const before = await cli(["status", "--set", "truth-kv", "--json"], env);
    expect(before.code, before.stdout).toBe(0);
    expect(setOf(before).verdict).toBe("rotating");

    const cases: { name: string; env: Record<string, string>; fault?: Parameters<typeof world.keyVault.server.faults.add>[0] }[] = [
      { name: "503", env, fault: { route: "^[A-Z]+ /secrets", status: 503, body: { error: { code: "ServiceUnavailable", message: "down" } } } },
      { name: "hang", env, fault: { route: "^[A-Z]+ /secrets", hang: true } },
      // Nothing listens on the vault's address: every connection is refused.
      { name: "refused", env: envFor({ ...seeded, set: { ...seeded.set, keyVault: { ...seeded.set.keyVault, url: "https://127.0.0.1:9" } } }) },
    ];
    for (const c of cases) {
      const id = c.fault ? world.keyVault.server.faults.add(c.fault) : undefined;
      try {
        const status = await timed(["status", "--set", "truth-kv", "--json"], c.env);
        expect(status.code, `${c.name}: ${status.stderr}`).toBe(1);
        expect(status.json, c.name).toMatchObject({ ok: false, exitCode: 1 });
        expect(setOf(status).verdict, c.name).toBe("unknown");
        expect(
          setOf(status).unreadable.map((u) => u.dependency),
          c.name,
        ).toContain("Key Vault");
        // The deadline is 5 s; Storage reads and the in-process start take the rest.
        expect(status.ms, c.name).toBeLessThan(9_000);
        const human = await cli(["status", "--set", "truth-kv"], c.env);
        expect(human.code, c.name).toBe(1);
        expect(human.stdout, c.name).toMatch(/^truth-kv {2}UNKNOWN/m);
        expect(human.stdout, c.name).toMatch(/UNREADABLE {6}Key Vault: \S+/);
        if (c.name === "hang") {
          // The real process too: it answers and exits, instead of waiting for the abandoned read.
          const started = Date.now();
          const proc = await runProcess(["status", "--set", "truth-kv", "--json"], c.env);
          outputs.push(proc);
          expect(proc.code, proc.stderr).toBe(1);
          // tsx compiles at start (several seconds, issue 25's CLI start-time item), then the 5 s deadline and 1 s linger.
          if (process.env["SHOW_TIMINGS"]) console.info(`hang: real process ${Date.now() - started} ms`);
          expect(Date.now() - started).toBeLessThan(20_000);
        }
        const plan = await timed(["plan", "--set", "truth-kv", "--json"], c.env);
        expect(plan.code, c.name).toBe(1);
        expect(plan.ms, c.name).toBeLessThan(9_000);
        if (process.env["SHOW_TIMINGS"]) console.info(`${c.name}: status ${status.ms} ms, plan ${plan.ms} ms`);
      } finally {
        if (id !== undefined) world.keyVault.server.faults.remove(id);
      }
    }
  }, 180_000);

  it("defect 5 — stale verdicts: the verdict shows its age, and status --probe probes afresh so a fixed problem no longer shows FAILING", async () => {
    const seeded = world.seedSet({ name: "truth-stale", targets: 2, otherTargets: 0 });
    const env = envFor(seeded);
    expect((await cli(["rotate", "--set", "truth-stale", "--json"], env)).code).toBe(0);
    const servers = world.gateway.servers().filter((s) => s.clientId === seeded.set.clientId);
    const params = new Map(servers.map((s) => [s.id, s.additionalParameters]));
    const host = world.runtime([seeded.set], container);
    hosts.push(host);
    await BREAK_RECIPES["50011"]!.apply({ world, set: seeded.set, appObjectId: seeded.appObjectId, clients: await host.clientsFor(seeded.set) });
    expect((await cli(["probe", "--set", "truth-stale"], env)).code).toBe(1);
    // Fixed by hand; the stored probe still says otherwise.
    for (const s of servers) world.gateway.editServer(s.id, { additionalParameters: params.get(s.id)! });

    const old = await cli(["status", "--set", "truth-stale", "--json"], env);
    expect(setOf(old).verdict).toBe("failing");
    expect(setOf(old).verdictAsOf).toMatchObject({ basis: "probe", ageMs: expect.any(Number) });
    const oldHuman = await cli(["status", "--set", "truth-stale"], env);
    expect(oldHuman.stdout).toMatch(/^truth-stale {2}FAILING {2}\(as of the probe at .+, .+ ago; `status --probe` checks afresh\)/m);

    const fresh = await cli(["status", "--set", "truth-stale", "--probe", "--json"], env);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(setOf(fresh).verdict).not.toBe("failing");
    expect(setOf(fresh).verdictAsOf.ageMs).toBeLessThan(60_000);
  });

  it("defect 6 — healthy with nothing known: before any run or probe the verdict is UNKNOWN, says what is not known and which secret (the unmanaged one the gateway uses) ends when", async () => {
    const seeded = world.seedSet({ name: "truth-new", targets: 2, otherTargets: 0, secretExpiresInDays: 10 });
    const env = envFor(seeded);
    const r = await cli(["status", "--set", "truth-new"], env);
    expect(r.stdout).not.toMatch(/HEALTHY/);
    expect(r.stdout).toMatch(/^truth-new {2}UNKNOWN/m);
    expect(r.stdout).toMatch(/not known yet {3}the current secret \(no run has finished yet\); the health checks \(no probe yet\)/);
    expect(r.stdout).toMatch(
      new RegExp(`expires soon {4}unmanaged ${seeded.handMade.keyId} "MCP Server Secret" ends \\d{4}-\\d\\d-\\d\\d \\((9\\.9|10) d left\\)`),
    );
    expect(r.code).toBe(1);
    const json = await cli(["status", "--set", "truth-new", "--json"], env);
    expect(setOf(json)).toMatchObject({ verdict: "unknown", unknowns: [expect.stringMatching(/current secret/), expect.stringMatching(/no probe yet/)] });
  });

  // Last: it moves the emulators' clock 9.5 days ahead of the CLI's.
  it("defect 3 — a pass that updated nothing reports success: every gateway update answering 503 makes rotate exit 1 naming the gateway, status exit 1, and a run without progress past the set's budget opens an incident — warning, then critical once the old secret ends within the grace period", async () => {
    const seeded = world.seedSet({ name: "truth-stall", targets: 3, otherTargets: 0, secretExpiresInDays: 10 });
    const env = envFor(seeded);
    const host = world.runtime([seeded.set], container);
    hosts.push(host);
    const stalledIncident = async () => (await host.alerting.manager.listOpen("truth-stall")).find((i) => i.check === "run-stalled");
    const fault = world.gateway.server.faults.add({ route: "^PATCH /mcp-servers/[^/]+/authentication$", status: 503 });
    try {
      const r = await cli(["rotate", "--set", "truth-stall", "--force", "--json"], env);
      expect(r.code, r.stderr).toBe(1);
      const [outcome] = r.json["sets"] as { status: string; step: string; code: number; error?: { code: string; message: string } }[];
      expect(outcome).toMatchObject({ status: "waiting", step: "propagate", code: 1, error: { code: "PROPAGATE_NO_PROGRESS" } });
      expect(outcome!.error!.message).toContain(world.gateway.url);
      expect(outcome!.error!.message).toMatch(/HTTP 503/);
      // Ground truth: nothing was updated.
      expect(
        world.gateway
          .servers()
          .filter((s) => s.clientId === seeded.set.clientId)
          .every((s) => s.clientSecret === seeded.handMade.secretText),
      ).toBe(true);
      // Within the set's budget (verification.budgetSeconds = 20 s here) there is no incident yet.
      expect(await stalledIncident()).toBeUndefined();
      const status = await cli(["status", "--set", "truth-stall", "--json"], env);
      expect(status.code).toBe(1);
      expect(setOf(status).verdict).toBe("failing");

      // Past the budget, the Function App's health timer (every 15 min, whatever the rotation schedule) opens a warning.
      world.clock.advance(seeded.set.verification.budgetSeconds * 1000 + 5_000);
      await makeHealthTimerHandler(() => Promise.resolve(host))(
        { isPastDue: false } as unknown as Timer,
        new InvocationContext({ functionName: "healthTimer", logHandler: () => undefined }),
      );
      expect(await stalledIncident()).toMatchObject({
        severity: "warning",
        title: expect.stringMatching(/has made no progress for \d+ min .*at step propagate: PROPAGATE_NO_PROGRESS/),
      });
      // A rotation pass that still cannot update anything keeps it open.
      await (await host.createRunner(seeded.set, silentLogger)).runPass({ mode: "scheduled", trigger: "timer" });
      expect(await stalledIncident()).toMatchObject({ severity: "warning" });

      // Still stuck once the old secret ends within the 24 h grace period: critical.
      world.clock.advance(9.5 * 86_400_000);
      await (await host.createRunner(seeded.set, silentLogger)).runPass({ mode: "scheduled", trigger: "timer" });
      expect(await stalledIncident()).toMatchObject({ severity: "critical" });
    } finally {
      world.gateway.server.faults.remove(fault);
    }
    // The gateway recovers: the next pass makes progress and the incident resolves.
    const recovered = await (await host.createRunner(seeded.set, silentLogger)).runPass({ mode: "scheduled", trigger: "timer" });
    expect(recovered.journal.steps.find((s) => s.name === "propagate" && s.status === "done")).toBeDefined();
    expect(await stalledIncident()).toBeUndefined();
  });
});
