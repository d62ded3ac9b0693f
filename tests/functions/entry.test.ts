import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { app } from "@azure/functions";

/**
 * The Functions host loads one file, package.json "main" (dist/main.js, the bundle of
 * functions/index.ts), and registers what importing it registers. A functions/*.ts file that the
 * entry does not import is silently missing in Azure and under `func start`.
 */
describe("the functions entry (package.json main)", () => {
  it("dashboard missing from the entry: every registration in functions/*.ts is reached by importing functions/index.ts", async () => {
    const dir = path.resolve(import.meta.dirname, "../../functions");
    const declared = readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) => [...readFileSync(path.join(dir, f), "utf8").matchAll(/\bapp\.(?:http|timer|storageQueue|eventGrid)\(\s*"([^"]+)"/g)].map((m) => m[1]!));
    expect(declared).toContain("dashboard");

    const registered: string[] = [];
    const record = (name: string): void => void registered.push(name);
    vi.spyOn(app, "http").mockImplementation(record);
    vi.spyOn(app, "timer").mockImplementation(record);
    vi.spyOn(app, "storageQueue").mockImplementation(record);
    vi.spyOn(app, "eventGrid").mockImplementation(record);
    // Imported afresh, so its registrations run again although another test file in this worker
    // may have imported it already (test files share a module cache: vitest.config.ts, isolate).
    vi.resetModules();
    await import("../../functions/index.js");
    expect(registered.sort()).toEqual(declared.sort());
  });
});
