import { describe, expect, it } from "vitest";
import { HttpRequest, InvocationContext, output, type HttpResponseInit } from "@azure/functions";
import { Scenario, useWorld } from "../rotation/harness.js";
import { makeConfirmRotationHandler, makeGetRotationHandler, makeStartRotationHandler } from "../../src/handlers/rotations.js";
import { makeHealthHandler, makeStatusHandler } from "../../src/handlers/health.js";
import { makeDashboardHandler } from "../../src/dashboard/handler.js";
import { REQUEST_CASES, type Endpoint, type RequestCase } from "./requestCases.js";
import { unclearRefusal } from "./clear.js";
import { groundTruth, snapshotDiff } from "./groundTruth.js";

/**
 * Issue 10 item 6: at least 50 malformed requests per HTTP endpoint, driven through the real
 * handlers as the Functions host calls them. Each gets a clear 4xx naming the field, changes
 * nothing (Storage, Key Vault, Entra and the gateway compared before and after from ground truth),
 * puts nothing on the queue, leaks no secret, pollutes no prototype, and the endpoint still serves
 * a valid request afterwards.
 */
const world = useWorld();
const queue = output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" });
const RUN = "20260101T000000Z-abcdef12";

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

function build(endpoint: Endpoint, c: RequestCase, setName: string): HttpRequest {
  const fill = (t: string): string => t.replaceAll("@SET@", setName).replaceAll("@RUN@", RUN);
  const runId = c.runId === undefined ? undefined : fill(c.runId);
  // The host hands the handler the decoded route parameter; the URL itself only needs to parse.
  const path = endpoint.split(" ")[1]!.replace("{runId}", runId === undefined || !/[\ud800-\udfff]/.test(runId) ? encodeURIComponent(runId ?? RUN) : "x");
  const body = typeof c.body === "function" ? c.body() : c.body;
  return new HttpRequest({
    method: c.method ?? endpoint.split(" ")[0]!,
    url: `http://localhost${path}${c.query !== undefined ? `?${fill(c.query)}` : ""}`,
    headers: c.headers ?? {},
    ...(runId !== undefined || endpoint.includes("{runId}") ? { params: { runId: runId ?? RUN } } : {}),
    ...(body !== undefined ? { body: { string: body.includes("@SET@") ? fill(body) : body } } : {}),
  });
}

describe("bad input: malformed requests per HTTP endpoint", () => {
  let s: Scenario;
  const handlers = (): Record<Endpoint, Handler> => {
    const provider = () => Promise.resolve(s.runtime);
    return {
      "POST /api/rotations": makeStartRotationHandler(provider, queue),
      "GET /api/rotations/{runId}": makeGetRotationHandler(provider),
      "POST /api/rotations/{runId}/confirm": makeConfirmRotationHandler(provider, queue),
      "GET /api/health": makeHealthHandler(provider),
      "GET /api/status": makeStatusHandler(provider),
      "GET /api/dashboard": makeDashboardHandler(provider),
    };
  };
  const tried: Record<string, { tried: number; refusedClearly: number }> = {};

  for (const endpoint of Object.keys(REQUEST_CASES) as Endpoint[]) {
    it(`${endpoint}: ${REQUEST_CASES[endpoint].length} malformed requests, each a clear 4xx naming the field, with no state change and nothing leaked`, async () => {
      s ??= await Scenario.create(world, { targets: 2, otherTargets: 0 });
      const handler = handlers()[endpoint];
      const before = await groundTruth(s.world, s.container, [s.seeded.appObjectId]);
      const scan = s.scanner();
      const unclear: string[] = [];
      for (const c of REQUEST_CASES[endpoint]) {
        const lines: string[] = [];
        const ctx = new InvocationContext({ functionName: endpoint, invocationId: c.name, logHandler: (l, ...a) => lines.push(`${l} ${a.join(" ")}`) });
        const req = build(endpoint, c, s.set.name);
        const sent = `${typeof c.body === "function" ? "" : (c.body ?? "")} ${c.query ?? ""} ${c.runId ?? ""}`;
        let res: HttpResponseInit;
        try {
          res = await handler(req, ctx);
        } catch (e) {
          unclear.push(`${c.name}: threw ${String(e).slice(0, 200)}`);
          continue;
        }
        const why = unclearRefusal(res, c.expect, sent);
        if (why) unclear.push(`${c.name}: ${why}`);
        if (ctx.extraOutputs.get(queue) !== undefined) unclear.push(`${c.name}: put a message on the rotation queue`);
        scan.collect(`${endpoint} ${c.name} answer`, { status: res.status, headers: res.headers, body: res.jsonBody ?? res.body });
        scan.collectAll(`${endpoint} ${c.name} log`, lines);
      }
      tried[endpoint] = { tried: REQUEST_CASES[endpoint].length, refusedClearly: REQUEST_CASES[endpoint].length - unclear.length };
      expect(unclear).toEqual([]);
      expect(REQUEST_CASES[endpoint].length).toBeGreaterThanOrEqual(50);
      // No state change, from ground truth.
      expect(snapshotDiff(before, await groundTruth(s.world, s.container, [s.seeded.appObjectId]))).toEqual([]);
      // No prototype pollution from __proto__ / constructor.prototype keys.
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect(({} as Record<string, unknown>)["x"]).toBeUndefined();
      scan.assertNoFragments();
    });
  }

  it("bad input: every endpoint still serves a valid request after the malformed ones (nothing lost, no poisoned state)", async () => {
    s ??= await Scenario.create(world, { targets: 2, otherTargets: 0 });
    const h = handlers();
    const ctx = () => new InvocationContext({ functionName: "valid" });
    const json = { "content-type": "application/json; charset=utf-8" };
    const dry = await h["POST /api/rotations"](
      new HttpRequest({
        method: "POST",
        url: "http://localhost/api/rotations?code=k",
        headers: json,
        body: { string: JSON.stringify({ set: s.set.name, dryRun: true }) },
      }),
      ctx(),
    );
    expect(dry.status).toBe(200);
    const get = await h["GET /api/rotations/{runId}"](
      new HttpRequest({ method: "GET", url: `http://localhost/api/rotations/${RUN}`, params: { runId: RUN } }),
      ctx(),
    );
    expect(get.status).toBe(404);
    const status = await h["GET /api/status"](new HttpRequest({ method: "GET", url: "http://localhost/api/status?code=k" }), ctx());
    expect(status.status).toBe(200);
    const dash = await h["GET /api/dashboard"](new HttpRequest({ method: "GET", url: "http://localhost/api/dashboard?code=k" }), ctx());
    expect(dash.status).toBe(200);
    const health = await h["GET /api/health"](new HttpRequest({ method: "GET", url: "http://localhost/api/health" }), ctx());
    expect([200, 503]).toContain(health.status);
    console.log(`bad input request counts: ${JSON.stringify(tried)}`);
  });
});
