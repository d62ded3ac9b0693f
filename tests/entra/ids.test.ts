import { describe, expect, it } from "vitest";
import { isGuid, isTenantAlias } from "../../src/entra/ids.js";

describe("Entra identifiers (one GUID pattern for config, gateway tenant checks and probes)", () => {
  it("a GUID in any case is a GUID; anything longer, shorter or braced is not", () => {
    expect(isGuid("8f1c2a3b-0000-4000-8000-1234567890ab")).toBe(true);
    expect(isGuid("8F1C2A3B-0000-4000-8000-1234567890AB")).toBe(true);
    for (const v of [
      "{8f1c2a3b-0000-4000-8000-1234567890ab}",
      "8f1c2a3b-0000-4000-8000-1234567890a",
      "8f1c2a3b00004000800012345678900ab",
      "contoso.onmicrosoft.com",
      "",
    ]) {
      expect(isGuid(v), v).toBe(false);
    }
  });

  it("common, organizations and consumers (any case) are aliases, not tenants", () => {
    for (const v of ["common", "Organizations", "CONSUMERS"]) expect(isTenantAlias(v), v).toBe(true);
    expect(isTenantAlias("contoso.com")).toBe(false);
  });
});
