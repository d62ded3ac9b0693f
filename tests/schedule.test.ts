import { describe, expect, it } from "vitest";
import { parseSchedule } from "../src/schedule.js";
import { ncrontabProblem } from "../src/config/ncrontab.js";

const FROM = new Date("2026-11-26T05:00:00Z"); // a Thursday
const H = 3_600_000;
const D = 24 * H;

/**
 * Every form the Azure Functions timer trigger docs show ("Timer trigger for Azure Functions",
 * learn.microsoft.com/azure/azure-functions/functions-bindings-timer — CRON expressions, value
 * types, names, and the CRON examples table), plus day and month names in full and abbreviated.
 * Each row is checked by validation AND by computation, so the two cannot disagree.
 * `valid: false` rows are NCRONTAB the timer accepts but our once-a-minute rule refuses.
 */
const DOC_FORMS: { expr: string; next: string; periodMs: number; valid?: false }[] = [
  // value types
  { expr: "0 5 * * * *", next: "2026-11-26T05:05:00Z", periodMs: H },
  { expr: "0 * 5 * * *", next: "2026-11-26T05:01:00Z", periodMs: 60_000 },
  { expr: "5-7 * * * * *", next: "2026-11-26T05:00:05Z", periodMs: 1_000, valid: false },
  { expr: "5,8,10 * * * * *", next: "2026-11-26T05:00:05Z", periodMs: 3_000, valid: false },
  { expr: "0 */5 * * * *", next: "2026-11-26T05:05:00Z", periodMs: 5 * 60_000 },
  // the CRON examples table
  { expr: "0 0 * * * *", next: "2026-11-26T06:00:00Z", periodMs: H },
  { expr: "0 0 */2 * * *", next: "2026-11-26T06:00:00Z", periodMs: 2 * H },
  { expr: "0 0 9-17 * * *", next: "2026-11-26T09:00:00Z", periodMs: H },
  { expr: "0 30 9 * * *", next: "2026-11-26T09:30:00Z", periodMs: D },
  { expr: "0 30 9 * * 1-5", next: "2026-11-26T09:30:00Z", periodMs: D },
  { expr: "0 30 9 * Jan Mon", next: "2027-01-04T09:30:00Z", periodMs: 7 * D },
  // names: English, case-insensitive, full or abbreviated
  { expr: "0 0 3 * * Mon", next: "2026-11-30T03:00:00Z", periodMs: 7 * D },
  { expr: "0 0 3 * * MON", next: "2026-11-30T03:00:00Z", periodMs: 7 * D },
  { expr: "0 0 3 * * monday", next: "2026-11-30T03:00:00Z", periodMs: 7 * D },
  { expr: "0 30 9 * January Monday", next: "2027-01-04T09:30:00Z", periodMs: 7 * D },
  { expr: "0 0 3 * * Mon-Fri", next: "2026-11-27T03:00:00Z", periodMs: 3 * D },
  { expr: "0 0 3 * * Tue,Thu", next: "2026-12-01T03:00:00Z", periodMs: 2 * D },
  { expr: "0 0 3 1 Dec,Jan *", next: "2026-12-01T03:00:00Z", periodMs: 31 * D },
  // NCRONTAB needs the day AND the day-of-week to match: the next Monday the 1st.
  { expr: "0 0 3 1 * Mon", next: "2027-02-01T03:00:00Z", periodMs: 28 * D },
  // our defaults
  { expr: "0 0 3 * * *", next: "2026-11-27T03:00:00Z", periodMs: D },
  { expr: "0 */15 * * * *", next: "2026-11-26T05:15:00Z", periodMs: 15 * 60_000 },
];

describe("NCRONTAB schedules", () => {
  it.each(DOC_FORMS)("one schedule parser: $expr validates and computes its next run and period", ({ expr, next, periodMs, valid }) => {
    const problem = ncrontabProblem(expr, "0 0 3 * * *");
    if (valid === false) expect(problem).toMatch(/more than once a minute/);
    else expect(problem).toBeUndefined();
    expect(parseSchedule(expr).next(FROM).toISOString()).toBe(new Date(next).toISOString());
    expect(parseSchedule(expr).periodMs(FROM)).toBe(periodMs);
  });

  it("finds the next firing strictly after the given time", () => {
    expect(parseSchedule("0 */15 * * * *").next(new Date("2026-11-26T05:07:10Z")).toISOString()).toBe("2026-11-26T05:15:00.000Z");
    expect(parseSchedule("0 */15 * * * *").next(new Date("2026-11-26T05:15:00Z")).toISOString()).toBe("2026-11-26T05:30:00.000Z");
  });

  it.each([
    ["0 3 * * *", /has 5 fields/],
    ["0 0 3 * * * 2030", /no year field/],
    ["00:15:00", /TimeSpan/],
    ["@daily", /cron macro/],
    ["0 x * * * *", /minute field "x" must use values 0–59/],
    ["0 0 3 * * 7", /day-of-week field "7" must use values 0–6/],
    ["0 0 3 * * Mo", /day-of-week field "Mo"/],
    ["0 0 3 ? * MON", /Quartz/],
    ["0 0 3 L * *", /Quartz/],
    ["0 0 3 * * 1#2", /Quartz/],
    ["0 0 3 * * Fri-Mon", /runs backwards/],
    ["0 0 0 31 2 *", /never fires/],
  ])("refuses %s in validation and in computation alike", (expr, why) => {
    expect(ncrontabProblem(expr, "0 0 3 * * *")).toMatch(why);
    expect(() => parseSchedule(expr)).toThrow(why);
  });
});
