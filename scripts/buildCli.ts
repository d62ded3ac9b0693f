/**
 * The operator CLI as one built bundle (issue 25: `npx mcp-sso-rotator --help` took 6.4 s because
 * tsx compiled TypeScript at every start). `npm run build` writes `dist/cli/`; bin/mcp-sso-rotator.js
 * runs it when it is newer than every file under src/ and the command does not ask for `--emulators`
 * (a development tool that only the tsx dev entry scripts/cli.ts carries). Command modules are
 * loaded with import() on first use, so `--help` reads only the program and commander.
 */
import path from "node:path";
import { rmSync } from "node:fs";
import { build } from "esbuild";
import { NODE_ESM_BUNDLE } from "./esbuildNode.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const CLI_BUNDLE_DIR = path.join(ROOT, "dist", "cli");

export async function bundleCli(outdir = CLI_BUNDLE_DIR): Promise<{ outfile: string; bytes: number }> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { index: path.join(ROOT, "src", "cli", "index.ts") },
    outdir,
    ...NODE_ESM_BUNDLE,
    // CommonJS packages inside an ESM bundle still call require() for Node built-ins.
    banner: { js: 'import { createRequire as __rotatorCreateRequire } from "node:module"; const require = __rotatorCreateRequire(import.meta.url);' },
    metafile: true,
  });
  const outfile = path.join(outdir, "index.js");
  const key = path.relative(ROOT, outfile).split(path.sep).join("/");
  return { outfile, bytes: result.metafile.outputs[key]?.bytes ?? 0 };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const built = await bundleCli();
  console.log(`${path.relative(ROOT, built.outfile)}: ${(built.bytes / 1024).toFixed(0)} KiB (+ lazily loaded command chunks)`);
}
