import { describe, expect, it } from "vitest";
import { parseSchedule } from "../src/schedule.js";

describe("NCRONTAB schedules", () => {
  it.each([
    ["0 0 3 * * *", 86_400_000],
    ["0 */15 * * * *", 15 * 60_000],
    ["0 0 */6 * * *", 6 * 3_600_000],
    ["*/30 * * * * *", 30_000],
    ["0 0 3 * * 1", 7 * 86_400_000],
  ])("%s has a period of %i ms", (expr, period) => {
    expect(parseSchedule(expr).periodMs(new Date("2026-11-26T05:00:00Z"))).toBe(period);
  });

  it("finds the next firing time in UTC", () => {
    expect(parseSchedule("0 0 3 * * *").next(new Date("2026-11-26T05:00:00Z")).toISOString()).toBe("2026-11-27T03:00:00.000Z");
    expect(parseSchedule("0 */15 * * * *").next(new Date("2026-11-26T05:07:10Z")).toISOString()).toBe("2026-11-26T05:15:00.000Z");
  });

  it("refuses expressions that are not 6-field NCRONTAB", () => {
    expect(() => parseSchedule("0 3 * * *")).toThrow(/6-field/);
    expect(() => parseSchedule("0 x * * * *")).toThrow(/invalid/);
  });
});
