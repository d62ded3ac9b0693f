import functions, { type Timer } from "@azure/functions";
import type { ContainerClient } from "@azure/storage-blob";
import { DAY_MS } from "../../src/clock.js";
import { BREAK_RECIPES } from "../harness/breakRecipes.js";
import type { World, SeededSet } from "../harness/world.js";
import { makeHealthTimerHandler } from "../../src/handlers/health.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import { silentLogger } from "../../src/logging.js";

const { InvocationContext } = functions;

/**
 * Brings one credential set into the states on-call meets, through the real engine only: rotation
 * passes of the runner and the health timer as the host runs them. Nothing is written by hand.
 */
export interface StatedSet {
  seeded: SeededSet;
  runtime: BuiltRuntime;
}

export const logLines: string[] = [];
const ctx = (name: string) =>
  new InvocationContext({ functionName: name, invocationId: `${name}-${Date.now()}`, logHandler: (l, ...a) => logLines.push(`${l} ${a.join(" ")}`) });

async function healthTimer(runtime: BuiltRuntime): Promise<void> {
  await makeHealthTimerHandler(() => Promise.resolve(runtime))({ isPastDue: false } as unknown as Timer, ctx("healthTimer"));
}

async function pass(runtime: BuiltRuntime, seeded: SeededSet, mode: "scheduled" | "force" | "emergency" = "scheduled") {
  const runner = await runtime.createRunner(seeded.set, silentLogger);
  return runner.runPass({ mode, trigger: "timer" });
}

function seed(world: World, name: string, targets = 6): SeededSet {
  const seeded = world.seedSet({ name, secretExpiresInDays: 10, targets, otherTargets: 1 });
  // A secret somebody made by hand for a script years ago: shown on the timeline, never touched.
  const now = world.clock.now().getTime();
  world.entra.seedPassword(seeded.appObjectId, {
    displayName: "legacy reporting script",
    startDateTime: new Date(now - 200 * DAY_MS).toISOString(),
    endDateTime: new Date(now + 40 * DAY_MS).toISOString(),
  });
  return seeded;
}

/** Rotated, grace period over, previous retired, six quiet daily passes since, probe green. */
export async function healthySet(world: World, container: ContainerClient, name: string): Promise<StatedSet> {
  const seeded = seed(world, name);
  const runtime = world.runtime([seeded.set], container);
  const first = await pass(runtime, seeded);
  if (first.status !== "waiting") throw new Error(`first pass ended ${first.status}`);
  world.clock.advance((seeded.set.secret.gracePeriodHours + 1) * 3_600_000);
  const second = await pass(runtime, seeded);
  if (second.status !== "succeeded") throw new Error(`second pass ended ${second.status}`);
  // Six daily timer passes since (more than the page lists), each a no-op run with a journal of its own.
  for (let day = 1; day <= 6; day++) {
    world.clock.advance(86_400_000);
    const noop = await pass(runtime, seeded);
    if (noop.status !== "noop") throw new Error(`daily pass ended ${noop.status}`);
  }
  await healthTimer(runtime);
  return { seeded, runtime };
}

/** Promoted and propagated, waiting out the grace period with the previous secret still valid. */
export async function midRotationSet(world: World, container: ContainerClient, name: string): Promise<StatedSet> {
  const seeded = seed(world, name);
  const runtime = world.runtime([seeded.set], container);
  const first = await pass(runtime, seeded);
  if (first.status !== "waiting") throw new Error(`first pass ended ${first.status}`);
  await healthTimer(runtime);
  return { seeded, runtime };
}

/** Rotated, then an administrator breaks every server's redirect URI (AADSTS50011): the probe fails. */
export async function failingSet(world: World, container: ContainerClient, name: string): Promise<StatedSet> {
  const seeded = seed(world, name);
  const runtime = world.runtime([seeded.set], container);
  await pass(runtime, seeded, "emergency");
  const clients = await runtime.clientsFor(seeded.set);
  await BREAK_RECIPES["50011"]!.apply({ world, set: seeded.set, appObjectId: seeded.appObjectId, clients });
  await healthTimer(runtime);
  return { seeded, runtime };
}
