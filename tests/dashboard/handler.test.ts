import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HttpRequest, InvocationContext } from "@azure/functions";
import { makeDashboardHandler } from "../../src/dashboard/handler.js";
import { esc } from "../../src/dashboard/html.js";
import type { ProbeReport } from "../../src/probe/model.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import { World, freshContainer, type SeededSet } from "../harness/world.js";

/** GET /api/dashboard through its handler, against the emulators (Graph and Key Vault read live). */
let world: World;
beforeAll(async () => {
  world = await World.start({ replicationDelayMs: 0 });
});
afterAll(async () => {
  await world?.stop();
});

const get = (handler: ReturnType<typeof makeDashboardHandler>) =>
  handler(new HttpRequest({ method: "GET", url: "http://localhost/api/dashboard" }), new InvocationContext({ functionName: "dashboard" }));

/** A probe report in Storage whose texts carry what upstream answers may echo. */
async function storeProbe(runtime: BuiltRuntime, set: string, summary: string): Promise<void> {
  const now = runtime.clock.now().toISOString();
  const report = {
    set,
    startedAt: now,
    durationMs: 5,
    ok: false,
    checks: [{ id: "token", title: "Token request", status: "fail", severity: "critical", summary, hint: summary, evidence: {}, durationMs: 3 }],
  } as unknown as ProbeReport;
  // Written past our redacting store, as an older version or another writer could have left it.
  const body = JSON.stringify(report);
  await runtime.container.getBlockBlobClient(`probes/${set}/latest.json`).upload(body, Buffer.byteLength(body));
}

/** Every 8-character window of `value`: none may reach the page. */
const windows = (value: string): string[] => Array.from({ length: value.length - 7 }, (_, i) => value.slice(i, i + 8));

describe("issue 26, defect 7: the status page escapes, then redacts", () => {
  it('a known secret holding & \' " < > and an unknown client_secret="…" are redacted before escaping', async () => {
    const seeded: SeededSet = world.seedSet({ name: "dash-redact", targets: 1, otherTargets: 0 });
    const container = await freshContainer(inject("storageConnectionString"));
    const runtime = world.runtime([seeded.set], container);
    const known = `a&b'c"d<e>f&g'h"i<j>k&l'm"n<o>p&q'r"s<t>`;
    runtime.redactor.add(known);
    const byName = "zq9Q~UnknownToTheRotator0123456789abcd";
    await storeProbe(runtime, "dash-redact", `upstream echoed ${known} and client_secret="${byName}" and {"clientSecret":"${byName}"}`);
    const res = await get(makeDashboardHandler(() => Promise.resolve(runtime)));
    expect(res.status).toBe(200);
    const page = res.body as string;
    expect(page).toContain("upstream echoed [REDACTED]");
    const tried = [...windows(known), ...windows(esc(known)), ...windows(byName)];
    expect(tried.filter((w) => page.includes(w))).toEqual([]);
  });
});

describe("issue 26, defect 12: the status page costs upstream calls", () => {
  it("20 concurrent loads across 3 sets read Graph and Key Vault once per set; a load within the cache window reads nothing", async () => {
    const sets = ["dash-a", "dash-b", "dash-c"].map((name) => world.seedSet({ name, targets: 1, otherTargets: 0 }));
    const container = await freshContainer(inject("storageConnectionString"));
    const runtime = world.runtime(
      sets.map((s) => s.set),
      container,
    );
    const handler = makeDashboardHandler(() => Promise.resolve(runtime));
    const graph = () => world.entra.server.count("GET", /\/applications/);
    const vault = () => world.keyVault.server.count("GET", /\/versions/);
    const [g0, v0] = [graph(), vault()];
    const pages = await Promise.all(Array.from({ length: 20 }, () => get(handler)));
    expect(pages.every((p) => p.status === 200)).toBe(true);
    expect([graph() - g0, vault() - v0]).toEqual([3, 3]);
    // Within the cache window: no further read; after it, one more per set.
    await get(handler);
    expect([graph() - g0, vault() - v0]).toEqual([3, 3]);
    world.clock.advance(16_000);
    await get(handler);
    expect([graph() - g0, vault() - v0]).toEqual([6, 6]);
  });
});
