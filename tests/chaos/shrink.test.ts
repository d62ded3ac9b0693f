import { describe, expect, it } from "vitest";
import { ddmin } from "../harness/chaos/shrink.js";
import { Rng } from "../harness/chaos/prng.js";

describe("delta debugging over an event list", () => {
  it("finds the two events that together cause a failure among forty", async () => {
    const events = Array.from({ length: 40 }, (_, i) => i);
    const fails = async (xs: number[]): Promise<boolean> => xs.includes(7) && xs.includes(31);
    const { items } = await ddmin(events, fails, { tries: 200 });
    expect(items).toEqual([7, 31]);
  });

  it("returns the best list found when the replay budget runs out, never one that does not fail", async () => {
    const events = Array.from({ length: 64 }, (_, i) => i);
    const fails = async (xs: number[]): Promise<boolean> => xs.includes(5) && xs.includes(50) && xs.includes(63);
    const { items, tries } = await ddmin(events, fails, { tries: 5 });
    expect(tries).toBeLessThanOrEqual(5);
    expect(await fails(items)).toBe(true);
  });
});

describe("the seeded PRNG (mulberry32)", () => {
  it("repeats its sequence for a seed and stays in range", () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 100 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const c = new Rng(9);
    for (let i = 0; i < 200; i++) expect(c.int(3, 5)).toBeGreaterThanOrEqual(3);
  });
});
