import { readFileSync } from "node:fs";
import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Longest test files first (issue 21), so on several workers the long tail does not start last.
 * Durations come from tests/durations.json, written from a real run by
 * `npm run test:slowest -- --write`; vitest's own duration cache is empty on a clean clone (CI). A file
 * missing from the list is placed as if it took UNKNOWN_SECONDS.
 */
export const DURATIONS_FILE = path.resolve(import.meta.dirname, "durations.json");
const UNKNOWN_SECONDS = 10;

export function orderLongestFirst<T>(files: T[], idOf: (f: T) => string, durations: Record<string, number>): T[] {
  const seconds = (f: T) => durations[idOf(f)] ?? UNKNOWN_SECONDS;
  return [...files].sort((a, b) => seconds(b) - seconds(a) || idOf(a).localeCompare(idOf(b)));
}

export default class LongestFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    let durations: Record<string, number> = {};
    try {
      durations = JSON.parse(readFileSync(DURATIONS_FILE, "utf8")) as Record<string, number>;
    } catch {
      // No list yet: every file counts as unknown and the order is by name.
    }
    const root = this.ctx.config.root;
    return Promise.resolve(orderLongestFirst(files, (f) => path.relative(root, f.moduleId).split(path.sep).join("/"), durations));
  }
}
