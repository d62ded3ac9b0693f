import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, type BundleResult } from "../../scripts/build.js";

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
