import { describe, expect, it } from "vitest";
import { severitySchema } from "../src/config/schema.js";
import { isBlocking } from "../src/probe/model.js";
import { SEVERITIES, severityAtLeast } from "../src/severity.js";

describe("one severity scale for findings, incidents, channel thresholds and error codes", () => {
  it("orders info < warning < error < critical, and the config accepts exactly those", () => {
    expect(SEVERITIES).toEqual(["info", "warning", "error", "critical"]);
    expect(severityAtLeast("critical", "error")).toBe(true);
    expect(severityAtLeast("error", "error")).toBe(true);
    expect(severityAtLeast("warning", "error")).toBe(false);
    for (const s of SEVERITIES) expect(severitySchema.parse(s)).toBe(s);
    expect(severitySchema.safeParse("fatal").success).toBe(false);
  });

  it("a probe finding blocks from error up, on the same scale", () => {
    expect(SEVERITIES.filter((severity) => isBlocking({ status: "fail", severity }))).toEqual(["error", "critical"]);
  });
});
