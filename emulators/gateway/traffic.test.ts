import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startGatewayFixture, type GatewayFixture } from "./fixture.js";
import { TrafficLog } from "./traffic.js";

/**
 * The gateway's own view of the traffic (what tests and the propagation benchmark judge pacing
 * from) and the lost-update fault. The contract (docs/gateway-contract.md § Limits) counts
 * every authenticated call against the bucket, throttled ones included, so the log does too.
 */
describe("gateway emulator: traffic log and lost updates", () => {
  let f: GatewayFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it("logs every public call's arrival and final status, 429s included, and never the control routes", async () => {
    f = await startGatewayFixture({ rateLimit: { capacity: 2, refillPerSecond: 0.5 } });
    for (let i = 0; i < 4; i++) await f.call("GET", "/mcp-servers");
    await f.call("GET", "/_control/servers");
    const entries = f.emulator.traffic.all();
    expect(entries.map((e) => e.status)).toEqual([200, 200, 429, 429]);
    expect(entries.every((e, i) => i === 0 || e.atMs >= entries[i - 1]!.atMs)).toBe(true);
    expect(f.emulator.traffic.summary()).toMatchObject({ requests: 4, throttled: 2 });
  });

  it("counts the peak in half-open windows: calls exactly 1/rate apart never exceed the rate", () => {
    const log = new TrafficLog();
    for (let i = 0; i < 50; i++) log.record({ atMs: 1000 + i * 100, method: "GET", path: "/mcp-servers", status: 200 });
    expect(log.summary(1000).peakPerWindow).toBe(10);
    log.record({ atMs: 1050, method: "GET", path: "/mcp-servers", status: 429 });
    expect(log.summary(1000)).toMatchObject({ peakPerWindow: 11, throttled: 1, requests: 51, spanMs: 4900 });
  });

  it("a gateway that loses updates answers 200 with the server as it was, and stores nothing", async () => {
    f = await startGatewayFixture();
    const old = `lost-old-${randomUUID()}`;
    const s = f.emulator.seedServer({ name: "lossy", tokenUrl: "https://login.example.test/t/oauth2/v2.0/token", clientId: randomUUID(), clientSecret: old });
    f.emulator.setLoseUpdates({ times: 1 });
    const r = await f.call<{ etag: string; authentication: { secretFingerprint: string } }>("PATCH", `/mcp-servers/${s.id}/authentication`, {
      json: { clientSecret: `lost-new-${randomUUID()}` },
    });
    expect(r.status).toBe(200);
    expect(r.data.etag).toBe(s.etag);
    expect(r.data.authentication.secretFingerprint).toBe(s.secretFingerprint);
    expect(f.emulator.servers()[0]!.clientSecret).toBe(old);
    // Only `times` updates are lost; the next one is stored.
    const fresh = `lost-new-${randomUUID()}`;
    expect((await f.call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: fresh } })).status).toBe(200);
    expect(f.emulator.servers()[0]!.clientSecret).toBe(fresh);
  });
});
