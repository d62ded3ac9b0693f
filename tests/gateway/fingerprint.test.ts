import { describe, expect, it } from "vitest";
import { computeFingerprint, fingerprintMatches, saltedHashMatches } from "../../src/gateway/fingerprint.js";
import { assertStashedValue, sealSecret } from "../../src/rotation/secretCheck.js";

const salt = "c2FsdC0wMDAx";
const secret = "fingerprint-secret-0001";

describe("one salted-hash comparison (gateway read-backs and the stash seal)", () => {
  it("matches sha256(salt ‖ secret) in either hex case, and nothing else", () => {
    const hex = computeFingerprint(salt, secret);
    expect(saltedHashMatches(salt, secret, hex)).toBe(true);
    expect(saltedHashMatches(salt, secret, hex.toUpperCase())).toBe(true);
    expect(saltedHashMatches(salt, "other-secret-0002", hex)).toBe(false);
    expect(saltedHashMatches("other-salt", secret, hex)).toBe(false);
    expect(saltedHashMatches(salt, secret, hex.slice(0, 62))).toBe(false);
    expect(saltedHashMatches(salt, secret, "")).toBe(false);
  });

  it("a gateway fingerprint with junk after the digest ('…zz') was accepted as a match: refused now", () => {
    const target = { fingerprintSalt: salt, secretFingerprint: `${computeFingerprint(salt, secret)}zz` };
    expect(fingerprintMatches(target, secret)).toBe(false);
  });

  it("the stash seal uses the same comparison: the sealed value passes, another value is VAULT_VALUE_CHANGED", () => {
    const seal = sealSecret(secret);
    expect(() => assertStashedValue(secret, { keyId: "k", seal }, "the current version")).not.toThrow();
    expect(() => assertStashedValue("another-value-0003", { keyId: "k", seal }, "the current version")).toThrow(
      expect.objectContaining({ code: "VAULT_VALUE_CHANGED" }),
    );
  });
});
