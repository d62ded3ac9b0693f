import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpRequest, InvocationContext, output } from "@azure/functions";
import { World } from "../harness/world.js";
import { makeConfirmRotationHandler, makeGetRotationHandler, makeStartRotationHandler } from "../../src/handlers/rotations.js";
import { makeRotationTimerHandler, makeRotationWorkerHandler } from "../../src/handlers/rotationWorker.js";
import type { RotationMessage } from "../../src/handlers/rotationMessage.js";
import type { RunJournal } from "../../src/rotation/model.js";
import { Scenario } from "../rotation/harness.js";
import { acquireSetLease } from "../../src/rotation/lease.js";
import { RequestStore } from "../../src/rotation/requests.js";

let world: World;
beforeAll(async () => {
  world = await World.start();
});
afterAll(async () => {
  await world?.stop();
});

const queue = output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" });

function ctx(functionName: string, lines: string[], dequeueCount = 1): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: `${functionName}-1`,
    triggerMetadata: { dequeueCount },
    logHandler: (level, ...args) => lines.push(`${level} ${args.join(" ")}`),
  });
}

function post(url: string, body: unknown, params: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({
    method: "POST",
    url,
    params,
    body: { string: typeof body === "string" ? body : JSON.stringify(body) },
    headers: { "content-type": "application/json" },
  });
}

async function api(s: Scenario) {
  const getRuntime = () => Promise.resolve(s.runtime);
  const lines: string[] = [];
  const responses: unknown[] = [];
  const start = makeStartRotationHandler(getRuntime, queue);
  const get = makeGetRotationHandler(getRuntime);
  const confirm = makeConfirmRotationHandler(getRuntime, queue);
  const worker = makeRotationWorkerHandler(getRuntime);
  return {
    lines,
    responses,
    async start(body: unknown) {
      const c = ctx("startRotation", lines);
      const res = await start(post("http://localhost/api/rotations", body), c);
      responses.push(res);
      return { res, message: c.extraOutputs.get(queue) as RotationMessage | undefined };
    },
    async get(runId: string) {
      const res = await get(new HttpRequest({ method: "GET", url: `http://localhost/api/rotations/${runId}`, params: { runId } }), ctx("getRotation", lines));
      responses.push(res);
      return res;
    },
    async confirm(runId: string, body: unknown) {
      const c = ctx("confirmRotation", lines);
      const res = await confirm(post(`http://localhost/api/rotations/${runId}/confirm`, body, { runId }), c);
      responses.push(res);
      return { res, message: c.extraOutputs.get(queue) as RotationMessage | undefined };
    },
    work(message: unknown, dequeueCount = 1) {
      return worker(typeof message === "string" ? message : JSON.stringify(message), ctx("rotationWorker", lines, dequeueCount));
    },
  };
}

describe("POST /api/rotations validates its body", () => {
  it.each([
    ["not JSON", "{set:", 400, "INVALID_JSON", "(body)"],
    ["missing set", { mode: "force" }, 400, "INVALID_BODY", "set"],
    ["an unknown mode", { set: "x", mode: "now" }, 400, "INVALID_BODY", "mode"],
    ["dryRun as a string", { set: "x", dryRun: "yes" }, 400, "INVALID_BODY", "dryRun"],
    ["an unknown field", { set: "x", mod: "force" }, 400, "INVALID_BODY", "mod"],
  ])("rejects %s with 400 naming the field", async (_what, body, status, code, field) => {
    const s = await Scenario.create(world, { targets: 1 });
    const a = await api(s);
    const { res, message } = await a.start(body);
    expect(res.status).toBe(status);
    expect(res.jsonBody).toMatchObject({ error: { code, field } });
    expect((res.jsonBody as { error: { hint: string } }).error.hint).toBeTruthy();
    expect(message).toBeUndefined();
  });

  it("answers 404 for an unknown set, listing the known ones", async () => {
    const s = await Scenario.create(world, { targets: 1 });
    const { res } = await (await api(s)).start({ set: "nope", mode: "force" });
    expect(res.status).toBe(404);
    expect(res.jsonBody).toMatchObject({ error: { code: "SET_NOT_FOUND", field: "set" } });
    expect(JSON.stringify(res.jsonBody)).toContain(s.set.name);
  });
});

describe("manual rotations through the API", () => {
  it("a dry run answers 200 with the plan and changes nothing", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3 });
    const a = await api(s);
    const { res, message } = await a.start({ set: s.set.name, mode: "force", dryRun: true });
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ dryRun: true, plan: { action: "rotate", targets: { total: 3 }, adoption: { status: "adopted" } } });
    expect(message).toBeUndefined();
    expect(s.credentials()).toHaveLength(1);
    expect(s.vaultCurrent()!.tags["keyId"]).toBeUndefined();
    expect(await s.runtime.journals.listRuns(s.set.name)).toEqual([]);
  });

  it("queues a run (202 + status URL), the worker carries it out, and GET returns its journal without secrets", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 200, targets: 3 });
    const a = await api(s);
    const { res, message } = await a.start({ set: s.set.name, mode: "force" });
    expect(res.status).toBe(202);
    const { runId, statusUrl } = res.jsonBody as { runId: string; statusUrl: string };
    expect(statusUrl).toBe(`/api/rotations/${runId}`);
    expect(message).toEqual({ set: s.set.name, mode: "force", runId, trigger: "http", requestId: (res.jsonBody as { requestId: string }).requestId });
    expect((await a.get(runId)).jsonBody).toMatchObject({ runId, status: "queued" });

    // The same set cannot be rotated twice at once.
    const again = await a.start({ set: s.set.name, mode: "force" });
    expect(again.res.status).toBe(409);
    expect(again.res.jsonBody).toMatchObject({ error: { code: "ROTATION_IN_PROGRESS", runId } });

    const pass = await a.work(message);
    expect(pass?.runId).toBe(runId);
    const journal = (await a.get(runId)).jsonBody as RunJournal;
    expect(journal.status).toBe("waiting");
    expect(journal.steps.map((st) => st.name)).toEqual(["plan", "create", "stash", "verify-entra", "promote", "propagate", "verify-targets", "retire"]);
    expect(journal.targets.every((t) => t.updated && t.verified)).toBe(true);

    // A forced rotation while that run waits out its grace period: 409.
    expect((await a.start({ set: s.set.name, mode: "force" })).res.status).toBe(409);
    // An emergency finishes it now.
    const em = await a.start({ set: s.set.name, mode: "emergency" });
    expect(em.res.status).toBe(202);
    expect((em.res.jsonBody as { runId: string }).runId).toBe(runId);
    expect((await a.work(em.message))?.status).toBe("succeeded");
    expect(s.credentials()).toHaveLength(1);

    expect((await a.get("no-such-run-123")).status).toBe(404);
    s.scanner().collectAll("http", a.responses).collectAll("function log", a.lines).assertClean();
  });

  it("of two simultaneous requests for one set, exactly one is accepted", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 200, targets: 1 });
    const a = await api(s);
    const results = await Promise.all([a.start({ set: s.set.name, mode: "force" }), a.start({ set: s.set.name, mode: "force" })]);
    expect(results.map((r) => r.res.status).sort()).toEqual([202, 409]);
  });

  it("a manual gateway waits for an operator's confirmation before retiring", async () => {
    const s = await Scenario.due(world, { targets: 2, gatewayKind: "manual", overrides: { gateway: { kind: "manual", targets: ["mcp-a", "mcp-b"] } } });
    const a = await api(s);
    const { res, message } = await a.start({ set: s.set.name, mode: "scheduled" });
    const runId = (res.jsonBody as { runId: string }).runId;
    const pass = await a.work(message);
    expect(pass?.status).toBe("awaiting_confirmation");
    expect(pass?.journal.steps.at(-1)?.detail).toMatch(/confirm/);
    expect((await a.confirm(runId, {})).res.status).toBe(400);
    expect((await a.confirm("nope-12345678", { confirmedBy: "alice" })).res.status).toBe(404);

    // The operator pastes the new secret into every server, then confirms.
    const current = s.vaultCurrent()!.value;
    for (const t of s.targets()) world.gateway.setServerSecret(t.id, current);
    const confirmed = await a.confirm(runId, { confirmedBy: "alice@contoso.example" });
    expect(confirmed.res.status).toBe(202);
    const after = await a.work(confirmed.message);
    expect(after?.status).toBe("waiting");
    expect(after?.journal.steps.at(-1)).toMatchObject({ name: "retire", status: "waiting" });
    world.clock.advance(25 * 3_600_000);
    expect((await s.pass()).status).toBe("succeeded");
    s.assertNoOutage("after manual rotation");
    expect((await a.confirm(runId, { confirmedBy: "alice" })).res.status).toBe(409);
  });
});

describe("queue worker and timer", () => {
  it("the timer queues one scheduled message per set", async () => {
    const s = await Scenario.create(world, { targets: 1 });
    const c = ctx("rotationTimer", []);
    const messages = await makeRotationTimerHandler(() => Promise.resolve(s.runtime), queue)({} as never, c);
    expect(messages).toEqual([{ set: s.set.name, mode: "scheduled", trigger: "timer", key: expect.stringMatching(/^tick-/) as string }]);
    expect(c.extraOutputs.get(queue)).toEqual(messages);
  });

  it("a malformed message becomes an incident instead of looping", async () => {
    const incidents: unknown[] = [];
    const s = await Scenario.create(world, { targets: 1 }, { onWorkerIncident: async (i) => void incidents.push(i) });
    const a = await api(s);
    await expect(a.work({ set: s.set.name, mode: "sideways" })).resolves.toBeUndefined();
    expect(incidents).toMatchObject([{ code: "QUEUE_MESSAGE_INVALID" }]);
  });

  it("a message for a set whose pass is already running is done: the lease holder carries the run", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 1 });
    const a = await api(s);
    const blob = s.container.getBlockBlobClient(`leases/${s.set.name}`);
    await blob.upload("", 0);
    const lease = blob.getBlobLeaseClient();
    await lease.acquireLease(-1);
    try {
      await expect(a.work({ set: s.set.name, mode: "scheduled", key: "tick-lease-taken" })).resolves.toBeUndefined();
      expect(a.lines.join("\n")).toMatch(/another pass holds the lease/);
    } finally {
      await lease.releaseLease();
    }
  });

  it("a message that keeps failing is retried by the queue, then becomes an incident on its last delivery", async () => {
    const incidents: { code: string; hint: string }[] = [];
    // The gateway API token was never stored in Key Vault: every delivery fails the same way.
    const s = await Scenario.create(
      world,
      {
        secretExpiresInDays: 5,
        targets: 1,
        overrides: { gateway: { kind: "cequence", baseUrl: world.gateway.url, tenant: world.gatewayTenant, apiTokenSecretName: "missing-gateway-token" } },
      },
      { onWorkerIncident: async (i) => void incidents.push(i), maxDequeueCount: 3 },
    );
    const a = await api(s);
    const msg = { set: s.set.name, mode: "scheduled", key: "tick-keeps-failing" };
    await expect(a.work(msg, 1)).rejects.toMatchObject({ code: "GATEWAY_TOKEN_MISSING" });
    await expect(a.work(msg, 2)).rejects.toMatchObject({ code: "GATEWAY_TOKEN_MISSING" });
    expect(incidents).toEqual([]);
    await expect(a.work(msg, 3)).resolves.toBeUndefined();
    expect(incidents).toMatchObject([{ code: "GATEWAY_TOKEN_MISSING", hint: expect.stringContaining("missing-gateway-token") }]);
  });
});

describe("issue 8, defect 2: lost emergency", () => {
  it("an emergency accepted while another pass holds the lease is recorded before the 202 and applied by the next pass", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 3 });
    const a = await api(s);
    const first = await s.pass();
    expect(first.status).toBe("waiting"); // in its 24 h grace period

    // Another pass holds the set's lease (a timer pass on another instance).
    const lease = await acquireSetLease(s.container, s.set.name, { durationSeconds: 60 });
    const em = await a.start({ set: s.set.name, mode: "emergency" });
    expect(em.res.status).toBe(202);
    const { runId, requestId } = em.res.jsonBody as { runId: string; requestId: string };
    expect(runId).toBe(first.runId);
    const requests = new RequestStore(s.container);
    expect(await requests.get(s.set.name, requestId)).toMatchObject({ status: "pending", mode: "emergency", runId });

    // The worker finds the lease taken: the message is not done, so the queue delivers it again.
    await expect(a.work(em.message)).rejects.toMatchObject({ code: "REQUEST_DEFERRED", retryable: true });
    expect(await requests.get(s.set.name, requestId)).toMatchObject({ status: "pending" });
    await lease.release();

    // Whichever pass holds the lease next — here the daily timer's — acts on it: no grace period.
    const next = await s.pass("scheduled");
    expect(next.runId).toBe(first.runId);
    expect(next.status).toBe("succeeded");
    expect(next.journal.mode).toBe("emergency");
    expect(next.journal.requests).toMatchObject([{ requestId, mode: "emergency" }]);
    expect(await requests.get(s.set.name, requestId)).toMatchObject({ status: "applied", appliedToRunId: first.runId });
    expect(s.credentials()).toHaveLength(1);
    // A redelivered message now finds the request applied and does nothing more.
    expect(await a.work(em.message)).toBeUndefined();
    expect(s.credentials()).toHaveLength(1);
    s.scanner().collectAll("http", a.responses).collectAll("function log", a.lines).assertClean();
  });
});

describe("issue 8, defect 11: lost updates", () => {
  it("a confirmation that lands while a pass is writing the run is neither erased nor lost", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 5, targets: 2, gatewayKind: "manual" });
    const a = await api(s);
    const waiting = await s.pass();
    expect(waiting.status).toBe("awaiting_confirmation");

    // The next pass re-reads the promoted secret slowly; the operator confirms meanwhile.
    world.keyVault.server.faults.add({ route: `^GET /secrets/${s.set.keyVault.secretName}/[0-9a-f]+$`, latencyMs: 700, times: 1 });
    const passing = s.pass();
    await new Promise((r) => setTimeout(r, 250));
    const confirmed = await a.confirm(waiting.runId, { confirmedBy: "alice@example.com" });
    expect(confirmed.res.status).toBe(202);
    const during = await passing;
    // Whatever that pass decided, alice's confirmation is in the journal — and acted on under the same lease.
    const journal = (await a.get(waiting.runId)).jsonBody as RunJournal;
    expect(journal.confirmedBy).toBe("alice@example.com");
    expect(during.status === "succeeded" || during.status === "waiting").toBe(true);
    world.clock.advance(25 * 3_600_000);
    expect((await s.pass()).status).toBe("succeeded");
  });
});

describe("issue 9: the HTTP API never hands out what it should not", () => {
  it("credentials in app-setting URLs: the 202 body and Location header carry no user:password from PUBLIC_BASE_URL", async () => {
    const s = await Scenario.create(world, { targets: 1 });
    const runtime = Object.assign(Object.create(Object.getPrototypeOf(s.runtime) as object) as typeof s.runtime, s.runtime, {
      publicBaseUrl: "https://ops:hunter2-pass@rotator.example.com",
    });
    const start = makeStartRotationHandler(() => Promise.resolve(runtime), queue);
    const res = await start(post("http://localhost/api/rotations", { set: s.set.name, mode: "force" }), ctx("startRotation", []));
    expect(res.status).toBe(202);
    expect((res.headers as Record<string, string>).Location).toMatch(/^https:\/\/rotator\.example\.com\/api\/rotations\//);
    expect(JSON.stringify(res)).not.toContain("hunter2-pass");
  });
});

describe("issue 26, defect 3: replayed queue messages rotate again", () => {
  it("a force message without a recorded request, delivered three times, rotates never; each refusal is an incident", async () => {
    const incidents: { code: string }[] = [];
    const s = await Scenario.create(world, { secretExpiresInDays: 200, targets: 1 }, { onWorkerIncident: async (i) => void incidents.push(i) });
    const a = await api(s);
    const before = s.credentials().length;
    for (let i = 0; i < 3; i++) await expect(a.work({ set: s.set.name, mode: "force" })).resolves.toBeUndefined();
    for (let i = 0; i < 2; i++) await expect(a.work({ set: s.set.name, mode: "emergency", key: "tick-forged-emergency" })).resolves.toBeUndefined();
    expect(s.credentials().length).toBe(before);
    expect(await s.runtime.journals.listRuns(s.set.name)).toEqual([]);
    expect(incidents.map((i) => i.code)).toEqual(Array(5).fill("QUEUE_MESSAGE_INVALID"));
  });

  it("an accepted force request whose message is replayed (also with a forged mode or request ID) makes one new secret", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 200, targets: 1 });
    const a = await api(s);
    const before = s.credentials().length;
    const { message } = await a.start({ set: s.set.name, mode: "force" });
    expect((await a.work(message))?.runId).toBeDefined();
    expect(await a.work(message)).toBeUndefined();
    expect(await a.work(message, 2)).toBeUndefined();
    expect(await a.work({ ...message, mode: "emergency" })).toBeUndefined();
    expect(await a.work({ ...message, requestId: "req-00000000-0000-4000-8000-000000000000" })).toBeUndefined();
    expect(s.credentials().length).toBe(before + 1);
  });

  it("a timer tick's message delivered three times makes one pass; a later tick makes another", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 200, targets: 1 });
    const a = await api(s);
    const tick = async () => (await makeRotationTimerHandler(() => Promise.resolve(s.runtime), queue)({} as never, ctx("rotationTimer", [])))[0]!;
    const first = await tick();
    const passes = [await a.work(first), await a.work(first), await a.work(first, 5)];
    expect(passes.filter((p) => p !== undefined)).toHaveLength(1);
    expect(a.lines.join("\n")).toMatch(/already processed \(a replay\)/);
    expect(await a.work(await tick())).toBeDefined();
  });

  it("a delivery that failed is delivered again and acts; a worker that died mid-pass is taken over only by a later delivery", async () => {
    const s = await Scenario.create(world, { secretExpiresInDays: 200, targets: 1 });
    const a = await api(s);
    let fail = true;
    s.hooks.afterStep = (step) => {
      if (step === "plan" && fail) throw new Error("transient upstream failure");
    };
    const msg = { set: s.set.name, mode: "scheduled", key: "tick-retry-after-failure" };
    await expect(a.work(msg, 1)).rejects.toThrow();
    fail = false;
    expect(await a.work(msg, 2)).toBeDefined();
    // A claim left "started" (the worker died): a copy written to the queue again (count 1) does nothing.
    const claim = JSON.stringify({ key: "tick-died-mid-pass", status: "started", dequeueCount: 1, at: "2026-01-01T00:00:00Z" });
    await s.container.getBlockBlobClient(`messages/${s.set.name}/tick-died-mid-pass.json`).upload(claim, claim.length);
    const died = { set: s.set.name, mode: "scheduled", key: "tick-died-mid-pass" };
    expect(await a.work(died, 1)).toBeUndefined();
    expect(await a.work(died, 2)).toBeDefined();
  });
});

describe("issue 26, defect 9: log lines are unbounded, and can be forged (queue messages)", () => {
  it("a 400 KB set name with a line break and ESC is refused without being logged whole or raw", async () => {
    const s = await Scenario.create(world, { targets: 1 });
    const a = await api(s);
    const set = `${"x".repeat(400 * 1024)}\n[set=${s.set.name}] forged\u001b[2J`;
    await expect(a.work({ set, mode: "scheduled" })).resolves.toBeUndefined();
    await expect(a.work({ set: "nope\n[set=x] forged", mode: "scheduled" })).resolves.toBeUndefined();
    expect(a.lines.length).toBeGreaterThan(0);
    for (const line of a.lines) {
      expect(line.length).toBeLessThanOrEqual(4100);
      expect(line.slice(line.indexOf(" ") + 1)).not.toMatch(/\p{Cc}/u);
    }
  });
});
