import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PagerDutyReceiver } from "./pagerduty.js";

/** Pins the PagerDuty Events API v2 contract the receiver stands in for. */
describe("PagerDuty Events API v2 receiver", () => {
  const pd = new PagerDutyReceiver();
  let key: string;
  beforeAll(async () => {
    await pd.start();
    key = pd.createIntegration();
  });
  afterAll(() => pd.close());

  const send = async (body: unknown, path = "/v2/enqueue"): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${pd.url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const trigger = (dedup: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    routing_key: key,
    event_action: "trigger",
    dedup_key: dedup,
    payload: { summary: "Token request failed", source: "rotator/set-a", severity: "error", ...extra },
  });

  it("answers 202 success with the dedup key, deduplicates triggers and resolves", async () => {
    const a = await send(trigger("k1"));
    expect(a).toEqual({ status: 202, json: { status: "success", message: "Event processed", dedup_key: "k1" } });
    await send(trigger("k1", { severity: "critical" }));
    expect(pd.alert("k1")).toMatchObject({ status: "triggered", triggers: 2, opened: 1, severity: "critical" });
    expect((await send({ routing_key: key, event_action: "resolve", dedup_key: "k1" })).status).toBe(202);
    expect(pd.alert("k1")?.status).toBe("resolved");
    await send(trigger("k1"));
    expect(pd.alert("k1")).toMatchObject({ status: "triggered", opened: 2 });
  });

  it("generates a dedup key for a trigger without one", async () => {
    const r = await send({ routing_key: key, event_action: "trigger", payload: { summary: "s", source: "x", severity: "info" } });
    expect(r.status).toBe(202);
    expect(typeof r.json["dedup_key"]).toBe("string");
  });

  it("refuses invalid events with 400 invalid event and the field errors", async () => {
    const cases: [unknown, string][] = [
      [{ ...trigger("k2"), routing_key: "short" }, "Length of 'routing_key' is incorrect (should be 32 characters)"],
      [{ ...trigger("k2"), routing_key: "0".repeat(32) }, "Invalid routing key"],
      [{ ...trigger("k2"), event_action: "explode" }, "'event_action' is invalid"],
      [trigger("k2", { summary: "" }), "'payload.summary' is missing or blank"],
      [trigger("k2", { summary: "s".repeat(1025) }), "Length of 'payload.summary' is too long"],
      [trigger("k2", { severity: "fatal" }), "'payload.severity' is invalid"],
      [trigger("k2", { source: undefined }), "'payload.source' is missing or blank"],
      [{ ...trigger("k2"), dedup_key: "d".repeat(256) }, "Length of 'dedup_key' is too long"],
      [{ routing_key: key, event_action: "resolve" }, "'dedup_key' is missing or blank"],
    ];
    for (const [body, error] of cases) {
      const r = await send(body);
      expect(r.status, error).toBe(400);
      expect(r.json).toMatchObject({ status: "invalid event", message: "Event object is invalid" });
      expect((r.json["errors"] as string[]).join("; ")).toContain(error);
    }
    const unparsable = await send("{nope");
    expect(unparsable).toEqual({
      status: 400,
      json: { status: "Unrecognized object", message: "Event object format is unrecognized", errors: ["JSON parse error"] },
    });
  });

  it("accepts change events on /v2/change/enqueue without creating an alert", async () => {
    const before = pd.alerts().length;
    const r = await send(
      { routing_key: key, payload: { summary: "Secret rotated", source: "rotator", timestamp: new Date().toISOString() } },
      "/v2/change/enqueue",
    );
    expect(r).toEqual({ status: 202, json: { status: "success", message: "Change event processed" } });
    expect(pd.alerts().length).toBe(before);
    expect(pd.accepted().at(-1)?.body.kind).toBe("change");
  });

  it("throttles with 429 and Retry-After through faults", async () => {
    pd.fault({ route: "^POST /v2/enqueue$", status: 429, retryAfterSeconds: 3, times: 1 });
    const res = await fetch(`${pd.url}/v2/enqueue`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(trigger("k3")) });
    expect([res.status, res.headers.get("retry-after")]).toEqual([429, "3"]);
  });
});
