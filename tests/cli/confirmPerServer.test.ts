import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HttpRequest, InvocationContext, output } from "@azure/functions";
import type { ContainerClient } from "@azure/storage-blob";
import { World, freshContainer, type SeededSet } from "../harness/world.js";
import { makeConfirmRotationHandler } from "../../src/handlers/rotations.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { silentLogger } from "../../src/logging.js";
import { operatorSettings, runInProcess, type CliRun } from "./harness.js";

/**
 * Manual gateways, guided (issue 25): an operator confirms the MCP servers one by one, from the CLI
 * (`confirm <runId> --target <name>`) or the HTTP API (`"target"`); the journal keeps who and when
 * per server, `status` shows k/N with the ones still to do, the incident lists only those, and
 * retirement waits for the last one. Ground truth is the Entra emulator's credential list.
 */
const SERVERS = ["manual-srv-a", "manual-srv-b", "manual-srv-c"];
let world: World;
let container: ContainerClient;
let manual: SeededSet;
let env: Record<string, string>;
let host: BuiltRuntime;
const outputs: string[] = [];
const HOUR = 3_600_000;

async function cli(...args: string[]): Promise<CliRun> {
  const r = await runInProcess([...args, "--json"], env);
  outputs.push(r.stdout, r.stderr);
  return r;
}

const credentialKeyIds = () => world.entra.passwordCredentials(manual.appObjectId).map((c) => c.keyId);

beforeAll(async () => {
  world = await World.start({ replicationDelayMs: 0, receivers: true });
  manual = world.seedSet({
    name: "by-hand",
    secretExpiresInDays: 10,
    targets: 0,
    otherTargets: 0,
    alerts: { webhook: "info" },
    overrides: { gateway: { kind: "manual", targets: SERVERS } },
  });
  container = await freshContainer(inject("storageConnectionString"));
  env = operatorSettings(world, container, inject("storageConnectionString"), [manual]);
  for (const k of ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"]) process.env[k] = env[k];
  host = world.runtime([manual.set], container);
});

afterAll(async () => {
  await world?.stop();
  const scan = new SecretScanner().addSecrets(world.secrets()).collectAll("cli output", outputs);
  expect(scan.leaks()).toEqual([]);
});

describe("manual gateway: confirmed server by server", () => {
  it("the run goes on only when every server is confirmed; journal, status, incident and retirement follow each confirmation", async () => {
    const rotate = await cli("rotate", "--set", "by-hand");
    const [outcome] = rotate.json["sets"] as { runId: string; status: string }[];
    expect(outcome!.status).toBe("awaiting_confirmation");
    const runId = outcome!.runId;
    const oldKeyId = manual.handMade.keyId;

    // One server from the CLI: the run still waits, and says for which two.
    const first = await cli("confirm", runId, "--target", "manual-srv-a", "--by", "alice");
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ target: "manual-srv-a", status: "awaiting_confirmation", unconfirmed: ["manual-srv-b", "manual-srv-c"] });

    // One from the HTTP API, with the same rule.
    const confirm = makeConfirmRotationHandler(
      () => Promise.resolve(host),
      output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" }),
    );
    const res = await confirm(
      new HttpRequest({
        method: "POST",
        url: `http://localhost/api/rotations/${runId}/confirm`,
        params: { runId },
        body: { string: JSON.stringify({ confirmedBy: "bob@contoso.example", target: "manual-srv-b" }) },
        headers: { "content-type": "application/json" },
      }),
      new InvocationContext({ functionName: "confirm", invocationId: "c-1" }),
    );
    expect(res.status).toBe(202);
    // The queued message's pass (the rotation worker's), run here by hand: it pauses again for the third server.
    expect((await cli("rotate", "--set", "by-hand")).json).toMatchObject({ sets: [{ status: "awaiting_confirmation" }] });

    // An unknown server is refused, naming the ones still to do.
    const unknown = await cli("confirm", runId, "--target", "no-such-server", "--by", "alice");
    expect(unknown.code).toBe(2);
    expect(unknown.json).toMatchObject({ error: { code: "CONFIRM_TARGET_UNKNOWN", hint: expect.stringMatching(/manual-srv-c/) } });

    // Journal: who and when per server; status: 2/3 confirmed, the third to do.
    const journal = (await host.journals.findRun(runId))!;
    expect(journal.status).toBe("awaiting_confirmation");
    const rec = (name: string) => journal.targets.find((t) => t.name === name)!;
    expect(rec("manual-srv-a")).toMatchObject({ confirmedBy: "alice", confirmedAt: expect.any(String), verified: true, proof: "operator" });
    expect(rec("manual-srv-b")).toMatchObject({ confirmedBy: "bob@contoso.example", confirmedAt: expect.any(String) });
    expect(rec("manual-srv-c")).toMatchObject({ verified: false, awaitingOperator: true });
    expect(rec("manual-srv-c").confirmedBy).toBeUndefined();
    const status = await cli("status", "--set", "by-hand");
    expect(status.json).toMatchObject({
      sets: [
        {
          byHand: {
            confirmed: [
              { name: "manual-srv-a", by: "alice" },
              { name: "manual-srv-b", by: "bob@contoso.example" },
            ],
            unconfirmed: ["manual-srv-c"],
          },
        },
      ],
    });
    expect(status.stderr).toMatch(/by hand\s+2\/3 MCP servers confirmed/);
    expect(status.stderr).toMatch(/to confirm\s+manual-srv-c/);

    // The incident lists only the server still to do, with its console path.
    const incident = (await host.alerting.manager.listOpen("by-hand")).find((i) => i.check === "rotation");
    expect(incident?.evidence).toMatchObject({
      targets: ["manual-srv-c"],
      consolePaths: [expect.stringMatching(/MCP servers → manual-srv-c → Authentication/)],
    });

    // Retirement waits: a day later, two of three confirmed, the timer's pass leaves the old secret on the app.
    world.clock.advance(25 * HOUR);
    const timerPass = async () => (await host.createRunner(manual.set, silentLogger)).runPass({ mode: "scheduled", trigger: "timer" });
    expect((await timerPass()).status).toBe("awaiting_confirmation");
    expect(credentialKeyIds()).toContain(oldKeyId);

    // The last one: the run goes on to its grace period; past it (nobody presenting the old key), the timer's pass retires it.
    const last = await cli("confirm", runId, "--target", "manual-srv-c", "--by", "carol", "--wait");
    expect(last.code, last.stderr).toBe(0);
    expect(last.json).toMatchObject({ unconfirmed: [], status: "waiting", step: "retire" });
    expect(credentialKeyIds()).toContain(oldKeyId);
    // The CLI's grace period ran on the system clock (a day from now); the host's clock is 25 h ahead already.
    world.clock.advance(25 * HOUR);
    expect((await timerPass()).status).toBe("succeeded");
    expect(credentialKeyIds()).not.toContain(oldKeyId);
    const finished = (await host.journals.findRun(runId))!;
    expect(finished.status).toBe("succeeded");
    expect(finished.targets.map((t) => [t.name, t.confirmedBy])).toEqual([
      ["manual-srv-a", "alice"],
      ["manual-srv-b", "bob@contoso.example"],
      ["manual-srv-c", "carol"],
    ]);
  }, 120_000);
});
