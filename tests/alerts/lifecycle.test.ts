import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ChannelKind } from "../../src/alerts/channels/index.js";
import type { CheckReport } from "../../src/alerts/incidents.js";
import { REDACTED } from "../../src/redact.js";
import { fakeClientSecret, receivedPayloads, startWorld, type World } from "./world.js";

/**
 * The on-call lifecycle, once per channel against its receiver: open → silent → update → repeat
 * after the interval → a single healthy report between failures changes nothing (no flapping) →
 * resolved after N healthy reports. Ends with a secret scan of everything that left the service.
 */
const HOUR = 3_600_000;
const SET = "cequence-sso";
const CHECK = "token.request";

/** What each receiver shows, in on-call terms, per notification. */
const seen: Record<ChannelKind, (w: World) => string[]> = {
  teams: (w) => w.rx.teams.accepted().map((a) => String((a.body.cards[0]!["body"] as { text: string }[])[0]!.text).split(":")[0]!),
  slack: (w) => w.rx.slack.accepted().map((a) => /\[([A-Z ]+)\]/.exec(a.body.text ?? "")![1]!),
  pagerduty: (w) =>
    w.rx.pagerduty.accepted().map((a) => (a.body.event_action === "trigger" ? `trigger:${String(a.body.payload!["severity"])}` : String(a.body.event_action))),
  opsgenie: (w) => w.rx.opsgenie.accepted().map((a) => a.body.action),
  webhook: (w) => w.rx.webhook.accepted().map((a) => a.body.type),
};

const expected: Record<ChannelKind, string[]> = {
  teams: ["OPENED", "UPDATED", "STILL OPEN", "RESOLVED"],
  slack: ["OPENED", "UPDATED", "STILL OPEN", "RESOLVED"],
  pagerduty: ["trigger:warning", "trigger:error", "trigger:error", "resolve"],
  opsgenie: ["create", "create", "priority", "note", "create", "close"],
  webhook: ["opened", "updated", "repeat", "resolved"],
};

describe.each(["teams", "slack", "pagerduty", "opsgenie", "webhook"] as const)("incident lifecycle through %s", (kind) => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("opens once, stays silent while unchanged, updates, repeats after the interval, does not flap, and resolves after N healthy reports", async () => {
    w = await startWorld({ channels: { [kind]: "warning" }, repeatIntervalMs: HOUR, resolveAfterHealthy: 2 });
    const clientSecret = fakeClientSecret();
    const knownSecret = `gw-api-token-${randomBytes(16).toString("hex")}`;
    w.redactor.add(knownSecret);
    const failing = (severity: "warning" | "error"): CheckReport => ({
      healthy: false,
      severity,
      title: `Token request with the Key Vault secret fails (AADSTS7000215)`,
      hint: "Check that the secret in Key Vault is the current one; see the run journal.",
      evidence: {
        aadsts: 7000215,
        tokenEndpoint: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        // Mistakes a caller could make: a secret by field name, in free text, and a known value.
        clientSecret,
        detail: `POST token with client_secret ${clientSecret} answered 401`,
        gateway: `called with ${knownSecret}`,
      },
    });

    const steps: string[] = [];
    const report = async (r: CheckReport): Promise<void> => {
      steps.push((await w.manager.report(SET, CHECK, r)).notification);
    };
    await report(failing("warning")); // opened
    await report(failing("warning")); // unchanged: silent
    w.clock.advance(10 * 60_000);
    await report(failing("warning")); // still silent
    await report(failing("error")); // severity changed: updated
    w.clock.advance(HOUR);
    await report(failing("error")); // unchanged for an interval: repeat
    await report({ healthy: true }); // one healthy report …
    await report(failing("error")); // … between failures: no resolve, no re-open
    await report({ healthy: true });
    await report({ healthy: true }); // N = 2 consecutive: resolved
    await report({ healthy: true }); // already resolved: nothing

    expect(steps).toEqual(["opened", "none", "none", "updated", "repeat", "none", "none", "none", "resolved", "none"]);
    expect(seen[kind](w)).toEqual(expected[kind]);
    expect(w.rx[kind].rejected()).toEqual([]);

    const [stored] = await w.store.list(SET);
    expect(stored).toMatchObject({ state: "resolved", severity: "error", deliveredTo: [kind], pendingChannels: [] });
    expect(stored!.evidence["clientSecret"]).toBe(REDACTED);
    expect(stored!.evidence["detail"]).toBe(`POST token with client_secret ${REDACTED} answered 401`);
    expect(stored!.evidence["gateway"]).toBe(`called with ${REDACTED}`);
    if (kind === "pagerduty") expect(w.rx.pagerduty.alert(stored!.dedupKey)).toMatchObject({ status: "resolved", triggers: 3, opened: 1 });
    if (kind === "opsgenie") expect(w.rx.opsgenie.alert(stored!.dedupKey)).toMatchObject({ status: "closed", priority: "P2", count: 3 });

    const scanned = w
      .scanner()
      .addSecrets([clientSecret, knownSecret])
      .collectAll("payload", receivedPayloads(w.rx))
      .collectAll("log", w.lines)
      .collect("deliveryLog", w.dispatcher.deliveryLog())
      .collect("incidents", await w.store.list())
      .assertClean();
    expect(scanned).toBeGreaterThan(expected[kind].length);
  });
});
