import { afterEach, describe, expect, it } from "vitest";
import { signWebhook, verifyWebhookSignature } from "../../src/alerts/channels/webhook/signature.js";
import type { AlertEvent } from "../../src/alerts/model.js";
import { openIncident } from "./incidentFixture.js";
import { startWorld, type World } from "./world.js";

describe("webhook signature verification", () => {
  const key = "whsec-3f9a1c0e8b7d6a5f4e3d2c1b0a9f8e7d";
  const body = '{"version":1,"id":"d1","type":"opened"}';
  const now = new Date("2026-03-01T12:00:00Z");
  const ts = String(Math.floor(now.getTime() / 1000));

  it("accepts HMAC-SHA256 over timestamp + '.' + body, in sha256=<hex> form", () => {
    const sig = signWebhook(key, ts, body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ key, timestamp: ts, body, signature: sig, now })).toEqual({ valid: true });
  });

  it("refuses a changed body, another key, a changed timestamp and malformed headers", () => {
    const sig = signWebhook(key, ts, body);
    const check = (o: Partial<Parameters<typeof verifyWebhookSignature>[0]>) => verifyWebhookSignature({ key, timestamp: ts, body, signature: sig, now, ...o });
    expect(check({ body: body.replace("opened", "resolved") })).toEqual({ valid: false, reason: "signature_mismatch" });
    expect(check({ key: "another-key-of-some-length" })).toEqual({ valid: false, reason: "signature_mismatch" });
    expect(check({ timestamp: String(Number(ts) + 1) })).toEqual({ valid: false, reason: "signature_mismatch" });
    expect(check({ signature: undefined })).toEqual({ valid: false, reason: "missing_signature" });
    expect(check({ signature: "md5=abc" })).toEqual({ valid: false, reason: "malformed_signature" });
    expect(check({ timestamp: "yesterday" })).toEqual({ valid: false, reason: "malformed_timestamp" });
  });

  it("refuses replays outside the tolerance, in either direction", () => {
    const sig = signWebhook(key, ts, body);
    const at = (offsetSec: number) =>
      verifyWebhookSignature({ key, timestamp: ts, body, signature: sig, toleranceSec: 300, now: new Date(now.getTime() + offsetSec * 1000) });
    expect(at(300)).toEqual({ valid: true });
    expect(at(301)).toEqual({ valid: false, reason: "stale_timestamp" });
    expect(at(-301)).toEqual({ valid: false, reason: "stale_timestamp" });
  });
});

describe("webhook channel and receiver", () => {
  let w: World;
  afterEach(async () => {
    await w?.close();
  });

  it("delivers a signed event the receiver verifies; a captured copy is dropped as a duplicate within the tolerance and refused after it", async () => {
    w = await startWorld({ channels: { webhook: "info" } });
    const at = w.clock.now().toISOString();
    const event: AlertEvent = {
      type: "opened",
      incident: openIncident(
        {
          set: "set-a",
          check: "discovery",
          severity: "error",
          title: "Discovery document unreachable",
          hint: "Check the custom domain's DNS.",
          evidence: { status: 503 },
        },
        { openedAt: at, updatedAt: at, lastNotifiedAt: at },
      ),
    };
    expect((await w.dispatcher.dispatch(event)).delivered).toEqual(["webhook"]);
    const got = w.rx.webhook.accepted()[0]!;
    const url = (await w.secrets.getLatest("alert-webhook-url"))!.value!;
    const replay = () =>
      fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-Rotator-Timestamp": got.headers["x-rotator-timestamp"]!,
          "X-Rotator-Signature": got.headers["x-rotator-signature"]!,
          "X-Rotator-Delivery": "captured-and-replayed",
        },
        body: JSON.stringify(got.body),
      });
    const within = await replay();
    expect([within.status, await within.json()]).toEqual([200, { ok: true, duplicate: true }]);
    w.clock.advance(301_000);
    const res = await replay();
    expect([res.status, await res.json()]).toEqual([401, { error: "stale_timestamp" }]);
    expect(w.rx.webhook.accepted()).toHaveLength(1);
  });
});
