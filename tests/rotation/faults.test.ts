import { describe, expect, it } from "vitest";
import type { FaultSpec } from "../../emulators/common/server.js";
import { ProcessCrash } from "../harness/processCrash.js";
import { Scenario, useWorld } from "./harness.js";

/**
 * A fault at every external call the rotation makes — Graph, the token endpoint, Key Vault, the
 * gateway, Storage. While the fault lasts no target may ever hold a secret Entra refuses (I1, read
 * from the gateway emulator's ground truth after every step and pass); once it stops, the next
 * passes converge (I6) with exactly one new credential, every value held (I2), no sprawl (I3) and
 * no secret anywhere in logs or journals (I4).
 */
const world = useWorld();

type Emu = "entra" | "keyVault" | "gateway";
interface FaultCase {
  name: string;
  faults: (s: Scenario) => [Emu, FaultSpec][];
  /** Starts the faults only once this step is done (e.g. retire-time faults need the grace period first). */
  armAfter?: string;
  leaseLoss?: boolean;
}

const cases: FaultCase[] = [
  {
    name: "Graph answers 503 to reading the application",
    faults: () => [["entra", { route: "^GET /v1.0/applications", status: 503, retryAfterSeconds: 0, times: 2 }]],
  },
  { name: "Graph throttles reads with 429 + Retry-After", faults: () => [["entra", { route: "^GET /v1.0/", status: 429, retryAfterSeconds: 1, times: 2 }]] },
  {
    name: "Graph addPassword answers 503 (never retried automatically)",
    faults: () => [["entra", { route: "^POST /v1.0/applications/[^/]+/addPassword$", status: 503, times: 1 }]],
  },
  {
    name: "Graph addPassword creates the credential but the response is lost",
    faults: () => [["entra", { route: "^POST /v1.0/applications/[^/]+/addPassword$", dropAfterHandling: true, times: 1 }]],
  },
  {
    name: "Graph removePassword fails with 500 while retiring",
    armAfter: "verify-targets",
    faults: () => [["entra", { route: "^POST /v1.0/applications/[^/]+/removePassword$", status: 500, times: 6 }]],
  },
  {
    name: "Graph app management policy read fails with 500",
    faults: () => [["entra", { route: "^GET /v1.0/policies/defaultAppManagementPolicy$", status: 500, times: 4 }]],
  },
  {
    name: "token endpoint throttles verification with 429 + Retry-After",
    armAfter: "stash",
    faults: () => [["entra", { route: "^POST /[^/]+/oauth2/v2.0/token$", status: 429, retryAfterSeconds: 1, times: 2 }]],
  },
  {
    name: "token endpoint drops connections during verification",
    armAfter: "stash",
    faults: () => [["entra", { route: "^POST /[^/]+/oauth2/v2.0/token$", drop: true, times: 3 }]],
  },
  {
    name: "token endpoint answers 503 during verification",
    armAfter: "stash",
    faults: () => [["entra", { route: "^POST /[^/]+/oauth2/v2.0/token$", status: 503, times: 4 }]],
  },
  {
    name: "Key Vault refuses the pending secret (rollback of the new credential)",
    faults: (s) => [["keyVault", { route: `^PUT /secrets/${s.set.keyVault.secretName}-pending$`, status: 500, times: 12 }]],
  },
  {
    name: "Key Vault throttles the promotion with 429 + Retry-After",
    faults: (s) => [["keyVault", { route: `^PUT /secrets/${s.set.keyVault.secretName}$`, status: 429, retryAfterSeconds: 1, times: 2 }]],
  },
  { name: "Key Vault fails to disable versions (PATCH 503)", faults: () => [["keyVault", { route: "^PATCH /secrets/", status: 503, times: 6 }]] },
  { name: "Key Vault drops reads", faults: () => [["keyVault", { route: "^GET /secrets/", drop: true, times: 2 }]] },
  {
    name: "gateway throttles updates with 429 + Retry-After",
    armAfter: "promote",
    faults: () => [["gateway", { route: "^PATCH /mcp-servers/[^/]+/authentication$", status: 429, retryAfterSeconds: 1, times: 4 }]],
  },
  {
    name: "gateway update keeps failing with 500 for a while",
    armAfter: "promote",
    faults: () => [["gateway", { route: "^PATCH /mcp-servers/[^/]+/authentication$", status: 500, times: 15 }]],
  },
  {
    name: "gateway applies an update but the response is lost",
    armAfter: "promote",
    faults: () => [["gateway", { route: "^PATCH /mcp-servers/[^/]+/authentication$", dropAfterHandling: true, times: 2 }]],
  },
  { name: "gateway listing answers 503", faults: () => [["gateway", { route: "^GET /mcp-servers$", status: 503, times: 5 }]] },
  {
    name: "gateway test connection fails",
    armAfter: "propagate",
    faults: () => [["gateway", { route: "^POST /mcp-servers/[^/]+/authentication/test$", status: 500, times: 6 }]],
  },
  { name: "Storage: the set's lease is lost in the middle of a run", leaseLoss: true, faults: () => [] },
];

describe("faults at every external call", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: no outage while it lasts, convergence after", async (_name, fc) => {
    const s = await Scenario.create(
      world,
      { secretExpiresInDays: 5, targets: 4, otherTargets: 1 },
      { httpTimeoutInMs: 2_000, lease: { durationSeconds: 15, renewEveryMs: fc.leaseLoss ? 100 : 5_000 } },
    );
    const emus = { entra: world.entra, keyVault: world.keyVault, gateway: world.gateway };
    const arm = (): void => {
      for (const [emu, spec] of fc.faults(s)) emus[emu].server.faults.add(spec);
    };
    let armed = false;
    if (!fc.armAfter && !fc.leaseLoss) {
      arm();
      armed = true;
    }
    s.hooks.afterStep = async (step) => {
      s.assertNoOutage(`after ${step}`);
      if (!armed && step === fc.armAfter) {
        arm();
        armed = true;
      }
      if (!armed && fc.leaseLoss && step === "promote") {
        // Another instance breaks the lease; the renewal fails and the run must stop writing.
        armed = true;
        await s.expireLease();
        await new Promise((r) => setTimeout(r, 400));
      }
    };

    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        const r = await s.pass();
        statuses.push(r.status);
        if (r.journal.steps.at(-1)?.name === "retire" && r.status === "waiting") world.clock.advance(25 * 3_600_000);
        if (["succeeded", "failed"].includes(r.status)) break;
      } catch (e) {
        if (e instanceof ProcessCrash) throw e;
        statuses.push((e as { code?: string }).code ?? "error");
        await s.expireLease();
      }
      s.assertNoOutage(`after pass ${i + 1} under fault`);
    }
    expect(armed).toBe(true);

    for (const emu of Object.values(emus)) emu.server.faults.clear();
    s.hooks.afterStep = (step) => s.assertNoOutage(`after ${step} (faults over)`);
    const final = await s.runToEnd();
    expect(["succeeded", "noop"]).toContain(final.status);
    const state = await s.runtime.journals.readState(s.set.name);
    expect(state.lastSuccessAt, `statuses under fault: ${statuses.join(", ")}`).toBeDefined();
    expect(s.createdCredentials()).toHaveLength(1);
    expect(s.credentials()).toHaveLength(1);
    expect(s.vaultCurrent()!.tags["keyId"]).toBe(s.createdCredentials()[0]!.keyId);
    expect(s.targets().every((t) => t.clientSecret === s.vaultCurrent()!.value)).toBe(true);
    s.assertNoOutage("at the end");
    s.assertSettled("at the end");
    (await s.scanJournals(s.scanner())).assertClean();
  });
});
