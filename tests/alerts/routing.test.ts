import { afterEach, describe, expect, it } from "vitest";
import { createChannel } from "../../src/alerts/channels/index.js";
import { AlertDispatcher } from "../../src/alerts/dispatcher.js";
import { IncidentManager } from "../../src/alerts/incidents.js";
import { HEARTBEAT_CHECK, SERVICE_SET } from "../../src/alerts/model.js";
import { SetRoutingNotifier, serviceChannelConfigs } from "../../src/alerts/routing.js";
import { alertChannelSchema } from "../../src/config/schema.js";
import { memoryLogger } from "../../src/logging.js";
import { startWorld, type World } from "./world.js";

describe("routing incidents to their set's channels", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("sends a set's incident only to that set's channels, and a service incident once to each distinct destination", async () => {
    w = await startWorld({ channels: {} });
    const a = w.rx.slack.createWebhook({ channel: "#team-a" });
    const b = w.rx.slack.createWebhook({ channel: "#team-b" });
    await w.secrets.setSecret("slack-a", a);
    await w.secrets.setSecret("slack-b", b);
    const vaultUrl = "https://kv-shared.vault.azure.net";
    const entries = [
      { set: "set-a", vaultUrl, config: alertChannelSchema.parse({ kind: "slack", urlSecretName: "slack-a" }) },
      { set: "set-b", vaultUrl, config: alertChannelSchema.parse({ kind: "slack", urlSecretName: "slack-b" }) },
      // set-c shares set-a's webhook: one destination.
      { set: "set-c", vaultUrl: `${vaultUrl}/`, config: alertChannelSchema.parse({ kind: "slack", urlSecretName: "slack-a" }) },
    ];
    const deps = { secrets: w.secrets, http: w.http, clock: w.clock, redactor: w.redactor };
    const { logger } = memoryLogger(w.redactor);
    const dispatcherOf = (configs: typeof entries) =>
      new AlertDispatcher({ channels: configs.map((e) => createChannel(e.config, deps)), logger, clock: w.clock });
    const bySet = new Map(entries.map((e) => [e.set, dispatcherOf([e])]));
    const service = serviceChannelConfigs(entries);
    expect(service.map((e) => e.config.name)).toEqual(["set-a/slack", "set-b/slack"]);
    const manager = new IncidentManager({ store: w.store, clock: w.clock, notifier: new SetRoutingNotifier(bySet, dispatcherOf(service)) });

    await manager.report("set-b", "expiry.horizon", { healthy: false, severity: "error", title: "expires soon", evidence: { days: 3 } });
    expect(w.rx.slack.accepted().map((x) => x.body.channel)).toEqual(["#team-b"]);
    const hb = await manager.report(SERVICE_SET, HEARTBEAT_CHECK, { healthy: false, severity: "critical", title: "rotation timer stopped" });
    expect(hb.incident?.deliveredTo).toEqual(["set-a/slack", "set-b/slack"]);
    expect(
      w.rx.slack
        .accepted()
        .map((x) => x.body.channel)
        .sort(),
    ).toEqual(["#team-a", "#team-b", "#team-b"]);
    expect((await manager.report("unknown-set", "x", { healthy: false, severity: "error" })).delivery?.delivered).toEqual([]);
  });
});
