import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STAGED_MAIN, StageError, stagePackage, type StageResult } from "../../scripts/azd/stagePackage.js";
import { bundle, FUNCTIONS_LIB, PACKAGE_DIR, type BundleResult } from "../../scripts/build.js";
import type { WorkerReport } from "../helpers/functionsWorker.js";
import { lastJson, runTsx } from "../helpers/runScript.js";

const REPO = path.resolve(import.meta.dirname, "../..");

// ---------------------------------------------------------------------------------------------
// azd's rule, reimplemented from its Go source so the test can run offline:
// Azure/azure-dev, cli/azd/pkg/project/service_target_functionapp.go, resolveFunctionAppRemoteBuild
// (PR #7223 "functionapp: handle .funcignore more gracefully", azd 1.23.12+), for JavaScript and
// TypeScript services on Flex Consumption:
//   - the ignore file is <service project path>/.funcignore (serviceConfig.Path(), NOT `dist`);
//     a UTF-8 BOM is stripped; it is parsed with github.com/denormal/go-gitignore;
//   - nodeModulesExcluded = ignore.Relative("node_modules", isDir=true) matches and is not negated;
//   - no file: remoteBuild ?? true; remoteBuild unset: nodeModulesExcluded;
//     true && !excluded: error "'remoteBuild: true' requires '.funcignore' to exclude node_modules";
//     false && excluded: error "'remoteBuild: false' cannot be used when '.funcignore' excludes node_modules"
//     (its test "Customer Case 5"); else remoteBuild.
// And createDeployableZip (cli/azd/pkg/project/project_utils.go): azd zips the package folder (the
// service's `dist`) applying the .funcignore found in THAT folder; without one it drops only
// `.azure` folders and `local.settings.json` (node_modules too, unless remoteBuild is false).
// ---------------------------------------------------------------------------------------------

/** gitignore pattern → does it match a top-level entry `name` (isDir)? undefined: no opinion. */
function gitignoreVerdict(lines: string[], name: string, isDir: boolean): boolean | undefined {
  let verdict: boolean | undefined;
  for (const raw of lines) {
    let p = raw.replace(/\r$/, "").replace(/(?<!\\)\s+$/, "");
    if (!p || p.startsWith("#")) continue;
    const negate = p.startsWith("!");
    if (negate) p = p.slice(1);
    const dirOnly = p.endsWith("/");
    if (dirOnly) p = p.slice(0, -1);
    if (dirOnly && !isDir) continue;
    p = p.replace(/^\//, "").replace(/^\*\*\//, "");
    // "node_modules/**" ignores everything inside, which go-gitignore reports for the folder too.
    p = p.replace(/\/\*\*$/, "");
    if (p.includes("/")) continue; // a deeper path never matches a top-level entry
    const re = new RegExp(
      `^${p
        .replace(/[.+^${}()|\\]/g, "\\$&")
        .replace(/\*+/g, "[^/]*")
        .replace(/\?/g, "[^/]")}$`,
    );
    if (re.test(name)) verdict = !negate;
  }
  return verdict;
}

type RemoteBuild = boolean | undefined;
function resolveFunctionAppRemoteBuild(funcignore: string | undefined, remoteBuild: RemoteBuild): { remoteBuild: boolean } | { error: string } {
  if (funcignore === undefined) return { remoteBuild: remoteBuild ?? true };
  const lines = funcignore.replace(/^\uFEFF/, "").split("\n");
  const nodeModulesExcluded = gitignoreVerdict(lines, "node_modules", true) === true;
  if (remoteBuild === undefined) return { remoteBuild: nodeModulesExcluded };
  if (remoteBuild && !nodeModulesExcluded) return { error: "'remoteBuild: true' requires '.funcignore' to exclude node_modules" };
  if (!remoteBuild && nodeModulesExcluded) return { error: "'remoteBuild: false' cannot be used when '.funcignore' excludes node_modules" };
  return { remoteBuild };
}

/** What createDeployableZip puts in the zip of `root`, for a TypeScript function service. */
function azdZipEntries(root: string, remoteBuild: RemoteBuild): string[] {
  const ignoreFile = path.join(root, ".funcignore");
  const lines = existsSync(ignoreFile)
    ? readFileSync(ignoreFile, "utf8")
        .replace(/^\uFEFF/, "")
        .split("\n")
    : undefined;
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const isDir = e.isDirectory();
      if ((e.name === ".azure" && isDir) || (e.name === ".funcignore" && !isDir) || (e.name === "local.settings.json" && !isDir)) continue;
      if (lines ? gitignoreVerdict(lines, e.name, isDir) === true : e.name === "node_modules" && isDir && remoteBuild !== false) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (isDir) walk(path.join(dir, e.name), r);
      else out.push(r);
    }
  };
  walk(root, "");
  return out.sort();
}

/** The `api` service of azure.yaml: its scalar keys (language, host, project, dist, remoteBuild). */
function apiService(): Record<string, string> {
  const yaml = readFileSync(path.join(REPO, "azure.yaml"), "utf8").split("\n");
  const start = yaml.findIndex((l) => /^ {2}api:\s*$/.test(l));
  expect(start, "azure.yaml has services.api").toBeGreaterThan(0);
  const keys: Record<string, string> = {};
  for (const line of yaml.slice(start + 1)) {
    if (/^\S/.test(line) || /^ {2}\S/.test(line)) break;
    const m = /^ {4}(\w+):\s*(\S.*?)\s*$/.exec(line);
    if (m && !m[2]!.startsWith("#")) keys[m[1]!] = m[2]!;
  }
  return keys;
}

const remoteBuildOf = (v: string | undefined): RemoteBuild => (v === undefined ? undefined : v === "true");

describe("azd's remote-build rule, reimplemented", () => {
  // azd's own cases (service_target_functionapp_test.go: the JavaScript matrix "Customer Case 1–9"
  // and the edge cases): the reimplementation must agree with every one before it judges our files.
  const cases: [string, string | undefined, RemoteBuild, boolean | string][] = [
    ["Case 1", "node_modules\n", undefined, true],
    ["Case 2", "dist\n", undefined, false],
    ["Case 3", undefined, undefined, true],
    ["Case 4", undefined, false, false],
    ["Case 5", "node_modules\n", false, "'remoteBuild: false' cannot be used when '.funcignore' excludes node_modules"],
    ["Case 6", "dist\n", false, false],
    ["Case 7", "node_modules\n", true, true],
    ["Case 8", "dist\n", true, "'remoteBuild: true' requires '.funcignore' to exclude node_modules"],
    ["Case 9", undefined, true, true],
    ["empty file", "\n", undefined, false],
    ["trailing slash", "node_modules/\n", undefined, true],
    ["in a comment", "# node_modules\n", undefined, false],
    ["CRLF", "dist\r\nnode_modules\r\n.env\r\n", undefined, true],
    ["glob inside", "node_modules/**\n", undefined, true],
    ["leading slash", "/node_modules\n", undefined, true],
    ["double star prefix", "**/node_modules\n", undefined, true],
    ["BOM", "\uFEFFnode_modules\n", false, "'remoteBuild: false' cannot be used when '.funcignore' excludes node_modules"],
  ];
  it.each(cases)("%s", (_name, funcignore, remoteBuild, expected) => {
    const r = resolveFunctionAppRemoteBuild(funcignore, remoteBuild);
    expect(r).toEqual(typeof expected === "string" ? { error: expected } : { remoteBuild: expected });
  });

  it("also catches the patterns a hand edit would bring back: a wildcard, a prefix glob", () => {
    expect(resolveFunctionAppRemoteBuild("*\n", false)).toHaveProperty("error");
    expect(resolveFunctionAppRemoteBuild("node_*\n", false)).toHaveProperty("error");
    expect(resolveFunctionAppRemoteBuild("node_modules\n!node_modules\n", false)).toEqual({ remoteBuild: false });
  });
});

describe("azd up on azd ≥ 1.23.12", () => {
  it("remoteBuild: false with a .funcignore that excluded node_modules stopped every deploy ('remoteBuild: false' cannot be used when '.funcignore' excludes node_modules): our azure.yaml and root .funcignore pass azd's rule with a local build", () => {
    const api = apiService();
    expect(api).toMatchObject({ host: "function", language: "ts", project: "." });
    const ignoreFile = path.join(REPO, api["project"]!, ".funcignore");
    const funcignore = existsSync(ignoreFile) ? readFileSync(ignoreFile, "utf8") : undefined;
    expect(resolveFunctionAppRemoteBuild(funcignore, remoteBuildOf(api["remoteBuild"]))).toEqual({ remoteBuild: false });
  });

  it("the service deploys the staged folder: azure.yaml `dist` is the folder npm run build stages", () => {
    expect(path.resolve(REPO, apiService()["dist"]!)).toBe(PACKAGE_DIR);
    expect(JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")).scripts.build).toBe("tsx scripts/build.ts");
  });

  it("docs/deployment.md shows the root .funcignore as it is", () => {
    const doc = readFileSync(path.join(REPO, "docs/deployment.md"), "utf8");
    const block = /The root `\.funcignore`:\n\n {2}```text\n([\s\S]*?)\n {2}```/.exec(doc);
    expect(block).not.toBeNull();
    expect(block![1]!.split("\n").map((l) => l.replace(/^ {2}/, ""))).toEqual(readFileSync(path.join(REPO, ".funcignore"), "utf8").trimEnd().split("\n"));
  });
});

describe("the staged package (dist/package)", () => {
  let work: string;
  let built: BundleResult;
  let root: string;
  let staged: StageResult;

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), "rotator-stage-"));
    built = await bundle({ outdir: path.join(work, "bundle") });
    // A project root like this one: host.json and package.json from the repo, a credential-set
    // file, and what must never ship (node_modules, sources, local settings, azd's folder).
    root = path.join(work, "project");
    mkdirSync(path.join(root, "node_modules", "zod"), { recursive: true });
    mkdirSync(path.join(root, "src"), { recursive: true });
    mkdirSync(path.join(root, ".azure", "prod"), { recursive: true });
    for (const f of ["host.json", "package.json"]) copyFileSync(path.join(REPO, f), path.join(root, f));
    copyFileSync(path.join(REPO, "docs/examples/credential-sets.example.json"), path.join(root, "credential-sets.json"));
    for (const f of ["node_modules/zod/index.js", "src/index.ts", "local.settings.json", ".azure/prod/.env"]) writeFileSync(path.join(root, f), "x");
    staged = stagePackage({ root, bundleDir: path.dirname(built.outfile), bundleFiles: built.files, outdir: path.join(work, "package"), env: {} });
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const onDisk = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => statSync(path.join(dir, f)).isFile())
      .map((f) => f.split(path.sep).join("/"))
      .sort();

  it("holds exactly what the host loads: host.json, package.json, the bundle with its chunks, maps and licences, azure-functions.cjs and the credential-set file", () => {
    expect(onDisk(staged.outdir)).toEqual(staged.files);
    const top = [...new Set(staged.files.map((f) => f.split("/")[0]!))].sort();
    expect(top).toEqual(
      [
        "host.json",
        "package.json",
        "credential-sets.json",
        "chunks",
        STAGED_MAIN,
        `${STAGED_MAIN}.map`,
        FUNCTIONS_LIB,
        `${FUNCTIONS_LIB}.map`,
        `${FUNCTIONS_LIB}.LEGAL.txt`,
        ...(existsSync(path.join(staged.outdir, `${STAGED_MAIN}.LEGAL.txt`)) ? [`${STAGED_MAIN}.LEGAL.txt`] : []),
      ].sort(),
    );
    for (const f of staged.files.filter((f) => f.startsWith("chunks/"))) expect(f).toMatch(/^chunks\/[^/]+\.js(\.map|\.LEGAL\.txt)?$/);
    // Every file the bundler wrote, nothing else from it.
    expect(staged.files.filter((f) => !["host.json", "package.json", "credential-sets.json"].includes(f))).toEqual(built.files);
    expect(staged.credentialSets).toEqual({ file: "credential-sets.json" });
    expect(readFileSync(path.join(staged.outdir, "host.json"), "utf8")).toBe(readFileSync(path.join(REPO, "host.json"), "utf8"));
  });

  it("package.json names the staged entry as an ES module and lists no dependency to install", () => {
    const pkg = JSON.parse(readFileSync(path.join(staged.outdir, "package.json"), "utf8")) as Record<string, unknown>;
    expect(pkg).toMatchObject({ type: "module", main: STAGED_MAIN });
    for (const k of ["dependencies", "devDependencies", "scripts", "bin"]) expect(pkg).not.toHaveProperty(k);
    expect(existsSync(path.join(staged.outdir, pkg["main"] as string))).toBe(true);
  });

  it("azd zips every staged file and nothing else: no .funcignore in the folder, nothing its defaults drop", () => {
    expect(azdZipEntries(staged.outdir, false)).toEqual(staged.files);
    expect(staged.files.some((f) => /(^|\/)(node_modules|src|\.azure)\/|\.ts$|local\.settings\.json|\.funcignore/.test(f))).toBe(false);
  });

  it("the entry package.json names loads in a Functions worker from the staged folder and registers every function", async () => {
    const pkg = JSON.parse(readFileSync(path.join(staged.outdir, "package.json"), "utf8")) as { main: string };
    const worker = await runTsx(["tests/helpers/functionsWorker.ts", path.join(staged.outdir, pkg.main), "[]"]);
    expect(worker.stderr).not.toMatch(/Error|test mode/);
    const report = lastJson(worker.stdout) as unknown as WorkerReport;
    const declared = readdirSync(path.join(REPO, "functions"))
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) =>
        [...readFileSync(path.join(REPO, "functions", f), "utf8").matchAll(/\bapp\.(?:http|timer|storageQueue|eventGrid)\(\s*"([^"]+)"/g)].map((m) => m[1]!),
      );
    expect(Object.keys(report.registered).sort()).toEqual(declared.sort());
  }, 60_000);

  it("the credential-set file lands at the relative path CREDENTIAL_SETS_FILE names; none with CREDENTIAL_SETS_JSON_BASE64; a path outside the project stops the build", () => {
    mkdirSync(path.join(root, "config"), { recursive: true });
    copyFileSync(path.join(root, "credential-sets.json"), path.join(root, "config", "sets.json"));
    const base = { root, bundleDir: path.dirname(built.outfile), bundleFiles: built.files, outdir: path.join(work, "package-2") };
    const custom = stagePackage({ ...base, env: { CREDENTIAL_SETS_FILE: "config/sets.json" } });
    expect(custom.credentialSets).toEqual({ file: "config/sets.json" });
    expect(custom.files).toContain("config/sets.json");
    expect(custom.files).not.toContain("credential-sets.json");
    const inline = stagePackage({ ...base, env: { CREDENTIAL_SETS_JSON_BASE64: "e30=" } });
    expect(inline.files.filter((f) => f.endsWith(".json"))).toEqual(["host.json", "package.json"]);
    expect(() => stagePackage({ ...base, env: { CREDENTIAL_SETS_FILE: "../sets.json" } })).toThrow(StageError);
    // The staging folder is emptied first: nothing from an earlier package survives.
    expect(onDisk(base.outdir)).not.toContain("config/sets.json");
  });
});
