import { describe, expect, inject, it } from "vitest";
import { runMixedEstate } from "../scripts/demoMixedEstate.js";
import { runTsx } from "./helpers/runScript.js";

/**
 * Issue 24's acceptance: `npm run demo -- --scenario mixed-estate`, run in-process against the
 * suite's Azurite. One set's secret on the gateway, in API Management (credential manager and a Key
 * Vault-backed named value), in a Function app's Key Vault reference and in a Kong plugin: every kind
 * is proven from the journal AND seen on the new secret by its emulator, and the old secret is
 * retired. A consumer that keeps the old secret makes the run exit 1 naming it.
 */
const storageConnectionString = inject("storageConnectionString");
const KINDS = ["cequence", "apim-credential-manager", "apim-named-value", "appservice-keyvault-reference", "kong-openid-connect"];

describe("npm run demo -- --scenario mixed-estate", () => {
  it("rotates, proves every kind from the journal and the emulators' ground truth, retires the old secret, leaks nothing, and exits 0", async () => {
    const { code, lines, report } = await runMixedEstate({ storageConnectionString });
    expect(code, lines.join("\n")).toBe(0);
    expect(report).toMatchObject({ converged: true, status: "succeeded", previousRetired: true, othersUntouched: 2, secretLeaks: 0, error: null });
    const kinds = report["kinds"] as Record<string, { targets: number; proven: number; proof: string[]; stale: string[]; ok: boolean }>;
    expect(Object.keys(kinds).sort()).toEqual([...KINDS].sort());
    expect(kinds).toMatchObject({
      cequence: { targets: 3, proven: 3, proof: ["fingerprint"], onNewSecret: 3, ok: true },
      "apim-credential-manager": { targets: 2, proven: 2, proof: ["status"], onNewSecret: 2, ok: true },
      "apim-named-value": { targets: 1, proven: 1, proof: ["status"], onNewSecret: 1, ok: true },
      "appservice-keyvault-reference": { targets: 1, proven: 1, proof: ["version"], onNewSecret: 1, ok: true },
      "kong-openid-connect": { targets: 1, proven: 1, proof: ["fingerprint"], onNewSecret: 1, ok: true },
    });
    const text = lines.join("\n");
    for (const k of KINDS) expect(text).toMatch(new RegExp(`PROVEN\\s+${k}\\b`));
    expect(text).toMatch(/retired at Entra/);
    expect(text).toMatch(/CONVERGED: every kind proven/);
  }, 120_000);

  it.each([
    ["kong-openid-connect", "oidc-orders", "CANARY_FAILED"],
    ["appservice-keyvault-reference", "orders-func/SSO_CLIENT_SECRET", "TARGET_REFRESH_FAILED"],
  ] as const)(
    "a %s consumer that keeps the old secret holds retirement: exit 1, the kind not proven, the consumer named in the incident",
    async (kind, consumer, errorCode) => {
      const { code, lines, report } = await runMixedEstate({ stuck: kind, storageConnectionString });
      expect(code).toBe(1);
      expect(report).toMatchObject({
        converged: false,
        status: "failed",
        previousRetired: false,
        stuck: { kind, consumer, named: true },
        error: { code: errorCode, message: expect.stringContaining(consumer) },
        incident: { check: "run-failure" },
        secretLeaks: 0,
      });
      const kinds = report["kinds"] as Record<string, { ok: boolean; stale: string[] }>;
      expect(kinds[kind]).toMatchObject({ ok: false, stale: [consumer] });
      // The other groups were not held back: every other consumer uses the new secret (ground truth).
      for (const other of KINDS.filter((k) => k !== kind)) expect(kinds[other]!.stale, other).toEqual([]);
      expect(lines.join("\n")).toMatch(new RegExp(`HELD\\s+${kind}.*stale: ${consumer.replace("/", "\\/")}`));
      expect(lines.join("\n")).toMatch(`Retirement held by ${consumer}: named in the incident`);
    },
    120_000,
  );

  it("--stuck without --scenario mixed-estate, or with an unknown kind, is a usage error (exit 2)", async () => {
    const alone = await runTsx(["scripts/demo.ts", "--stuck", "kong-openid-connect"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--stuck goes with --scenario mixed-estate/);
    const unknown = await runTsx(["scripts/demo.ts", "--scenario", "mixed-estate", "--stuck", "cequence"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/takes one of apim-credential-manager, apim-named-value, appservice-keyvault-reference, kong-openid-connect/);
  }, 60_000);
});
