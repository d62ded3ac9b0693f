import { describe, expect, it } from "vitest";
import { slowestFiles } from "../../scripts/slowest.js";

/** Issue 21: `npm run test:slowest` keeps where npm test's time goes visible. */
describe("the slowest test files of the last run", () => {
  const file = (name: string, start: number, seconds: number, tests: number) => ({
    name: `/repo/tests/${name}`,
    startTime: start,
    endTime: start + seconds * 1000,
    assertionResults: Array.from({ length: tests }, () => ({})),
  });
  const report = {
    startTime: 1_000_000,
    testResults: [file("a.test.ts", 1_000_500, 3, 2), file("chaos/chaos.test.ts", 1_000_100, 90, 9), file("b.test.ts", 1_004_000, 12, 5)],
  };

  it("lists files longest first, relative to the repository, with their test counts and the run's wall time", () => {
    const out = slowestFiles(report, "/repo", 2);
    expect(out.files).toEqual([
      { file: "tests/chaos/chaos.test.ts", seconds: 90, tests: 9 },
      { file: "tests/b.test.ts", seconds: 12, tests: 5 },
    ]);
    expect(out.wallSeconds).toBeCloseTo(90.1);
    expect(out.totalSeconds).toBeCloseTo(105);
  });

  it("a file that is not a vitest report is refused with what to run", () => {
    expect(() => slowestFiles({} as never, "/repo")).toThrow(/run npm test first/);
  });
});

describe("longest files first", () => {
  it("orders by the recorded durations, unknown files as 10 s, ties by name", async () => {
    const { orderLongestFirst } = await import("../sequencer.js");
    const files = ["tests/a.test.ts", "tests/new.test.ts", "tests/chaos/chaos.test.ts", "tests/b.test.ts"];
    const recorded = { "tests/a.test.ts": 3, "tests/b.test.ts": 12, "tests/chaos/chaos.test.ts": 90 };
    expect(orderLongestFirst(files, (f) => f, recorded)).toEqual(["tests/chaos/chaos.test.ts", "tests/b.test.ts", "tests/new.test.ts", "tests/a.test.ts"]);
  });

  it("--write records every file of the report under the key the sequencer looks up", async () => {
    const { durations } = await import("../../scripts/slowest.js");
    const report = {
      startTime: 0,
      testResults: [
        { name: "/repo/tests/z.test.ts", startTime: 0, endTime: 2400, assertionResults: [] },
        { name: "/repo/tests/a/y.test.ts", startTime: 0, endTime: 600, assertionResults: [] },
      ],
    };
    expect(durations(report, "/repo")).toEqual({ "tests/a/y.test.ts": 1, "tests/z.test.ts": 2 });
  });
});
