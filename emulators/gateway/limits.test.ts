import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { OffsetClock } from "../common/clock.js";
import { SecretScanner } from "../../tests/helpers/secretScan.js";
import { startGatewayFixture, type GatewayFixture } from "./fixture.js";

/** Throttling, latency and the fault injector as the gateway contract describes them. */
interface ErrorBody {
  error: { code: string; message: string };
}

describe("gateway emulator: rate limit and faults", () => {
  let f: GatewayFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  const seedOne = (fx: GatewayFixture, secret = `limit-secret-${randomUUID()}`) =>
    fx.emulator.seedServer({ name: "limited", tokenUrl: "https://login.example.test/t/oauth2/v2.0/token", clientId: randomUUID(), clientSecret: secret });

  it("answers 429 TooManyRequests with Retry-After in whole seconds once the bucket is empty", async () => {
    f = await startGatewayFixture({ rateLimit: { capacity: 3, refillPerSecond: 0.5 } });
    const statuses: number[] = [];
    let throttled: Awaited<ReturnType<GatewayFixture["call"]>> | undefined;
    for (let i = 0; i < 5; i++) {
      const r = await f.call<ErrorBody>("GET", "/mcp-servers");
      statuses.push(r.status);
      if (r.status === 429) throttled ??= r;
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    const retryAfter = throttled!.headers.get("retry-after")!;
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(2); // one token at 0.5/s
    expect((throttled!.data as ErrorBody).error.code).toBe("TooManyRequests");
    expect(throttled!.headers.get("x-ratelimit-remaining")).toBe("0");
  });

  it("does not apply a throttled update", async () => {
    f = await startGatewayFixture({ rateLimit: { capacity: 1, refillPerSecond: 0.01 } });
    const s = seedOne(f, "kept-while-throttled-secret");
    expect((await f.call("GET", `/mcp-servers/${s.id}`)).status).toBe(200);
    const r = await f.call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: "never-applied-secret" }, headers: { "If-Match": s.etag } });
    expect(r.status).toBe(429);
    expect(f.emulator.servers()[0]!.clientSecret).toBe("kept-while-throttled-secret");
    expect(f.emulator.servers()[0]!.etag).toBe(s.etag);
  });

  it("refills the bucket over time so calls succeed again", async () => {
    f = await startGatewayFixture({ rateLimit: { capacity: 1, refillPerSecond: 50 } });
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
    let status = 429;
    for (let i = 0; i < 200 && status === 429; i++) {
      status = (await f.call("GET", "/mcp-servers")).status;
      if (status === 429) await new Promise((r) => setTimeout(r, 10));
    }
    expect(status).toBe(200);
  });

  it("throttles only authenticated callers: a bad token gets 401 and does not drain the bucket", async () => {
    f = await startGatewayFixture({ rateLimit: { capacity: 2, refillPerSecond: 0.01 } });
    for (let i = 0; i < 5; i++) expect((await f.call("GET", "/mcp-servers", { token: "wrong" })).status).toBe(401);
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
    expect((await f.call("GET", "/mcp-servers")).status).toBe(429);
  });

  it("lifts and sets the rate limit at run time, in-process and through /_control/rateLimit", async () => {
    f = await startGatewayFixture({ rateLimit: { capacity: 1, refillPerSecond: 0.01 } });
    await f.call("GET", "/mcp-servers");
    expect((await f.call("GET", "/mcp-servers")).status).toBe(429);
    f.emulator.setRateLimit(undefined);
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
    expect((await f.call("POST", "/_control/rateLimit", { json: { capacity: 1, refillPerSecond: 0.01 } })).status).toBe(204);
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
    expect((await f.call("GET", "/mcp-servers")).status).toBe(429);
  });

  it("drops the answer of an applied update with dropAfterHandling: the server acted, the client never hears", async () => {
    f = await startGatewayFixture();
    const s = seedOne(f);
    f.emulator.server.faults.add({ route: `^PATCH /mcp-servers/${s.id}/authentication$`, dropAfterHandling: true, times: 1 });
    await expect(f.call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: "applied-but-unheard" } })).rejects.toThrow();
    expect(f.emulator.servers()[0]!.clientSecret).toBe("applied-but-unheard");
    expect(f.emulator.server.count("PATCH", /\/authentication$/)).toBe(1);
  });

  it("injects 429 + Retry-After through the shared fault injector, before authentication", async () => {
    f = await startGatewayFixture();
    f.emulator.server.faults.add({ route: "^GET /mcp-servers$", status: 429, retryAfterSeconds: 3, times: 1 });
    const r = await f.call("GET", "/mcp-servers");
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("3");
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
  });

  it("sets the latency at run time, in-process and through /_control/latency, refusing a negative value", async () => {
    f = await startGatewayFixture({ latencyMs: 0 });
    f.emulator.setLatency(5);
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
    expect((await f.call("POST", "/_control/latency", { json: { ms: -1 } })).status).toBe(400);
    expect((await f.call("POST", "/_control/latency", { json: { ms: 0 } })).status).toBe(204);
  });

  it("stamps secretUpdatedAt with the injected clock, and edits through /_control change the ETag", async () => {
    const clock = new OffsetClock();
    clock.advanceDays(30);
    f = await startGatewayFixture({ clock });
    const s = seedOne(f);
    expect(Date.parse(s.secretUpdatedAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const edited = await f.call<{ etag: string; tokenUrl: string }>("PATCH", `/_control/servers/${s.id}`, {
      json: { tokenUrl: "https://login.example.test/other/oauth2/v2.0/token" },
    });
    expect(edited.status).toBe(200);
    expect(edited.data.tokenUrl).toBe("https://login.example.test/other/oauth2/v2.0/token");
    expect(edited.data.etag).not.toBe(s.etag);
    expect((await f.call("PATCH", "/_control/servers/unknown", { json: { name: "x" } })).status).toBe(404);
  });

  it("can serve plain http for a loopback-only setup", async () => {
    f = await startGatewayFixture({ plainHttp: true });
    expect(f.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(f.ca).toBeUndefined();
    expect((await f.call("GET", "/mcp-servers")).status).toBe(200);
    const scanner = new SecretScanner().addSecrets(f.emulator.issuedSecrets()).collect("list", (await f.call("GET", "/mcp-servers")).text);
    expect(scanner.assertClean()).toBe(1);
  });
});
