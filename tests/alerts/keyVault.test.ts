import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertChannelSchema } from "../../src/config/schema.js";
import { createChannels } from "../../src/alerts/channels/index.js";
import { AlertDispatcher } from "../../src/alerts/dispatcher.js";
import type { AlertEvent } from "../../src/alerts/model.js";
import { openIncident } from "./incidentFixture.js";
import { HttpClient } from "../../src/http/client.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { createKeyVaultStore } from "../../src/vault/keyVaultStore.js";
import { startKeyVaultFixture, type KeyVaultFixture } from "../../emulators/keyvault/fixture.js";
import { startAllReceivers, type AllReceivers } from "../../emulators/receivers/index.js";
import { SecretScanner } from "../helpers/secretScan.js";

/** Channel credentials read from Key Vault for real: the SecretClient over the Key Vault emulator. */
describe("alert channels with their URLs and keys in Key Vault", () => {
  let kv: KeyVaultFixture;
  let rx: AllReceivers;
  beforeAll(async () => {
    kv = await startKeyVaultFixture();
    rx = await startAllReceivers({ clock: kv.clock });
  });
  afterAll(async () => {
    await rx?.close();
    await kv?.close();
  });

  const event = (n: number): AlertEvent => {
    const at = kv.clock.now().toISOString();
    return {
      type: "opened",
      incident: openIncident(
        {
          set: "set-kv",
          check: `check-${n}`,
          severity: "critical",
          title: "Key Vault secret is disabled",
          hint: "Enable the current version or rotate.",
          evidence: { version: "abc" },
        },
        { openedAt: at, updatedAt: at, lastNotifiedAt: at },
      ),
    };
  };

  it("delivers with credentials from Key Vault, picks up a rotated webhook URL at once, and rides out Key Vault throttling", async () => {
    const slackOld = rx.slack.createWebhook({ channel: "#old" });
    const slackNew = rx.slack.createWebhook({ channel: "#new" });
    const routingKey = rx.pagerduty.createIntegration();
    const hook = rx.webhook.createEndpoint();
    kv.vault.seedSecret("alert-slack-url", slackOld);
    kv.vault.seedSecret("alert-pagerduty-routing-key", routingKey);
    kv.vault.seedSecret("alert-webhook-url", hook.url);
    kv.vault.seedSecret("alert-webhook-signing-key", hook.signingKey);

    const redactor = new Redactor();
    const secrets = createKeyVaultStore({ vaultUrl: kv.vaultUrl, credential: kv.credential(), ca: kv.caCertPem, retryOptions: { maxRetries: 0 } });
    const http = new HttpClient({ timeoutInMs: 5000, retry: { maxRetries: 1, baseDelayInMs: 1, maxDelayInMs: 2 }, redactor, sleep: async () => undefined });
    const channels = createChannels(
      [
        alertChannelSchema.parse({ kind: "slack", urlSecretName: "alert-slack-url" }),
        alertChannelSchema.parse({ kind: "pagerduty", routingKeySecretName: "alert-pagerduty-routing-key", eventsUrl: rx.pagerduty.eventsUrl }),
        alertChannelSchema.parse({ kind: "webhook", urlSecretName: "alert-webhook-url", signingKeySecretName: "alert-webhook-signing-key" }),
      ],
      { secrets, http, clock: kv.clock, redactor },
    );
    const { logger, lines } = memoryLogger(redactor);
    const dispatcher = new AlertDispatcher({ channels, logger, clock: kv.clock });

    expect((await dispatcher.dispatch(event(1))).delivered.sort()).toEqual(["pagerduty", "slack", "webhook"]);
    expect(rx.slack.accepted().at(-1)?.body.channel).toBe("#old");

    // An operator rotates the Slack webhook: a new Key Vault version, no redeploy.
    kv.vault.seedSecret("alert-slack-url", slackNew);
    rx.slack.revoke(slackOld);
    expect((await dispatcher.dispatch(event(2))).delivered).toContain("slack");
    expect(rx.slack.accepted().at(-1)?.body.channel).toBe("#new");

    // Key Vault throttles every read: the last known values still deliver the page.
    const fault = kv.vault.throttle({ retryAfterSeconds: 1 });
    const throttledBefore = kv.vault.server.requests.filter((r) => r.status === 429).length;
    expect((await dispatcher.dispatch(event(3))).delivered.sort()).toEqual(["pagerduty", "slack", "webhook"]);
    expect(kv.vault.server.requests.filter((r) => r.status === 429).length - throttledBefore).toBeGreaterThanOrEqual(4);
    kv.vault.server.faults.remove(fault);

    new SecretScanner()
      .addSecrets([slackOld, slackNew, routingKey, hook.url, hook.signingKey])
      .collectAll("log", lines)
      .collect("deliveryLog", dispatcher.deliveryLog())
      .collectAll(
        "slack",
        rx.slack.accepted().map((a) => a.body),
      )
      .collectAll("webhook", rx.webhook.accepted())
      .collectAll(
        "pagerduty",
        rx.pagerduty.accepted().map((a) => ({ ...a.body, routing_key: undefined })),
      )
      .assertClean();
  });
});
