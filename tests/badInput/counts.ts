import { REQUEST_CASE_COUNTS } from "./requestCases.js";
import { CONFIG_CASE_COUNTS } from "./configCases.js";
import { PASS_CASE_COUNTS, UPSTREAM_CASE_COUNTS } from "./upstreamCases.js";

/**
 * The bad-input counts of issue 10 item 6, straight from the case tables the tests play: malformed
 * requests per HTTP endpoint, malformed credential-set files per kind, hostile answers per upstream
 * (against the product's client for it) and the sample played against whole rotation passes.
 */
export function badInputCounts() {
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  return {
    requestsPerEndpoint: REQUEST_CASE_COUNTS,
    credentialSetFiles: CONFIG_CASE_COUNTS,
    hostileAnswersPerUpstream: UPSTREAM_CASE_COUNTS,
    hostileAnswersInWholePasses: PASS_CASE_COUNTS,
    totals: {
      requests: sum(REQUEST_CASE_COUNTS),
      credentialSetFiles: CONFIG_CASE_COUNTS["total"]!,
      upstreamAnswers: sum(UPSTREAM_CASE_COUNTS),
      wholePasses: sum(PASS_CASE_COUNTS),
    },
  };
}

/** Plain text for the issue note. */
export function formatBadInputCounts(c = badInputCounts()): string {
  const lines = ["Bad input (issue 10 item 6): cases tried, each refused clearly / ended safely in `npm test`"];
  const table = (title: string, o: Record<string, number>) => {
    lines.push("", title);
    for (const [k, v] of Object.entries(o)) lines.push(`  ${k.padEnd(40)} ${String(v).padStart(5)}`);
  };
  table("Malformed requests per HTTP endpoint (tests/badInput/requests.test.ts)", c.requestsPerEndpoint);
  table("Malformed credential-set files (tests/badInput/config.test.ts)", c.credentialSetFiles);
  table("Hostile answers per upstream, against its client (tests/badInput/upstreams.test.ts)", c.hostileAnswersPerUpstream);
  table("Hostile answers during whole rotation passes (tests/badInput/passes.test.ts)", c.hostileAnswersInWholePasses);
  table("Totals", c.totals);
  return lines.join("\n");
}
