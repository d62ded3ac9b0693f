import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvocationContext } from "@azure/functions";
import { World } from "../harness/world.js";
import { makeRotationWorkerHandler } from "../../src/handlers/rotationWorker.js";
import { REDACTED } from "../../src/redact.js";
import { Scenario } from "../rotation/harness.js";

let world: World;
beforeAll(async () => {
  world = await World.start();
});
afterAll(async () => {
  await world?.stop();
});

/** The real InvocationContext: its log handler is where the Functions host takes our lines. */
function ctx(functionName: string, lines: string[]): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: `${functionName}-1`,
    triggerMetadata: { dequeueCount: 1 },
    logHandler: (level, ...args) => lines.push(`${level} ${args.join(" ")}`),
  });
}

describe("handlers log through the runtime's redactor", () => {
  it("production redaction: a known secret value logged inside the queue handler comes out redacted", async () => {
    const s = await Scenario.create(world, { targets: 1, otherTargets: 0 });
    const current = world.keyVault.heldValues(s.set.keyVault.secretName).at(-1)!;
    // An upstream error that echoes the secret (as SDK errors echoing a request body do), raised
    // after plan read the current value from Key Vault — the runtime's redactor knows it by then.
    s.hooks.afterStep = (step) => {
      if (step === "plan") throw new Error(`upstream answered 500 and echoed the request: ${current}`);
    };
    const lines: string[] = [];
    const worker = makeRotationWorkerHandler(() => Promise.resolve(s.runtime));
    const thrown = await worker(
      JSON.stringify({ set: s.set.name, mode: "scheduled", trigger: "timer", key: "tick-redaction-test" }),
      ctx("rotationWorker", lines),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(thrown).toBeInstanceOf(Error);
    const echoed = lines.filter((l) => l.includes("echoed the request"));
    expect(echoed.length).toBeGreaterThan(0);
    for (const l of echoed) expect(l).toContain(REDACTED);
    expect((thrown as Error).message).toContain(REDACTED);
    expect(s.scanner().collectAll("function log", lines).collect("thrown to the host", thrown).assertClean()).toBeGreaterThan(0);
  });
});
