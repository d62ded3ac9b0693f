import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OffsetClock } from "../common/clock.js";
import { signWebhook } from "../../src/alerts/channels/webhook/signature.js";
import { WebhookReceiver } from "./webhook.js";

/** Pins the signed-webhook receiver: the reference implementation of what integrators must check. */
describe("signed webhook receiver", () => {
  const clock = new OffsetClock();
  const rx = new WebhookReceiver({ clock });
  beforeAll(async () => {
    await rx.start();
  });
  afterAll(() => rx.close());

  const envelope = (id: string): string =>
    JSON.stringify({ version: 1, id, type: "opened", sentAt: new Date().toISOString(), source: "t", incident: { dedupKey: "k" } });
  const deliver = (url: string, key: string, body: string, opts: { ts?: string; sig?: string; id?: string; contentType?: string } = {}): Promise<Response> => {
    const ts = opts.ts ?? String(Math.floor(clock.now().getTime() / 1000));
    return fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": opts.contentType ?? "application/json",
        "X-Rotator-Timestamp": ts,
        "X-Rotator-Signature": opts.sig ?? signWebhook(key, ts, body),
        ...(opts.id ? { "X-Rotator-Delivery": opts.id } : {}),
      },
      body,
    });
  };

  it("accepts a correctly signed delivery and records it with its headers", async () => {
    const ep = rx.createEndpoint();
    const res = await deliver(ep.url, ep.signingKey, envelope("d1"), { id: "d1" });
    expect(res.status).toBe(200);
    expect(rx.accepted().at(-1)?.headers["x-rotator-delivery"]).toBe("d1");
  });

  it("refuses a wrong key, a tampered body, a missing signature and a non-JSON content type", async () => {
    const ep = rx.createEndpoint();
    const body = envelope("d2");
    const ts = String(Math.floor(clock.now().getTime() / 1000));
    const wrongKey = await deliver(ep.url, "another-key-entirely", body);
    const tampered = await deliver(ep.url, ep.signingKey, body.replace("opened", "resolved"), { ts, sig: signWebhook(ep.signingKey, ts, body) });
    const unsigned = await fetch(ep.url, { method: "POST", headers: { "Content-Type": "application/json" }, body });
    const text = await deliver(ep.url, ep.signingKey, body, { contentType: "text/plain" });
    expect([wrongKey.status, tampered.status, unsigned.status, text.status]).toEqual([401, 401, 401, 415]);
    expect(await wrongKey.json()).toEqual({ error: "signature_mismatch" });
    expect(await unsigned.json()).toEqual({ error: "missing_signature" });
  });

  it("refuses a captured delivery replayed after the tolerance window", async () => {
    const ep = rx.createEndpoint({ toleranceSec: 300 });
    const body = envelope("d3");
    const ts = String(Math.floor(clock.now().getTime() / 1000));
    const sig = signWebhook(ep.signingKey, ts, body);
    expect((await deliver(ep.url, ep.signingKey, body, { ts, sig, id: "d3" })).status).toBe(200);
    clock.advance(301_000);
    const replay = await deliver(ep.url, ep.signingKey, body, { ts, sig, id: "d3-replay" });
    expect([replay.status, await replay.json()]).toEqual([401, { error: "stale_timestamp" }]);
  });

  it("acknowledges a repeated delivery (same signed id) without processing it twice", async () => {
    const ep = rx.createEndpoint();
    const body = envelope("d4");
    const before = rx.accepted().length;
    expect((await deliver(ep.url, ep.signingKey, body, { id: "d4" })).status).toBe(200);
    const again = await deliver(ep.url, ep.signingKey, body, { id: "d4" });
    expect([again.status, await again.json()]).toEqual([200, { ok: true, duplicate: true }]);
    expect(rx.accepted().length).toBe(before + 1);
  });
});
