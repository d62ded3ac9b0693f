import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, FUNCTIONS_LIB, type BundleResult } from "../../scripts/build.js";
import type { WorkerHttpInvocation, WorkerReport } from "../helpers/functionsWorker.js";
import { lastJson, runTsx } from "../helpers/runScript.js";

const run = promisify(execFile);

/**
 * `npm run build` makes the package azd deploys: dist/main.js and its chunks, with no
 * node_modules beside them. Every module of it must load in a plain Node.js process, the way the
 * Functions host loads the entry and the handlers' import() load the rest on first use.
 */
let outdir: string;
let built: BundleResult;

beforeAll(async () => {
  outdir = mkdtempSync(path.join(os.tmpdir(), "rotator-bundle-"));
  built = await bundle({ outdir });
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Imports the files in order in a fresh process, from a folder without node_modules. */
async function importFresh(files: string[]): Promise<{ ok: boolean; stderr: string }> {
  const script = files.map((f) => `await import(${JSON.stringify(pathToFileURL(f).href)});`).join(" ");
  try {
    const { stderr } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: outdir, env: { ...process.env, NODE_OPTIONS: "" } });
    return { ok: true, stderr };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: string }).stderr ?? e) };
  }
}

describe("the bundled package", () => {
  it("UMD main of a package (jsonc-parser) in the bundle: its require('./impl/format') could not be resolved, so loading the composition root failed on the first invocation", async () => {
    const composition = built.lazy.filter((l) => l.source.endsWith("src/runtime/fromSettings.ts"));
    expect(composition).toHaveLength(1);
    const loaded = await importFresh([built.outfile, ...composition.map((l) => l.chunk)]);
    expect(loaded.stderr).not.toMatch(/Cannot find module/);
    expect(loaded.ok).toBe(true);
  });

  it("the entry and every chunk load in a fresh process without node_modules", async () => {
    const chunks = readdirSync(path.join(outdir, "chunks"))
      .filter((f) => f.endsWith(".js"))
      .map((f) => path.join(outdir, "chunks", f));
    expect(chunks.length).toBeGreaterThan(3);
    const loaded = await importFresh([built.outfile, ...chunks]);
    expect(loaded.stderr).not.toMatch(/Cannot find module|SyntaxError|TypeError/);
    expect(loaded.ok).toBe(true);
  });
});

describe("the bundled entry in a Functions worker", () => {
  // What functions/*.ts register (the same reading as tests/functions/entry.test.ts).
  const functionsDir = path.resolve(import.meta.dirname, "../../functions");
  const declared = readdirSync(functionsDir)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) =>
      [...readFileSync(path.join(functionsDir, f), "utf8").matchAll(/\bapp\.(?:http|timer|storageQueue|eventGrid)\(\s*"([^"]+)"/g)].map((m) => m[1]!),
    );

  const url = "https://rotator.example.net/api";
  const invocations: WorkerHttpInvocation[] = [
    // A body the host passes as a string, read by request.text().
    {
      function: "startRotation",
      http: { method: "POST", url: `${url}/rotations`, headers: { "content-type": "application/json" }, body: { string: '{"set":' } },
    },
    // The same kind of body passed as bytes: parsed, then refused by the schema.
    {
      function: "startRotation",
      http: {
        method: "POST",
        url: `${url}/rotations`,
        headers: { "content-type": "application/json" },
        body: { bytes: [...Buffer.from('{"set":"","mode":"sideways"}')] },
      },
    },
    { function: "startRotation", http: { method: "POST", url: `${url}/rotations`, headers: { "content-type": "text/plain" }, body: { string: "force" } } },
    { function: "getRotation", http: { method: "DELETE", url: `${url}/rotations/r1`, params: { runId: "r1" } } },
    { function: "getRotation", http: { method: "GET", url: `${url}/rotations/r1?verbose=1`, params: { runId: "r1" } } },
  ];
  const runWorker = async (entry: string): Promise<WorkerReport> => {
    const worker = await runTsx(["tests/helpers/functionsWorker.ts", entry, JSON.stringify(invocations)]);
    expect(worker.stderr).not.toMatch(/Error|test mode/);
    return lastJson(worker.stdout) as unknown as WorkerReport;
  };
  let report: WorkerReport;
  let fromSource: WorkerReport;
  beforeAll(async () => {
    // tsx runs the stand-in worker from this checkout; the bundled entry it imports lies in a
    // folder without node_modules, and its require()s resolve from there. The source entry
    // (functions/index.ts, @azure/functions from node_modules) is the reference.
    report = await runWorker(built.outfile);
    fromSource = await runWorker(path.resolve(import.meta.dirname, "../../functions/index.ts"));
  }, 120_000);

  it("registers and answers exactly like the unbundled source entry: same bindings, same status, headers and bodies", () => {
    expect(report.registered).toEqual(fromSource.registered);
    expect(report.responses).toEqual(fromSource.responses);
    expect(report.responses).toHaveLength(invocations.length);
  });

  it("the entry's @azure/functions finds the worker's core API: it sets its programming model and registers every function (no test mode)", () => {
    expect(report.programmingModel?.name).toBe("@azure/functions");
    expect(Object.keys(report.registered).sort()).toEqual(declared.sort());
    const start = Object.values(report.registered.startRotation!.bindings);
    expect(start.map((b) => `${b.direction} ${b.type}`).sort()).toEqual(["in httpTrigger", "out http", "out queue"]);
  });

  it("HTTP invocations go through the bundled HttpRequest and HttpResponse: text and byte bodies are read, JSON answers keep status, headers and body", () => {
    const [badJson, badFields, notJson, wrongMethod, unknownQuery] = report.responses.map((r) => ({ ...r, json: JSON.parse(r.body) }));
    expect(badJson).toMatchObject({ statusCode: "400", headers: { "content-type": "application/json", "cache-control": "no-store" }, cookies: [] });
    expect(badJson!.json.error).toMatchObject({ code: "INVALID_JSON", field: "(body)" });
    expect(badFields!.statusCode).toBe("400");
    expect(badFields!.json.error.code).toBe("INVALID_BODY");
    expect(badFields!.json.error.issues.map((i: { field: string }) => i.field).sort()).toEqual(["mode", "set"]);
    expect(notJson).toMatchObject({ statusCode: "415", headers: { "content-type": "application/json" } });
    expect(notJson!.json.error).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE", field: "Content-Type" });
    expect(wrongMethod).toMatchObject({ statusCode: "405", headers: { allow: "GET", "cache-control": "no-store" } });
    expect(wrongMethod!.json.error.code).toBe("METHOD_NOT_ALLOWED");
    expect(unknownQuery!.statusCode).toBe("400");
    expect(unknownQuery!.json.error).toMatchObject({ code: "UNKNOWN_QUERY_PARAMETER", field: "?verbose" });
  });
});

describe("@azure/functions beside the entry", () => {
  it(`the entry requires ${FUNCTIONS_LIB} from its own folder, and the bundle size counts it: a cold start reads it`, () => {
    expect(readFileSync(built.outfile, "utf8")).toContain(`__rotatorRequireHere("./${FUNCTIONS_LIB}")`);
    const lib = statSync(path.join(outdir, FUNCTIONS_LIB)).size;
    expect(built.bytes).toBeGreaterThanOrEqual(statSync(built.outfile).size + lib);
  });

  it("the entry imports no chunk statically: esbuild's runtime-helpers chunk, which the entry does not use, is left to the lazily loaded chunks", () => {
    const code = readFileSync(built.outfile, "utf8");
    expect(code).not.toMatch(/import\s*(?:[^;]*?from\s*)?["']\.\/chunks\//);
    expect(built.bytes).toBe(statSync(built.outfile).size + statSync(path.join(outdir, FUNCTIONS_LIB)).size);
  });

  it("a handler module that imports a value from @azure/functions stops the build (in a chunk, ./azure-functions.cjs would not resolve)", async () => {
    const src = mkdtempSync(path.join(os.tmpdir(), "rotator-bundle-src-"));
    const out = mkdtempSync(path.join(os.tmpdir(), "rotator-bundle-out-"));
    try {
      writeFileSync(
        path.join(src, "entry.ts"),
        'import { app } from "@azure/functions";\napp.http("h", { handler: async (r, c) => (await import("./handler.js")).handle(r, c) });\n',
      );
      writeFileSync(
        path.join(src, "handler.ts"),
        'import { HttpResponse, type HttpRequest, type InvocationContext } from "@azure/functions";\nexport const handle = async (_r: HttpRequest, _c: InvocationContext) => new HttpResponse({ status: 204 });\n',
      );
      await expect(bundle({ outdir: out, entryPoint: path.join(src, "entry.ts") })).rejects.toThrow(/imported outside the functions entry's own module graph/);
    } finally {
      rmSync(src, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
});
