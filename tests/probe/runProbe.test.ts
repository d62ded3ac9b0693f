import { beforeEach, describe, expect, test, inject } from "vitest";
import { ProbeResultStore } from "../../src/probe/store.js";
import type { CheckId } from "../../src/probe/model.js";
import { freshContainer } from "../harness/world.js";
import { check, probeWorldPerTest, statuses, type ProbeWorld } from "./harness.js";

/**
 * The probe as a whole: a dependency that hangs fails only the checks that cannot do without it
 * (status "error", code TIMEOUT) and the rest of the report still arrives; a cancelled probe
 * still answers; reports are stored per set.
 */
const startProbeWorld = probeWorldPerTest();
let w: ProbeWorld;
beforeEach(async () => {
  w = await startProbeWorld({ targets: 2 });
});

function erroredChecks(report: Awaited<ReturnType<ProbeWorld["probe"]>>): CheckId[] {
  return report.checks.filter((c) => c.status === "error").map((c) => c.id);
}

describe("hanging dependencies", () => {
  const short = { timeoutInMs: 1_500 };

  test("a hanging Key Vault fails only the token check, with code TIMEOUT", async () => {
    w.world.keyVault.server.faults.add({ route: "^GET /secrets/", hang: true });
    const report = await w.probe(short);

    expect(erroredChecks(report)).toEqual(["token"]);
    const token = check(report, "token");
    expect(token).toMatchObject({ status: "error", severity: "error", code: "TIMEOUT" });
    expect(token.summary).toContain(`Key Vault secret ${w.set.keyVault.secretName}`);
    // Checks that can do without the secret say so instead of failing.
    expect(check(report, "expiry").evidence["keyVaultSecret"]).toBe("unavailable (TIMEOUT)");
    expect(check(report, "gateway-drift")).toMatchObject({ status: "pass" });
    expect(check(report, "gateway-drift").evidence["keyVaultSecret"]).toBe("unavailable (TIMEOUT)");
    expect(report.ok).toBe(false);
  });

  test("a hanging gateway listing fails only gateway-drift", async () => {
    w.world.gateway.server.faults.add({ route: "^GET /mcp-servers", hang: true });
    const report = await w.probe(short);

    expect(erroredChecks(report)).toEqual(["gateway-drift"]);
    expect(check(report, "gateway-drift")).toMatchObject({ code: "TIMEOUT" });
    for (const id of ["discovery", "token", "authorize", "app-registration"] as const) {
      expect(check(report, id).status).toBe("pass");
      expect(check(report, id).evidence["gatewayTargets"]).toBe("unavailable (TIMEOUT)");
    }
  });

  test("a hanging Graph policy read fails only the policy check", async () => {
    w.world.entra.server.faults.add({ route: "^GET /v1.0/policies/defaultAppManagementPolicy$", hang: true });
    const report = await w.probe(short);
    expect(erroredChecks(report)).toEqual(["policy"]);
    expect(check(report, "policy")).toMatchObject({ status: "error", code: "TIMEOUT" });
    expect(check(report, "policy").summary).toMatch(/reading the app management policy of .* did not finish within \d+ ms/);
    // The expiry check shares the policy read and does without it: the configured lifetime decides its window.
    expect(check(report, "expiry").status).toBe("pass");
    expect(check(report, "expiry").evidence["appManagementPolicy"]).toBe("unavailable (TIMEOUT)");
  });

  test("a hanging authorize endpoint fails only the authorize check", async () => {
    w.world.entra.server.faults.add({ route: "^GET /[^/]+/oauth2/v2.0/authorize$", hang: true });
    const report = await w.probe(short);
    expect(erroredChecks(report)).toEqual(["authorize"]);
    expect(check(report, "authorize").code).toBe("TIMEOUT");
  });

  test("a cancelled probe still answers, every check marked ABORTED", async () => {
    const ac = new AbortController();
    ac.abort();
    const report = await w.probe({ abortSignal: ac.signal });
    expect(report.checks).toHaveLength(9);
    expect(new Set(report.checks.map((c) => c.code))).toEqual(new Set(["ABORTED"]));
  });
});

describe("Entra answering errors", () => {
  test("a token endpoint that keeps answering 503 makes the token check an error, not a failure", async () => {
    // Warm the operator credential's token cache first: the fault must only hit the probe's own request.
    await w.probe({ checks: ["app-registration"] });
    w.world.entra.server.faults.add({ route: `^POST /${w.world.tenantId}/oauth2/v2.0/token$`, status: 503 });
    const token = check(await w.probe({ checks: ["token"] }), "token");
    expect(token).toMatchObject({ status: "error", code: "ENTRA_UNAVAILABLE" });
  });
});

describe("selection and storage", () => {
  test("only the requested checks run", async () => {
    const report = await w.probe({ checks: ["policy", "discovery"] });
    expect(report.checks.map((c) => c.id)).toEqual(["discovery", "policy"]);
  });

  test("the report is stored as the set's latest and reads back unchanged", async () => {
    const container = await freshContainer(inject("storageConnectionString"), "probes");
    const store = new ProbeResultStore(container, w.redactor);
    const report = await w.probe({ deps: { store } });
    expect(report.storeError).toBeUndefined();
    expect(await store.latest(w.set.name)).toEqual(report);
    expect(await container.getBlockBlobClient(`probes/${w.set.name}/latest.json`).exists()).toBe(true);
    expect(await store.latest("another-set")).toBeUndefined();
  });

  test("the log line names the set and the checks that did not pass", async () => {
    await w.probe();
    w.world.entra.seedConsent(w.set.clientId, null);
    const report = await w.probe();
    expect(statuses(report)["app-registration"]).toBe("fail");
    expect(w.logLines.at(-1)).toMatch(new RegExp(`^info \\[set=${w.set.name}\\] probe NOT ok in \\d+ ms: app-registration=fail/error$`));
  });
});
