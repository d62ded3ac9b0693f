import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayFixture, type GatewayFixture } from "../../emulators/gateway/fixture.js";
import { createCequenceAdapter } from "../../src/gateway/cequence/index.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { cequenceConfig, fastHttp } from "./helpers.js";

/**
 * Issue 27 item 1: a gateway that offers the optional numbered-pages extension
 * (docs/gateway-contract.md) is listed with its pages fetched several at a time, and the result is
 * the same as following the cursors. Timing comes from the emulator's own traffic log.
 */
const TOKEN_URL = `https://login.microsoftonline.com/${randomUUID()}/oauth2/v2.0/token`;
const LATENCY_MS = 60;

describe("cequence adapter: numbered pages", () => {
  let f: GatewayFixture;
  const clientId = randomUUID();
  const ours = new Set<string>();

  beforeAll(async () => {
    f = await startGatewayFixture({ pageSizeMax: 10, numberedPages: true, latencyMs: LATENCY_MS });
    for (let i = 0; i < 120; i++) {
      const s = f.emulator.seedServer({
        name: `mcp-${i}`,
        tokenName: "entra-sso",
        tokenUrl: TOKEN_URL,
        clientId: i % 3 === 0 ? randomUUID() : clientId,
        clientSecret: `seeded-${randomUUID()}`,
        scopes: ["openid"],
        additionalParameters: {},
      });
      if (i % 3 !== 0) ours.add(s.id);
    }
  });
  afterAll(() => f?.close());

  it("fetches the snapshot's pages at once and finds exactly the servers a cursor listing finds", async () => {
    const { logger } = memoryLogger(new Redactor());
    const adapter = createCequenceAdapter({ config: cequenceConfig(f, { pageSize: 10, maxConcurrency: 6 }), apiToken: f.apiToken, http: fastHttp(f), logger });
    f.emulator.traffic.clear();
    const listed = await adapter.listTargets({ clientId });
    expect(new Set(listed.map((t) => t.id))).toEqual(ours);
    expect(listed).toHaveLength(ours.size);
    const arrivals = f.emulator.traffic
      .all()
      .filter((e) => e.method === "GET" && e.path === "/mcp-servers")
      .map((e) => e.atMs)
      .sort((a, b) => a - b);
    expect(arrivals).toHaveLength(12);
    // One after another, pages arrive at least one latency apart; several at once arrive together.
    const gaps = arrivals.slice(2).map((t, i) => t - arrivals[i + 1]!);
    expect(Math.min(...gaps)).toBeLessThan(LATENCY_MS / 2);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeLessThan(5 * LATENCY_MS);
  });
});
