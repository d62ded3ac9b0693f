import { describe, expect, it } from "vitest";
import { pendingSecretName } from "../../src/rotation/policy.js";
import { assertStashedValue, sealSecret } from "../../src/rotation/secretCheck.js";
import { Scenario, useWorld } from "./harness.js";

const VALUE = "Ab3Q~stashed-value-0123456789abcdefghijk";

describe("stashed-value check", () => {
  it("accepts the stashed value and refuses another value with the same hint, naming neither", () => {
    const seal = sealSecret(VALUE);
    expect(JSON.stringify(seal)).not.toContain(VALUE.slice(0, 8));
    expect(() => assertStashedValue(VALUE, { keyId: "k1", hint: "Ab3", seal }, "v1")).not.toThrow();
    const other = `Ab3${"Z".repeat(VALUE.length - 3)}`;
    const err = (() => {
      try {
        assertStashedValue(other, { keyId: "k1", hint: "Ab3", seal }, "v1");
      } catch (e) {
        return e as Error & { code: string };
      }
      throw new Error("expected a mismatch");
    })();
    expect(err.code).toBe("VAULT_VALUE_CHANGED");
    expect(err.message).not.toContain(other.slice(0, 8));
    expect(() => assertStashedValue("Xy9different-value", { keyId: "k1", hint: "Ab3" }, "v1")).toThrow(/first characters differ/);
  });
});

describe("a resumed pass reads back the stashed value", () => {
  const world = useWorld();

  it("a changed Key Vault value goes unnoticed: a different value under the same keyId fails with VAULT_VALUE_CHANGED and an incident, instead of waiting", async () => {
    const { s, first } = await Scenario.waitingForReplication(world, 2);
    try {
      // Ground truth changes under the run: same version, same tags, another value with the same hint.
      const stored = world.keyVault.state.version(pendingSecretName(s.set.keyVault.secretName), first.journal.pendingVersion!).version;
      stored.value = `${stored.value.slice(0, 3)}${"Q".repeat(stored.value.length - 3)}`;
      world.clock.advance(61_000);
      const second = await s.pass();
      expect(second.runId).toBe(first.runId);
      expect(second.status).toBe("failed");
      expect(second.journal.error).toMatchObject({ code: "VAULT_VALUE_CHANGED" });
      expect(s.events).toContainEqual(expect.objectContaining({ type: "failed", error: expect.objectContaining({ code: "VAULT_VALUE_CHANGED" }) }));
      // Nothing was pushed to a target on the strength of the changed value.
      expect(s.targets().every((t) => t.clientSecret === s.seeded.handMade.secretText)).toBe(true);
    } finally {
      world.entra.setReplicationDelay(0);
    }
  });
});
