/**
 * `npm run badinput:counts [-- --json]`: prints how many malformed requests, credential-set files
 * and hostile upstream answers the bad-input suite (tests/badInput/) plays, per target, for the
 * issue note. The counts come from the same tables the tests run.
 */
import { badInputCounts, formatBadInputCounts } from "../tests/badInput/counts.js";

const counts = badInputCounts();
console.log(process.argv.includes("--json") ? JSON.stringify(counts) : formatBadInputCounts(counts));
