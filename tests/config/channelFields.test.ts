import { describe, expect, it } from "vitest";
import { alertChannelSchema } from "../../src/config/schema.js";

/**
 * Alert routing deduplicates destinations, and check-config lists private endpoints, by one naming
 * rule instead of a branch per kind: a channel's destination is its `…SecretName` and `…Url`
 * fields. A new channel kind must keep to it, or two sets sharing a destination would page twice.
 */
describe("alert channel fields", () => {
  it("every field of every channel kind is either shared by all kinds or names its destination (…SecretName, …Url)", () => {
    const shapes = alertChannelSchema.options.map((o) => Object.keys(o.shape));
    const shared = shapes.reduce((a, b) => a.filter((k) => b.includes(k)));
    expect(shared).toContain("kind");
    for (const keys of shapes) {
      const own = keys.filter((k) => !shared.includes(k));
      expect(own.length).toBeGreaterThan(0);
      for (const k of own) expect(k).toMatch(/(SecretName|Url)$/);
    }
  });
});
