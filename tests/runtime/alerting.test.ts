import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { World, freshContainer } from "../harness/world.js";
import { memoryLogger } from "../../src/logging.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * Rotation events reach on-call channels through the real runtime wiring (incidents in Azurite,
 * channel secrets in the Key Vault emulator, the five receivers), and a failing channel never
 * holds a rotation back.
 */
let world: World;
beforeAll(async () => {
  world = await World.start({ receivers: true });
});
afterAll(async () => {
  await world?.stop();
});

async function setup(name: string, overrides: Record<string, unknown> = {}) {
  const seeded = world.seedSet({
    name,
    secretExpiresInDays: 5,
    targets: 3,
    otherTargets: 0,
    alerts: { teams: "info", slack: "info", pagerduty: "error", opsgenie: "warning", webhook: "info" },
    overrides,
  });
  const container = await freshContainer(inject("storageConnectionString"));
  const runtime = world.runtime([seeded.set], container);
  const mem = memoryLogger(runtime.redactor);
  const runner = await runtime.createRunner(seeded.set, mem.logger);
  return { seeded, runtime, runner, mem };
}

/** What each receiver accepted, minus PagerDuty's routing_key: a channel must send its own key to its own service. */
function payloadsToScan(): unknown[] {
  return Object.entries(received()).flatMap(([kind, list]) =>
    list.map((a) => (kind === "pagerduty" ? { ...a, body: { ...(a.body as object), routing_key: undefined } } : a)),
  );
}

function received() {
  const rx = world.receivers!;
  return {
    teams: rx.teams.accepted(),
    slack: rx.slack.accepted(),
    pagerduty: rx.pagerduty.accepted(),
    opsgenie: rx.opsgenie.accepted(),
    webhook: rx.webhook.accepted(),
  };
}

describe("rotation alerts through the runtime", () => {
  it("a channel that fails or hangs does not hold back the rotation or the other channels", async () => {
    const rx = world.receivers!;
    for (const r of Object.values(received())) r.length = 0;
    rx.slack.fault({ route: ".*", status: 500 });
    rx.teams.fault({ route: ".*", hang: true, times: 1 });
    try {
      const { runner, runtime, mem, seeded } = await setup("alerts-isolation");
      const before = { webhook: rx.webhook.accepted().length };
      const first = await runner.runPass({ mode: "scheduled", trigger: "queue" });
      world.clock.advance(25 * 3_600_000);
      const done = await runner.runPass({ mode: "scheduled", trigger: "queue" });
      expect(first.status).toBe("waiting");
      expect(done.status).toBe("succeeded");
      // started + succeeded reached the healthy info-level channel.
      const webhookTitles = rx.webhook
        .accepted()
        .slice(before.webhook)
        .map((a) => JSON.stringify(a.body));
      expect(webhookTitles.some((t) => /started/.test(t))).toBe(true);
      expect(webhookTitles.some((t) => /succeeded/.test(t))).toBe(true);
      // Slack's failures are visible in the delivery log, not in the rotation.
      const log = runtime.alerting.deliveryLog().find((d) => d.set === seeded.set.name)!.channels;
      expect(log.find((c) => c.kind === "slack")?.consecutiveFailures).toBeGreaterThan(0);
      expect(log.find((c) => c.kind === "webhook")?.consecutiveFailures).toBe(0);
      new SecretScanner()
        .addSecrets(world.secrets())
        .collectAll("receiver", payloadsToScan())
        .collectAll("log", mem.lines)
        .collect("delivery log", log)
        .assertClean();
    } finally {
      rx.slack.clearFaults();
      rx.teams.clearFaults();
    }
  });

  it("a failed rotation opens an error incident on every channel whose minimum severity allows it", async () => {
    const rx = world.receivers!;
    for (const r of Object.values(received())) r.length = 0;
    const counts = () => Object.fromEntries(Object.entries(received()).map(([k, v]) => [k, v.length]));
    const { runner } = await setup("alerts-failure");
    world.entra.setAppManagementPolicy({ passwordAdditionBlocked: true });
    try {
      const before = counts();
      const res = await runner.runPass({ mode: "scheduled", trigger: "queue" });
      expect(res.status).toBe("failed");
      const after = counts();
      for (const kind of ["teams", "slack", "pagerduty", "opsgenie", "webhook"]) expect(after[kind]!, kind).toBeGreaterThan(before[kind]!);
      const pd = rx.pagerduty.accepted().map((a) => a.body as { event_action?: string; payload?: { severity?: string; summary?: string } });
      expect(
        pd.some(
          (e) =>
            e.event_action === "trigger" &&
            (e.payload?.severity === "error" || e.payload?.severity === "critical") &&
            /POLICY_BLOCKS_PASSWORD_ADDITION|policy/i.test(e.payload?.summary ?? ""),
        ),
      ).toBe(true);
    } finally {
      world.entra.setAppManagementPolicy({});
    }
    new SecretScanner().addSecrets(world.secrets()).collectAll("receiver", payloadsToScan()).assertClean();
  });
});
