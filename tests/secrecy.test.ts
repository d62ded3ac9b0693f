import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HttpRequest, InvocationContext, type HttpResponseInit } from "@azure/functions";
import type { ContainerClient } from "@azure/storage-blob";
import { World, freshContainer, type SeededSet } from "./harness/world.js";
import { makeHealthHandler, makeStatusHandler } from "../src/handlers/health.js";
import { makeGetRotationHandler } from "../src/handlers/rotations.js";
import { memoryLogger } from "../src/logging.js";
import type { PassResult } from "../src/rotation/model.js";
import type { BuiltRuntime } from "../src/runtime/createRuntime.js";
import { pendingSecretName } from "../src/rotation/policy.js";
import { SecretScanner } from "./helpers/secretScan.js";

/**
 * Issue 9 acceptance: a rotation against a gateway and a Key Vault that echo the secret in every
 * error body — raw, cut at every offset, base64, base64url, URL-encoded and JSON-escaped (the
 * emulators' `echo` fault) — leaves no fragment of 8 characters or more of any secret in logs,
 * journals, state, incidents (every blob the service wrote), HTTP answers and the payloads all five
 * alert channels received. The scan decodes what it reads (JSON escapes, percent-encoding, base64
 * at every alignment) rather than re-encoding secrets, so it does not share the redactor's method.
 */
let world: World;
let seeded: SeededSet;
let container: ContainerClient;
let runtime: BuiltRuntime;
const mem = { lines: [] as string[] };
const answers: HttpResponseInit[] = [];
const passes: PassResult[] = [];

beforeAll(async () => {
  world = await World.start({ receivers: true });
  seeded = world.seedSet({
    name: "secrecy",
    secretExpiresInDays: 5,
    targets: 3,
    otherTargets: 0,
    alerts: { teams: "info", slack: "info", pagerduty: "info", opsgenie: "info", webhook: "info" },
  });
  container = await freshContainer(inject("storageConnectionString"));
  runtime = world.runtime([seeded.set], container, { alerting: { resolveAfterHealthy: 1, repeatIntervalMs: 1 } });
});
afterAll(async () => {
  await world?.stop();
});

const ctx = (lines: string[]) =>
  new InvocationContext({ functionName: "api", invocationId: "api", logHandler: (l, ...a) => lines.push(`${l} ${a.join(" ")}`) });

describe("secrecy under echoing upstreams", () => {
  it("finds no fragment of 8+ characters of any secret anywhere the service writes or sends", async () => {
    const { logger, lines } = memoryLogger(runtime.redactor);
    mem.lines = lines;
    const runner = await runtime.createRunner(seeded.set, logger);
    const pass = async () => {
      const r = await runner.runPass({ mode: "force", trigger: "queue" });
      passes.push(r);
      return r;
    };
    const gw = world.gateway.server.faults;
    const kv = world.keyVault.server.faults;
    const name = seeded.set.keyVault.secretName;

    // 1. The gateway's listing echoes the request (its Authorization header: the API token).
    gw.add({ route: "^GET /.*mcp-servers$", echo: true, status: 400 });
    expect((await pass()).status).toBe("failed");
    gw.clear();

    // 2. Key Vault echoes the current client secret when it is read.
    kv.add({ route: `^GET /secrets/${name}/?$`, echo: true, status: 403, echoExtra: [seeded.handMade.secretText] });
    expect((await pass()).status).toBe("failed");
    kv.clear();

    // 3. Key Vault echoes the stash request: the NEW secret, in every shape.
    kv.add({ route: `^PUT /secrets/${pendingSecretName(name)}$`, echo: true, status: 400 });
    expect((await pass()).status).toBe("failed");
    kv.clear();

    // 4. The gateway echoes every secret update (the new secret) while propagating.
    gw.add({ route: "^PATCH /.*authentication$", echo: true, status: 400 });
    const propagating = await pass();
    expect(["failed", "waiting", "needs_attention"]).toContain(propagating.status);
    gw.clear();

    // 5. Faults stop: the service converges.
    let last = await pass();
    for (let i = 0; i < 6 && !["succeeded", "needs_attention", "failed"].includes(last.status); i++) {
      world.clock.advance(25 * 3_600_000);
      last = await pass();
    }
    expect(world.gateway.server.requests.filter((r) => r.fault !== undefined).length).toBeGreaterThan(0);
    expect(world.keyVault.server.requests.filter((r) => r.fault !== undefined).length).toBeGreaterThan(0);

    // HTTP answers: every run's journal, /api/status, /api/health.
    const apiLines: string[] = [];
    const provider = () => Promise.resolve(runtime);
    for (const runId of await runtime.journals.listRuns(seeded.set.name)) {
      answers.push(
        await makeGetRotationHandler(provider)(
          new HttpRequest({ method: "GET", url: `http://localhost/api/rotations/${runId}`, params: { runId } }),
          ctx(apiLines),
        ),
      );
    }
    answers.push(await makeStatusHandler(provider)(new HttpRequest({ method: "GET", url: "http://localhost/api/status" }), ctx(apiLines)));
    answers.push(await makeHealthHandler(provider)(new HttpRequest({ method: "GET", url: "http://localhost/api/health" }), ctx(apiLines)));

    const scan = new SecretScanner().addSecrets([...world.entra.issuedSecrets(), world.gatewayApiToken, world.operator.secret, seeded.handMade.secretText]);
    scan.collectAll("log", lines).collectAll("api log", apiLines).collectAll("pass", passes).collectAll("http answer", answers);
    let blobs = 0;
    for await (const b of container.listBlobsFlat()) {
      scan.collect(`blob ${b.name}`, (await container.getBlobClient(b.name).downloadToBuffer()).toString("utf8"));
      blobs++;
    }
    const rx = world.receivers!;
    const received = {
      teams: rx.teams.accepted(),
      slack: rx.slack.accepted(),
      pagerduty: rx.pagerduty.accepted(),
      opsgenie: rx.opsgenie.accepted(),
      webhook: rx.webhook.accepted(),
    };
    for (const [kind, list] of Object.entries(received)) {
      expect(list.length, `${kind} received nothing`).toBeGreaterThan(0);
      scan.collectAll(`${kind} payload`, list);
    }
    scan.collectAll("rejected payload", [
      ...rx.teams.rejected(),
      ...rx.slack.rejected(),
      ...rx.pagerduty.rejected(),
      ...rx.opsgenie.rejected(),
      ...rx.webhook.rejected(),
    ]);
    for (const s of world.keyVault.state.listSecrets())
      scan.collectAll(
        `vault tags ${s.name}`,
        world.keyVault.versions(s.name).map((v) => v.tags),
      );

    expect(blobs).toBeGreaterThan(5);
    // Some error text from the echoing upstreams did reach the outputs (so the scan looked at it).
    expect(JSON.stringify(passes)).toMatch(/EchoedInput|Could not process the request/);
    const scanned = scan.assertNoFragments();
    console.log(
      `secrecy scan: ${scanned} texts (${blobs} blobs, ${lines.length} log lines, ${answers.length} HTTP answers, ${Object.values(received).reduce((n, l) => n + l.length, 0)} channel payloads), 0 fragments`,
    );
  });
});
