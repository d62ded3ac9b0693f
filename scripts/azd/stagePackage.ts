/**
 * The folder azd zips and deploys (azure.yaml `dist: dist/package`): exactly what the Functions
 * host loads, and nothing it would have to build or install.
 *
 * Why a folder of its own: with `remoteBuild: false`, azd ≥ 1.23.12 refuses a project whose root
 * `.funcignore` excludes node_modules (azure-dev PR #7223, `resolveFunctionAppRemoteBuild`), yet
 * zipping the project root without that line would upload node_modules. azd zips the service's
 * `dist` folder instead, applying the `.funcignore` found *there* (none: every staged file ships),
 * so the root `.funcignore` no longer decides what ships and can leave node_modules alone.
 *
 * Layout (paths relative to the app root, /home/site/wwwroot on Azure):
 *   host.json                  the project's, as is
 *   package.json               name, version, "type": "module", "main": "main.js"; no dependencies
 *   main.js + chunks/ + maps   the esbuild bundle (scripts/build.ts), with its LEGAL.txt files
 *   azure-functions.cjs        @azure/functions beside the entry (scripts/build.ts)
 *   <CREDENTIAL_SETS_FILE>     the credential-set file, at the same relative path the app setting names
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface StageOptions {
  /** Project root (azure.yaml, host.json, package.json). */
  root: string;
  /** Folder the bundle was written to (scripts/build.ts `bundle`), holding main.js. */
  bundleDir: string;
  /** Every file of the bundle, relative to bundleDir (the esbuild metafile's outputs). */
  bundleFiles: readonly string[];
  /** The staging folder; emptied first. */
  outdir: string;
  /** azd's environment values (azd passes them to `npm run build`). */
  env: Readonly<Record<string, string | undefined>>;
}

export interface StageResult {
  outdir: string;
  /** Every staged file, relative to outdir, "/"-separated, sorted. */
  files: string[];
  /** The credential-set file staged, relative to outdir; undefined when none was (and why). */
  credentialSets: { file: string } | { skipped: string };
}

/** Thrown when the staged package could not work on Azure; says what to change. */
export class StageError extends Error {
  readonly code = "STAGE_PACKAGE";
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(`${message}\n${hint}`);
    this.name = "StageError";
  }
}

/** The entry, relative to the staged folder: package.json "main". */
export const STAGED_MAIN = "main.js";

export function stagePackage(o: StageOptions): StageResult {
  rmSync(o.outdir, { recursive: true, force: true });
  mkdirSync(o.outdir, { recursive: true });
  const staged: string[] = [];
  const copy = (from: string, rel: string) => {
    const to = path.join(o.outdir, rel);
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(from, to);
    staged.push(rel.split(path.sep).join("/"));
  };

  if (!o.bundleFiles.includes(STAGED_MAIN)) {
    throw new StageError(`the bundle in ${o.bundleDir} has no ${STAGED_MAIN}`, "Run `npm run build` (scripts/build.ts) before staging.");
  }
  for (const f of o.bundleFiles) copy(path.join(o.bundleDir, f), f);
  copy(path.join(o.root, "host.json"), "host.json");
  writeFileSync(path.join(o.outdir, "package.json"), `${JSON.stringify(stagedPackageJson(o.root), null, 2)}\n`);
  staged.push("package.json");

  const credentialSets = stageCredentialSets(o, copy);
  return { outdir: o.outdir, files: staged.sort(), credentialSets };
}

/**
 * The project's package.json reduced to what the host reads: the module type and the entry. No
 * dependencies: nothing is installed on Azure (remoteBuild: false), everything is in the bundle.
 */
function stagedPackageJson(root: string): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as Record<string, unknown>;
  return { name: pkg["name"], version: pkg["version"], private: true, type: pkg["type"], main: STAGED_MAIN, engines: pkg["engines"] };
}

/**
 * CREDENTIAL_SETS_FILE (default credential-sets.json) at the same relative path in the package, as
 * infra/main.bicep writes the app setting. Not staged when CREDENTIAL_SETS_JSON_BASE64 replaces
 * the file, nor when the file is absent (a local `npm run build`; the prepackage hook stops azd).
 */
function stageCredentialSets(o: StageOptions, copy: (from: string, rel: string) => void): StageResult["credentialSets"] {
  if (o.env["CREDENTIAL_SETS_JSON_BASE64"]?.trim())
    return { skipped: "CREDENTIAL_SETS_JSON_BASE64 is set: the app setting CREDENTIAL_SETS_JSON carries the sets" };
  const name = o.env["CREDENTIAL_SETS_FILE"]?.trim() || "credential-sets.json";
  const rel = path.normalize(name);
  if (path.isAbsolute(rel) || rel.startsWith("..")) {
    throw new StageError(
      `CREDENTIAL_SETS_FILE=${name} is not inside the project`,
      "On Azure the app resolves it against the app root, so it must be a path relative to the project root, e.g. credential-sets.json or config/sets.json: azd env set CREDENTIAL_SETS_FILE <relative path>",
    );
  }
  const from = path.join(o.root, rel);
  if (!existsSync(from)) return { skipped: `${name} does not exist` };
  copy(from, rel);
  return { file: rel.split(path.sep).join("/") };
}
