/**
 * `npm run build` — bundles the functions (functions/index.ts and everything it imports, npm
 * packages included) into dist/main.js with a source map, for `func start`, then stages the
 * package azd deploys in dist/package (scripts/azd/stagePackage.ts: no remote build, no
 * node_modules). `npm run build:tsc` keeps the
 * unbundled build (dist/functions/*.js), which `npm run bench -- coldstart` compares against.
 *
 * @azure/functions is the one package that is not inside dist/main.js: it ships beside it as one
 * CommonJS file, dist/azure-functions.cjs (the package's own webpack build with `cookie` and
 * @azure/functions-extensions-base folded in), and the entry require()s it. The same 74 KiB took
 * clearly longer to load as part of the ES module bundle: importing @azure/functions alone, bundled
 * each way, measured 43 → 33 ms of CPU (medians of 31 fresh processes, Node 22, busy machine). The
 * host gets the same library either way: its Node.js worker answers require("@azure/functions-core")
 * by patching Module.prototype.require, which a CommonJS file's require() goes through too.
 */
import { NODE_ESM_BUNDLE } from "./esbuildNode.js";
import { bundleCli } from "./buildCli.js";
import { build, type Metafile, type Plugin } from "esbuild";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { stagePackage } from "./azd/stagePackage.js";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const BUNDLE = path.join(ROOT, "dist", "main.js");
/** @azure/functions as one CommonJS file, written beside the entry (main.js requires it by this name). */
export const FUNCTIONS_LIB = "azure-functions.cjs";
/** The folder azd zips and deploys (azure.yaml `dist`): scripts/azd/stagePackage.ts. */
export const PACKAGE_DIR = path.join(ROOT, "dist", "package");

export interface BundleResult {
  outfile: string;
  /** dist/main.js, the chunks it imports statically and dist/azure-functions.cjs: what a cold start reads. */
  bytes: number;
  /** Modules the entry loads with import() on first use: the chunk and the source it was built from. */
  lazy: { chunk: string; source: string }[];
  metafile: Metafile;
  /** Every file written (entry, chunks, maps, LEGAL.txt, azure-functions.cjs), relative to outdir, "/"-separated. */
  files: string[];
}

export async function bundle(
  options: { outdir?: string; minify?: boolean; /** Default functions/index.ts (package.json "main" is its bundle). */ entryPoint?: string } = {},
): Promise<BundleResult> {
  const outdir = options.outdir ?? path.dirname(BUNDLE);
  const outfile = path.join(outdir, "main.js");
  rmSync(path.join(outdir, "chunks"), { recursive: true, force: true });
  const lib = await bundleFunctionsLibrary(outdir, options.minify ?? true);
  const result = await build({
    plugins: [functionsLibraryBesideEntry(lib.exports)],
    absWorkingDir: ROOT,
    entryPoints: { main: options.entryPoint ?? path.join(ROOT, "functions", "index.ts") },
    outdir,
    ...NODE_ESM_BUNDLE,
    minifyWhitespace: options.minify ?? true,
    minifySyntax: options.minify ?? true,
    // Provided by the Node.js worker of the Functions host, not by npm.
    external: ["@azure/functions-core"],
    // CommonJS packages inside an ESM bundle still call require() for Node built-ins.
    // __rotatorRequireHere resolves relative to the file it is written into (see functionsLibraryBesideEntry).
    banner: {
      js: 'import { createRequire as __rotatorCreateRequire } from "node:module"; const require = __rotatorCreateRequire(import.meta.url), __rotatorRequireHere = require;',
    },
    metafile: true,
  });
  const outputs = result.metafile.outputs;
  const key = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");
  const entry = outputs[key(outfile)];
  if (!entry) throw new Error(`esbuild wrote no ${outfile}`);
  // The shim require()s "./azure-functions.cjs" relative to the file it lands in. Only the entry's
  // registrations use @azure/functions at run time (handlers import its types only); if a handler
  // module ever imports a value from it, esbuild moves the shim into dist/chunks/, where that path
  // would not resolve, so the build stops here instead of the deployed app failing to load.
  const holders = Object.entries(outputs)
    .filter(([, o]) => SHIM_INPUT in o.inputs)
    .map(([f]) => f);
  if (holders.some((f) => f !== key(outfile))) {
    throw new Error(
      `@azure/functions is imported outside the functions entry's own module graph (it ended up in ${holders.join(", ")}): import only its types in handler modules, or move the value import to functions/`,
    );
  }
  const dropped = dropRuntimeOnlyImports(outfile, result.metafile, key);
  // Static imports of the entry, followed transitively: every byte a cold start has to read.
  const loaded = new Set<string>([key(outfile)]);
  const queue = [key(outfile)];
  while (queue.length) {
    const from = queue.pop()!;
    for (const i of outputs[from]?.imports ?? []) {
      if (from === key(outfile) && dropped.has(i.path)) continue;
      if (i.kind === "import-statement" && !i.external && !loaded.has(i.path)) {
        loaded.add(i.path);
        queue.push(i.path);
      }
    }
  }
  const bytes = [...loaded].reduce((n, f) => n + statSync(path.join(ROOT, f)).size, 0) + (holders.length ? statSync(lib.file).size : 0);
  const lazy = entry.imports
    .filter((i) => i.kind === "dynamic-import" && !i.external)
    .map((i) => ({ chunk: path.join(ROOT, i.path), source: outputs[i.path]?.entryPoint ?? "" }));
  const files = [...Object.keys(outputs), ...lib.outputs].map((f) => path.relative(outdir, path.join(ROOT, f)).split(path.sep).join("/")).sort();
  return { outfile, bytes, lazy, metafile: result.metafile, files };
}

/**
 * esbuild puts its runtime helpers (__commonJS, __toESM, …), which the lazily loaded chunks use,
 * in a shared chunk, and makes the entry import it for evaluation order even when the entry binds
 * nothing from it. That is one more ES module to resolve, read and link on every cold start
 * (measured 1–4 ms of CPU on this machine) for code with no side effects, so the entry's bare
 * import of such a chunk is blanked out; the chunks that use the helpers still import it. Blanked
 * with spaces of the same length, so the source map's columns stay right. Returns the chunks dropped.
 */
function dropRuntimeOnlyImports(outfile: string, metafile: Metafile, key: (file: string) => string): Set<string> {
  const dropped = new Set<string>();
  let code = readFileSync(outfile, "utf8");
  for (const i of metafile.outputs[key(outfile)]?.imports ?? []) {
    const chunk = metafile.outputs[i.path];
    if (i.kind !== "import-statement" || i.external || !chunk || Object.keys(chunk.inputs).length > 0) continue;
    const bare = `import"./${path.relative(path.dirname(outfile), path.join(ROOT, i.path)).split(path.sep).join("/")}";`;
    if (code.split(bare).length !== 2) continue;
    code = code.replace(bare, " ".repeat(bare.length));
    dropped.add(i.path);
  }
  if (dropped.size > 0) writeFileSync(outfile, code);
  return dropped;
}

/**
 * @azure/functions as one minified CommonJS file in outdir, and the names it exports (read from
 * the built file, so the shim exports exactly what ships).
 */
async function bundleFunctionsLibrary(outdir: string, minify: boolean): Promise<{ file: string; exports: string[]; outputs: string[] }> {
  const file = path.join(outdir, FUNCTIONS_LIB);
  const requireHere = createRequire(import.meta.url);
  const built = await build({
    absWorkingDir: ROOT,
    // The package's own file as the entry point: a stdin module that only require()d it measured
    // about 4 ms slower to load (one more CommonJS wrapper around the whole library).
    entryPoints: [requireHere.resolve("@azure/functions")],
    outfile: file,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    sourcemap: "linked",
    minify,
    // Provided by the Node.js worker of the Functions host, not by npm.
    external: ["@azure/functions-core"],
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });
  const resolved = requireHere.resolve(file);
  // Importing it registers nothing and prints nothing (that happens on the first app.* call).
  const exports = Object.keys(requireHere(resolved) as object);
  delete requireHere.cache[resolved];
  if (!exports.includes("app")) throw new Error(`${file} exports no "app": @azure/functions did not bundle as expected`);
  return { file, exports, outputs: Object.keys(built.metafile.outputs) };
}

const SHIM_NAMESPACE = "azure-functions-beside-entry";
const SHIM_INPUT = `${SHIM_NAMESPACE}:@azure/functions`;

/**
 * Every import of @azure/functions in the bundle becomes a small ES module that require()s
 * azure-functions.cjs beside the file it is in and re-exports its names. `__rotatorRequireHere`
 * is the banner's require of that very file: esbuild's own require helper lives in a shared chunk
 * under dist/chunks/ and would resolve "./azure-functions.cjs" from there.
 */
function functionsLibraryBesideEntry(exportNames: string[]): Plugin {
  return {
    name: SHIM_NAMESPACE,
    setup(b) {
      b.onResolve({ filter: /^@azure\/functions$/ }, () => ({ path: "@azure/functions", namespace: SHIM_NAMESPACE }));
      b.onLoad({ filter: /.*/, namespace: SHIM_NAMESPACE }, () => ({
        contents: `const lib = __rotatorRequireHere(${JSON.stringify(`./${FUNCTIONS_LIB}`)});\nexport const { ${exportNames.join(", ")} } = lib;\n`,
        loader: "js",
      }));
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const built = await bundle();
  console.log(`${path.relative(ROOT, built.outfile)}: ${(built.bytes / 1024).toFixed(0)} KiB (+ source map and lazily loaded chunks)`);
  // azd runs `npm run build` and deploys PACKAGE_DIR (azure.yaml `dist`), with azd's environment values.
  const staged = stagePackage({ root: ROOT, bundleDir: path.dirname(BUNDLE), bundleFiles: built.files, outdir: PACKAGE_DIR, env: process.env });
  const sets = "file" in staged.credentialSets ? `credential sets: ${staged.credentialSets.file}` : `no credential-set file (${staged.credentialSets.skipped})`;
  console.log(`${path.relative(ROOT, PACKAGE_DIR)}: ${staged.files.length} files, the package azd deploys; ${sets}`);
  // The operator CLI's bundle, which bin/mcp-sso-rotator.js runs when it is up to date.
  const cli = await bundleCli();
  console.log(`${path.relative(ROOT, cli.outfile)}: ${(cli.bytes / 1024).toFixed(0)} KiB, the operator CLI (command modules load on first use)`);
}
