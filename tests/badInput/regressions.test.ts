import { describe, expect, it, vi } from "vitest";
import { app, HttpRequest, InvocationContext, output } from "@azure/functions";
import { Scenario, useWorld } from "../rotation/harness.js";
import { makeGetRotationHandler, makeStartRotationHandler } from "../../src/handlers/rotations.js";
import { makeHealthHandler } from "../../src/handlers/health.js";
import { groundTruth, snapshotDiff } from "./groundTruth.js";

/** Defects the bad-input tables found, each named after what went wrong. */
const world = useWorld();
const queue = output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" });
const ctx = () => new InvocationContext({ functionName: "regression" });

describe("bad input regressions", () => {
  it("unknown query parameter ignored: POST /api/rotations?dryRun=true with a force body queued a real rotation instead of refusing the parameter", async () => {
    const s = await Scenario.create(world, { targets: 1, otherTargets: 0 });
    const before = await groundTruth(s.world, s.container, [s.seeded.appObjectId]);
    const c = ctx();
    const res = await makeStartRotationHandler(() => Promise.resolve(s.runtime), queue)(
      new HttpRequest({
        method: "POST",
        url: "http://localhost/api/rotations?dryRun=true",
        headers: { "content-type": "application/json" },
        body: { string: JSON.stringify({ set: s.set.name, mode: "force" }) },
      }),
      c,
    );
    expect(res.status).toBe(400);
    expect(res.jsonBody).toMatchObject({ error: { code: "UNKNOWN_QUERY_PARAMETER", field: "?dryRun" } });
    expect(c.extraOutputs.get(queue)).toBeUndefined();
    expect(snapshotDiff(before, await groundTruth(s.world, s.container, [s.seeded.appObjectId]))).toEqual([]);
  });

  it("wrong method accepted: PUT /api/rotations with a valid body queued a rotation (the handler never checked the method)", async () => {
    const s = await Scenario.create(world, { targets: 1, otherTargets: 0 });
    const c = ctx();
    const res = await makeStartRotationHandler(() => Promise.resolve(s.runtime), queue)(
      new HttpRequest({
        method: "PUT",
        url: "http://localhost/api/rotations",
        headers: { "content-type": "application/json" },
        body: { string: JSON.stringify({ set: s.set.name, mode: "force" }) },
      }),
      c,
    );
    expect(res.status).toBe(405);
    expect((res.headers as Record<string, string>)["Allow"]).toBe("POST");
    expect(c.extraOutputs.get(queue)).toBeUndefined();
  });

  it("wrong content type accepted: a form post and a text/plain body were parsed as JSON and queued a rotation", async () => {
    const s = await Scenario.create(world, { targets: 1, otherTargets: 0 });
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const c = ctx();
      const res = await makeStartRotationHandler(() => Promise.resolve(s.runtime), queue)(
        new HttpRequest({
          method: "POST",
          url: "http://localhost/api/rotations",
          headers: { "content-type": type },
          body: { string: JSON.stringify({ set: s.set.name, mode: "force" }) },
        }),
        c,
      );
      expect(res.status).toBe(415);
      expect(res.jsonBody).toMatchObject({ error: { code: "UNSUPPORTED_MEDIA_TYPE", field: "Content-Type" } });
      expect(c.extraOutputs.get(queue)).toBeUndefined();
    }
  });

  it("wrong method on a read-only endpoint: DELETE /api/health ran a probe (token requests with the real secret) instead of a 405", async () => {
    const s = await Scenario.create(world, { targets: 1, otherTargets: 0 });
    const tokens = s.world.entra.server.count("POST", /\/oauth2\/v2\.0\/token$/);
    const res = await makeHealthHandler(() => Promise.resolve(s.runtime))(new HttpRequest({ method: "DELETE", url: "http://localhost/api/health" }), ctx());
    expect(res.status).toBe(405);
    expect(s.world.entra.server.count("POST", /\/oauth2\/v2\.0\/token$/)).toBe(tokens);
  });

  it("not-found answers did not name the field or the fix: an unknown set or run ID got only 'No … named …'", async () => {
    const s = await Scenario.create(world, { targets: 1, otherTargets: 0 });
    const start = await makeStartRotationHandler(() => Promise.resolve(s.runtime), queue)(
      new HttpRequest({
        method: "POST",
        url: "http://localhost/api/rotations",
        headers: { "content-type": "application/json" },
        body: { string: JSON.stringify({ set: "no-such-set" }) },
      }),
      ctx(),
    );
    expect(start.status).toBe(404);
    expect((start.jsonBody as { error: { message: string } }).error.message).toMatch(/^set "no-such-set" .* — use one of: /);
    const runId = "0".repeat(64);
    const get = await makeGetRotationHandler(() => Promise.resolve(s.runtime))(
      new HttpRequest({ method: "GET", url: `http://localhost/api/rotations/${runId}`, params: { runId } }),
      ctx(),
    );
    expect(get.status).toBe(404);
    const message = (get.jsonBody as { error: { message: string } }).error.message;
    expect(message).toMatch(/^runId .* — use the runId returned by POST \/api\/rotations/);
    // Never the whole 64 characters back.
    expect(message).not.toContain(runId);
  });
});

describe("bad input regressions: registrations", () => {
  it("dashboard missing from the functions entry: functions/index.ts (what the host loads) never registered GET /api/dashboard", async () => {
    vi.resetModules();
    const http = vi.spyOn(app, "http").mockImplementation(() => undefined);
    vi.spyOn(app, "timer").mockImplementation(() => undefined);
    vi.spyOn(app, "storageQueue").mockImplementation(() => undefined);
    vi.spyOn(app, "eventGrid").mockImplementation(() => undefined);
    await import("../../functions/index.js");
    const { readdirSync, readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const dir = path.resolve(import.meta.dirname, "../../functions");
    // Every app.http(...) written in functions/*.ts is registered by the entry the host loads.
    const declared = readdirSync(dir).flatMap((f) => [...readFileSync(path.join(dir, f), "utf8").matchAll(/app\.http\("([A-Za-z]+)"/g)].map((m) => m[1]!));
    expect(declared).toContain("dashboard");
    expect(http.mock.calls.map(([name]) => name).sort()).toEqual([...declared].sort());
    vi.restoreAllMocks();
  });
});
