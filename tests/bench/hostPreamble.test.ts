import { execFile } from "node:child_process";
import { isBuiltin } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { WORKER_PRELOADED_BUILTINS, workerPreambleSource } from "../../bench/hostPreamble.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const functionsLibrary = pathToFileURL(path.join(ROOT, "node_modules", "@azure", "functions", "dist", "azure-functions.js")).href;

/** Runs an ES module script in a fresh node and returns what it printed. */
async function node(script: string): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "" } });
}

const publicBuiltinsLoaded = `process.moduleLoadList.filter((m) => m.startsWith("NativeModule ") && !m.startsWith("NativeModule internal/")).map((m) => m.slice(13))`;

describe("bench coldstart: the Functions worker's state before it imports an app", () => {
  it("names only Node built-in modules", () => {
    for (const m of WORKER_PRELOADED_BUILTINS) expect(isBuiltin(m), m).toBe(true);
  });

  it("answers @azure/functions-core as the worker does: registrations reach it, and the library never falls back to test mode", async () => {
    const { stdout, stderr } = await node(
      `${workerPreambleSource()}\n` +
        `const { app } = await import(${JSON.stringify(functionsLibrary)});\n` +
        `app.timer("a", { schedule: "0 0 * * * *", handler: () => {} });\n` +
        `app.http("b", { handler: () => ({}) });\n` +
        `console.log(JSON.stringify({ registered: globalThis.__functionsCore.registered }));`,
    );
    expect(JSON.parse(stdout)).toEqual({ registered: 2 });
    expect(stderr).not.toMatch(/test mode|Failed to detect/);
  });

  it("without it, the same registrations print the test-mode warnings the host never pays for (what the bare figures include)", async () => {
    const { stderr } = await node(
      `const { app } = await import(${JSON.stringify(functionsLibrary)});\n` + `app.timer("a", { schedule: "0 0 * * * *", handler: () => {} });`,
    );
    expect(stderr).toMatch(/Failed to detect the Azure Functions runtime/);
  });

  it("already holds every built-in @azure/functions loads, so only the library's own code is timed", async () => {
    const { stdout } = await node(
      `${workerPreambleSource()}\n` +
        `const before = new Set(${publicBuiltinsLoaded});\n` +
        `const { app } = await import(${JSON.stringify(functionsLibrary)});\n` +
        `app.timer("a", { schedule: "0 0 * * * *", handler: () => {} });\n` +
        `console.log(JSON.stringify(${publicBuiltinsLoaded}.filter((m) => !before.has(m))));`,
    );
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
