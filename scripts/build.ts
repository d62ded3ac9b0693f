/**
 * `npm run build` — bundles the functions (functions/index.ts and everything it imports, npm
 * packages included) into dist/main.js with a source map, for `func start` and for the package
 * azd deploys (no remote build, no node_modules in the package). `npm run build:tsc` keeps the
 * unbundled build (dist/functions/*.js), which `npm run bench -- coldstart` compares against.
 */
import { build, type Metafile } from "esbuild";
import { rmSync, statSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const BUNDLE = path.join(ROOT, "dist", "main.js");

export interface BundleResult {
  outfile: string;
  /** dist/main.js plus the chunks it imports statically: what a cold start reads. */
  bytes: number;
  /** Modules the entry loads with import() on first use: the chunk and the source it was built from. */
  lazy: { chunk: string; source: string }[];
  metafile: Metafile;
}

export async function bundle(options: { outdir?: string; minify?: boolean; /** Default functions/index.ts (package.json "main" is its bundle). */ entryPoint?: string } = {}): Promise<BundleResult> {
  const outdir = options.outdir ?? path.dirname(BUNDLE);
  const outfile = path.join(outdir, "main.js");
  rmSync(path.join(outdir, "chunks"), { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: options.entryPoint ?? path.join(ROOT, "functions", "index.ts") },
    outdir,
    // What packages load with import() (apache-arrow in storage-blob, the Azure Monitor distro)
    // goes to dist/chunks and is read only when first used, not on every cold start.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    target: "node22",
    // ESM builds first: a package's UMD "main" (jsonc-parser) hides its require()s from esbuild,
    // which left require('./impl/format') unresolved in the bundle; the ESM build is also the one
    // esbuild can tree-shake.
    mainFields: ["module", "main"],
    format: "esm",
    sourcemap: "linked",
    // Less to parse on a cold start; the source map points stack traces back at src/.
    minifyWhitespace: options.minify ?? true,
    minifySyntax: options.minify ?? true,
    minifyIdentifiers: true,
    // Provided by the Node.js worker of the Functions host, not by npm.
    external: ["@azure/functions-core"],
    // CommonJS packages inside an ESM bundle still call require() for Node built-ins.
    banner: { js: 'import { createRequire as __rotatorCreateRequire } from "node:module"; const require = __rotatorCreateRequire(import.meta.url);' },
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });
  const outputs = result.metafile.outputs;
  const key = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");
  const entry = outputs[key(outfile)];
  if (!entry) throw new Error(`esbuild wrote no ${outfile}`);
  // Static imports of the entry, followed transitively: every byte a cold start has to read.
  const loaded = new Set<string>([key(outfile)]);
  const queue = [key(outfile)];
  while (queue.length) {
    for (const i of outputs[queue.pop()!]?.imports ?? []) {
      if (i.kind === "import-statement" && !i.external && !loaded.has(i.path)) {
        loaded.add(i.path);
        queue.push(i.path);
      }
    }
  }
  const bytes = [...loaded].reduce((n, f) => n + statSync(path.join(ROOT, f)).size, 0);
  const lazy = entry.imports
    .filter((i) => i.kind === "dynamic-import" && !i.external)
    .map((i) => ({ chunk: path.join(ROOT, i.path), source: outputs[i.path]?.entryPoint ?? "" }));
  return { outfile, bytes, lazy, metafile: result.metafile };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { outfile, bytes } = await bundle();
  console.log(`${path.relative(ROOT, outfile)}: ${(bytes / 1024).toFixed(0)} KiB (+ source map and lazily loaded chunks)`);
}
