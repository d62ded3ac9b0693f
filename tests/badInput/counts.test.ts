import { describe, expect, it } from "vitest";
import { badInputCounts, formatBadInputCounts } from "./counts.js";

describe("bad input counts", () => {
  it("every HTTP endpoint, the credential-set file and every upstream get at least 50 bad inputs (npm run badinput:counts prints them)", () => {
    const c = badInputCounts();
    expect(Object.keys(c.requestsPerEndpoint).sort()).toEqual([
      "GET /api/dashboard",
      "GET /api/health",
      "GET /api/rotations/{runId}",
      "GET /api/status",
      "POST /api/rotations",
      "POST /api/rotations/{runId}/confirm",
    ]);
    for (const n of Object.values(c.requestsPerEndpoint)) expect(n).toBeGreaterThanOrEqual(50);
    expect(c.totals.credentialSetFiles).toBeGreaterThanOrEqual(50);
    expect(Object.keys(c.hostileAnswersPerUpstream).sort()).toEqual([
      "gateway",
      "graph",
      "keyvault",
      "opsgenie",
      "pagerduty",
      "slack",
      "teams",
      "token",
      "webhook",
    ]);
    for (const n of Object.values(c.hostileAnswersPerUpstream)) expect(n).toBeGreaterThanOrEqual(50);
    const text = formatBadInputCounts(c);
    expect(text).toContain("POST /api/rotations/{runId}/confirm");
    console.log(text);
  });
});
