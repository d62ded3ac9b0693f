import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpsgenieReceiver } from "./opsgenie.js";

/** Pins the Opsgenie Alert API contract the receiver stands in for. */
describe("Opsgenie Alert API receiver", () => {
  const og = new OpsgenieReceiver();
  let key: string;
  beforeAll(async () => {
    await og.start();
    key = og.createIntegration();
  });
  afterAll(() => og.close());

  const call = async (method: string, path: string, body?: unknown, auth = `GenieKey ${key}`): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${og.url}${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...(auth ? { Authorization: auth } : {}) },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it("queues a create with 202 {result, took, requestId} and reports the request's outcome", async () => {
    const r = await call("POST", "/v2/alerts", { message: "Token request failed", alias: "a1", priority: "P2" });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ result: "Request will be processed", requestId: expect.any(String), took: expect.any(Number) });
    const s = await call("GET", `/v2/alerts/requests/${r.json["requestId"] as string}`);
    expect(s.json["data"]).toMatchObject({ success: true, isSuccess: true, action: "Create", alias: "a1" });
    expect(og.alert("a1")).toMatchObject({ status: "open", priority: "P2", count: 1 });
  });

  it("deduplicates a create on an open alias, and opens a new alert after close", async () => {
    await call("POST", "/v2/alerts", { message: "m", alias: "a2" });
    await call("POST", "/v2/alerts", { message: "m", alias: "a2" });
    expect(og.alert("a2")?.count).toBe(2);
    expect((await call("POST", "/v2/alerts/a2/close?identifierType=alias", { note: "fixed", source: "t" })).status).toBe(202);
    expect(og.alert("a2")).toMatchObject({ status: "closed", notes: ["fixed"] });
    await call("POST", "/v2/alerts", { message: "m", alias: "a2" });
    expect(og.alert("a2")).toMatchObject({ status: "open", count: 1 });
    expect(og.alerts().filter((a) => a.alias === "a2")).toHaveLength(2);
  });

  it("refuses a missing, unknown or disabled key with 401 Could not authenticate", async () => {
    const other = og.createIntegration();
    og.disableIntegration(other);
    for (const auth of ["", "GenieKey not-a-key", `GenieKey ${other}`, `Bearer ${key}`]) {
      const r = await call("POST", "/v2/alerts", { message: "m" }, auth);
      expect([r.status, r.json["message"]]).toEqual([401, "Could not authenticate"]);
    }
  });

  it("answers 422 with field errors for bodies that break the limits", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ message: "" }, "message"],
      [{ message: "m".repeat(131) }, "message"],
      [{ message: "m", alias: "a".repeat(513) }, "alias"],
      [{ message: "m", description: "d".repeat(15_001) }, "description"],
      [{ message: "m", priority: "P9" }, "priority"],
      [{ message: "m", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, "tags"],
      [{ message: "m", tags: ["t".repeat(51)] }, "tags"],
      [{ message: "m", details: { k: 1 } }, "details"],
      [{ message: "m", details: { k: "v".repeat(8000) } }, "details"],
      [{ message: "m", source: "s".repeat(101) }, "source"],
    ];
    for (const [body, field] of cases) {
      const r = await call("POST", "/v2/alerts", body);
      expect(r.status, field).toBe(422);
      expect(r.json["message"]).toBe("Request body is not processable. Please check the errors.");
      expect(Object.keys(r.json["errors"] as object)).toContain(field);
    }
    expect((await call("POST", "/v2/alerts", "{bad")).status).toBe(400);
  });

  it("updates priority and adds notes by alias; closing an unknown alias is queued but fails", async () => {
    await call("POST", "/v2/alerts", { message: "m", alias: "a3", priority: "P3" });
    expect((await call("PUT", "/v2/alerts/a3/priority?identifierType=alias", { priority: "P1" })).status).toBe(202);
    expect((await call("POST", "/v2/alerts/a3/notes?identifierType=alias", { note: "worse" })).status).toBe(202);
    expect(og.alert("a3")).toMatchObject({ priority: "P1", notes: ["worse"] });
    expect((await call("PUT", "/v2/alerts/a3/priority?identifierType=alias", { priority: "urgent" })).status).toBe(422);
    expect((await call("POST", "/v2/alerts/a3/close?identifierType=name", {})).status).toBe(422);
    const r = await call("POST", "/v2/alerts/nope/close?identifierType=alias", {});
    expect(r.status).toBe(202);
    const s = await call("GET", `/v2/alerts/requests/${r.json["requestId"] as string}`);
    expect(s.json["data"]).toMatchObject({ success: false, status: "Alert does not exist" });
  });
});
