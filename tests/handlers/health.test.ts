import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { HttpRequest, InvocationContext, output } from "@azure/functions";
import { World, freshContainer } from "../harness/world.js";
import type { EmulatorServer } from "../../emulators/common/server.js";
import { BREAK_RECIPES } from "../harness/breakRecipes.js";
import { makeHealthHandler, makeHealthTimerHandler, makeStatusHandler } from "../../src/handlers/health.js";
import { makeRotationTimerHandler } from "../../src/handlers/rotationWorker.js";
import type { RuntimeOptions } from "../../src/runtime/createRuntime.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { startHeartbeatMonitor } from "../helpers/heartbeat.js";

let world: World;
let heartbeat: EmulatorServer;
beforeAll(async () => {
  world = await World.start({ receivers: true });
  heartbeat = await startHeartbeatMonitor();
});
afterAll(async () => {
  await world?.stop();
  await heartbeat?.close();
});

const queue = output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" });
const lines: string[] = [];
const ctx = (name: string) => new InvocationContext({ functionName: name, invocationId: name, logHandler: (l, ...a) => lines.push(`${l} ${a.join(" ")}`) });
const get = (path: string) => new HttpRequest({ method: "GET", url: `http://localhost${path}` });

async function setup(name: string, extra: Partial<RuntimeOptions> = {}, secretExpiresInDays = 60) {
  const seeded = world.seedSet({ name, secretExpiresInDays, targets: 3, otherTargets: 0, alerts: { webhook: "info", pagerduty: "critical" } });
  const container = await freshContainer(inject("storageConnectionString"));
  const runtime = world.runtime([seeded.set], container, { alerting: { resolveAfterHealthy: 2, repeatIntervalMs: 3_600_000 }, ...extra });
  const provider = () => Promise.resolve(runtime);
  return {
    seeded,
    runtime,
    timer: () => makeHealthTimerHandler(provider)({} as never, ctx("healthTimer")),
    rotationTimer: () => makeRotationTimerHandler(provider, queue)({} as never, ctx("rotationTimer")),
    health: () => makeHealthHandler(provider)(get("/api/health"), ctx("health")),
    status: () => makeStatusHandler(provider)(get("/api/status"), ctx("status")),
  };
}

describe("health timer, /api/health and /api/status", () => {
  it("a healthy set answers 200 and shows its state; a broken secret answers 503, opens an incident, and resolves once fixed", async () => {
    const t = await setup("health-a");
    const [first] = await t.timer();
    expect(first!.ok).toBe(true);
    const healthy = await t.health();
    expect(healthy.status).toBe(200);
    expect(healthy.jsonBody).toMatchObject({ ok: true, sets: [{ set: "health-a", ok: true }] });

    // Someone pastes the secret's ID into Key Vault instead of its value (seed table row 7000215).
    const clients = await t.runtime.clientsFor(t.seeded.set);
    const good = world.keyVault.heldValues(t.seeded.set.keyVault.secretName).at(-1)!;
    await BREAK_RECIPES["7000215"]!.apply({ world, set: t.seeded.set, appObjectId: t.seeded.appObjectId, clients });
    const before = world.receivers!.webhook.accepted().length;
    await t.timer();
    const broken = await t.health();
    expect(broken.status).toBe(503);
    const body = broken.jsonBody as { ok: boolean; sets: { failing: { check: string; severity: string; aadsts?: number }[] }[] };
    expect(body.ok).toBe(false);
    expect(body.sets[0]!.failing).toContainEqual(expect.objectContaining({ check: "token", severity: "critical", aadsts: 7000215 }));
    const opened = world
      .receivers!.webhook.accepted()
      .slice(before)
      .map((a) => JSON.stringify(a.body));
    expect(opened.some((b) => /7000215/.test(b) && /opened/.test(b))).toBe(true);

    const status = (await t.status()).jsonBody as {
      sets: { openIncidents: { check: string; severity: string }[]; checks: { id: string; status: string }[] }[];
    };
    expect(status.sets[0]!.openIncidents).toContainEqual(expect.objectContaining({ check: "token", severity: "critical" }));
    expect(status.sets[0]!.checks.find((c) => c.id === "token")?.status).toBe("fail");

    // Fixed: two healthy probes resolve it (no flapping on one).
    await clients.vault.setSecret(t.seeded.set.keyVault.secretName, good);
    world.clock.advance(3_600_000);
    await t.timer();
    expect((await t.runtime.alerting.manager.listOpen("health-a")).some((i) => i.check === "token")).toBe(true);
    await t.timer();
    expect((await t.runtime.alerting.manager.listOpen("health-a")).some((i) => i.check === "token")).toBe(false);
    expect(
      world
        .receivers!.webhook.accepted()
        .map((a) => JSON.stringify(a.body))
        .some((b) => /resolved/.test(b) && /token/.test(b)),
    ).toBe(true);
    expect((await t.health()).status).toBe(200);

    new SecretScanner()
      .addSecrets([...world.secrets(), good])
      .collectAll("http", [healthy, broken, await t.status()])
      .collectAll("log", lines)
      .collectAll("webhook", world.receivers!.webhook.accepted())
      .assertClean();
  });

  it("/api/status shows the current key, its expiry, the next rotation, the last run and the targets", async () => {
    const t = await setup("health-b");
    const runner = await t.runtime.createRunner(t.seeded.set, (await import("../../src/logging.js")).silentLogger);
    const run = await runner.runPass({ mode: "force", trigger: "queue" });
    await t.timer();
    const body = (await t.status()).jsonBody as { sets: Record<string, unknown>[] };
    expect(body.sets[0]).toMatchObject({
      set: "health-b",
      current: { keyId: run.journal.newCredential!.keyId, expiresOn: run.journal.newCredential!.endDateTime },
      lastRun: { runId: run.runId, status: "waiting", step: "retire" },
      activeRun: { runId: run.runId },
      targets: { verified: 3, total: 3 },
    });
    const current = body.sets[0]!["current"] as { daysLeft: number };
    expect(current.daysLeft).toBeGreaterThan(170);
    expect(Date.parse(body.sets[0]!["nextRotationAt"] as string)).toBeLessThan(Date.parse(run.journal.newCredential!.endDateTime));
    expect((body.sets[0]!["checks"] as unknown[]).length).toBe(9);
  });

  it("a rotation timer that stops running raises a critical service incident; the heartbeat URL is pinged after each pass", async () => {
    const t = await setup("health-c", { heartbeatUrl: `${heartbeat.url}/ping/abc123`, rotationSchedule: "0 0 3 * * *" });
    await t.rotationTimer();
    expect(heartbeat.count("GET", /^\/ping\//)).toBeGreaterThanOrEqual(1);
    await t.timer();
    expect((await t.runtime.alerting.manager.listOpen("_service")).some((i) => i.check === "heartbeat")).toBe(false);
    world.clock.advance(2 * 86_400_000 + 3_600_000);
    await t.timer();
    const service = await t.runtime.alerting.manager.listOpen("_service");
    expect(service).toContainEqual(expect.objectContaining({ check: "heartbeat", severity: "critical" }));
    const status = (await t.status()).jsonBody as { serviceIncidents: { check: string }[] };
    expect(status.serviceIncidents.map((i) => i.check)).toContain("heartbeat");
  });

  it("a secret inside its renewal window with no successful rotation pages as critical until a rotation succeeds", async () => {
    const t = await setup("health-d", {}, 10);
    const paged = () => world.receivers!.pagerduty.accepted().filter((a) => JSON.stringify(a.body).includes("health-d"));
    await t.timer();
    const open = await t.runtime.alerting.manager.listOpen("health-d");
    expect(open).toContainEqual(expect.objectContaining({ check: "rotation-expiry", severity: "critical" }));
    expect(paged().some((a) => (a.body as { event_action?: string }).event_action === "trigger")).toBe(true);

    const runner = await t.runtime.createRunner(t.seeded.set, (await import("../../src/logging.js")).silentLogger);
    await runner.runPass({ mode: "scheduled", trigger: "queue" });
    world.clock.advance(25 * 3_600_000);
    expect((await runner.runPass({ mode: "scheduled", trigger: "queue" })).status).toBe("succeeded");
    expect((await t.runtime.alerting.manager.listOpen("health-d")).some((i) => i.check === "rotation-expiry")).toBe(false);
    expect(paged().some((a) => (a.body as { event_action?: string }).event_action === "resolve")).toBe(true);
  });
});

describe("/api/health under a burst of calls", () => {
  it("/api/health amplifies load: 20 concurrent calls with no stored result run one probe, not twenty", async () => {
    const tokenCalls = () => world.entra.server.count("POST", /\/token$/);
    // Baseline: what one probe of a fresh set costs in token requests.
    const one = await setup("health-burst-one");
    const before1 = tokenCalls();
    expect((await makeHealthHandler(() => Promise.resolve(one.runtime))(get("/api/health"), ctx("health"))).status).toBe(200);
    const perProbe = tokenCalls() - before1;
    expect(perProbe).toBeGreaterThan(0);

    const t = await setup("health-burst");
    const handler = makeHealthHandler(() => Promise.resolve(t.runtime));
    const before = tokenCalls();
    const answers = await Promise.all(Array.from({ length: 20 }, () => handler(get("/api/health"), ctx("health"))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(tokenCalls() - before).toBe(perProbe);
    // Later calls serve the stored result without probing again.
    await handler(get("/api/health"), ctx("health"));
    expect(tokenCalls() - before).toBe(perProbe);
  });
});

describe("defect: health timer fails on a Storage blip", () => {
  it("health timer throws when Storage answers 503 for the liveness record: the probes ran, yet the invocation failed (found by npm run chaos)", async () => {
    const { StorageFaultProxy } = await import("../harness/chaos/storageProxy.js");
    const { BlobServiceClient } = await import("@azure/storage-blob");
    const direct = await freshContainer(inject("storageConnectionString"));
    const blob = /BlobEndpoint=(https?:\/\/[^/;]+)/.exec(inject("storageConnectionString"))![1]!;
    const proxy = new StorageFaultProxy(new URL(blob));
    const url = await proxy.start();
    try {
      const viaProxy = BlobServiceClient.fromConnectionString(StorageFaultProxy.connectionString(inject("storageConnectionString"), url), {
        retryOptions: { maxTries: 1 },
      }).getContainerClient(direct.containerName);
      const seeded = world.seedSet({ name: "health-blip", secretExpiresInDays: 60, targets: 2, otherTargets: 0 });
      const runtime = world.runtime([seeded.set], viaProxy);
      const timer = makeHealthTimerHandler(() => Promise.resolve(runtime));
      await timer({} as never, ctx("healthTimer"));
      // Every Storage request of the next pass answers 503 ServerBusy, a few times.
      proxy.add({ kind: "status", status: 503, times: 40 });
      const reports = await timer({} as never, ctx("healthTimer"));
      expect(reports.map((r) => r.set)).toEqual(["health-blip"]);
      expect(lines.some((l) => l.includes("liveness not checked this pass"))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});
