import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Repository root (this file is scripts/infra/bicep.ts). */
export const ROOT = path.resolve(import.meta.dirname, "..", "..");
const TOOLS = path.join(ROOT, "infra", "tools");
const PROJECT = path.join(TOOLS, "bicep.csproj");
const PACKAGE = "Azure.Bicep.CommandLine.linux-x64";
export const MAIN_BICEP = path.join(ROOT, "infra", "main.bicep");
export const MAIN_JSON = path.join(ROOT, "infra", ".build", "main.json");

export interface Diagnostic {
  file: string;
  line: number;
  level: string;
  code: string;
  message: string;
}

/** The README's prerequisite sentence, word for word: a machine without dotnet is told exactly this. */
export const PREREQUISITES =
  "What a machine needs first: Node.js and npm, and the .NET SDK (the infra tests restore the Bicep CLI from NuGet with `dotnet restore`).";

/** The pinned version: the PackageDownload in infra/tools/bicep.csproj, the one place it lives. */
export function bicepVersion(): string {
  const m = new RegExp(`<PackageDownload\\s+Include="${PACKAGE.replace(/\./g, "\\.")}"\\s+Version="\\[([^\\]]+)\\]"`).exec(readFileSync(PROJECT, "utf8"));
  if (!m) throw new Error(`${PROJECT}: no PackageDownload of ${PACKAGE} with an exact [version]`);
  return m[1]!;
}

/**
 * The Bicep CLI from NuGet: `dotnet restore` of the tools project downloads the package into
 * infra/tools/packages (RestorePackagesPath). A restore that finds the package already there
 * costs about two seconds and no network.
 */
export async function restoreBicep(): Promise<string> {
  const binary = path.join(TOOLS, "packages", PACKAGE.toLowerCase(), bicepVersion(), "tools", "bicep");
  if (!existsSync(binary)) await dotnetRestore();
  if (!existsSync(binary)) throw new Error(`restore finished but ${binary} is missing`);
  return binary;
}

/** `dotnet restore` of the tools project; a machine without the .NET SDK gets the README's sentence. */
export async function dotnetRestore(dotnet = "dotnet"): Promise<void> {
  try {
    await run(dotnet, ["restore", PROJECT, "--nologo", "--verbosity", "quiet"], { cwd: ROOT, maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (err.code === "ENOENT") throw new Error(`${dotnet} is not on PATH. ${PREREQUISITES}`, { cause: e });
    throw new Error(`dotnet restore ${path.relative(ROOT, PROJECT)} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`, { cause: e });
  }
}

/** Bicep prints `file(line,col) : Level CODE: message [link]` for every diagnostic. */
export function parseDiagnostics(output: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const re = /^(.+?)\((\d+),\d+\) : (Error|Warning|Info) ([A-Za-z0-9-]+): (.*)$/gm;
  for (const m of output.matchAll(re)) {
    out.push({ file: path.relative(ROOT, m[1]!), line: Number(m[2]), level: m[3]!, code: m[4]!, message: m[5]!.replace(/\s*\[https?:[^\]]+\]$/, "") });
  }
  return out;
}

async function bicep(binary: string, args: string[]): Promise<{ ok: boolean; diagnostics: Diagnostic[]; output: string }> {
  try {
    const { stdout, stderr } = await run(binary, args, { cwd: ROOT, maxBuffer: 64 << 20, env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1" } });
    return { ok: true, diagnostics: parseDiagnostics(`${stdout}\n${stderr}`), output: `${stdout}${stderr}` };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    const output = `${err.stdout ?? ""}${err.stderr ?? ""}`;
    return { ok: false, diagnostics: parseDiagnostics(output), output };
  }
}

export interface InfraBuildResult {
  version: string;
  template: string;
  diagnostics: Diagnostic[];
  ok: boolean;
  output: string;
}

/** `bicep build` then `bicep lint` of infra/main.bicep; ok only with zero errors and zero warnings. */
export async function buildInfra(): Promise<InfraBuildResult> {
  const binary = await restoreBicep();
  mkdirSync(path.dirname(MAIN_JSON), { recursive: true });
  const build = await bicep(binary, ["build", MAIN_BICEP, "--outfile", MAIN_JSON]);
  const lint = await bicep(binary, ["lint", MAIN_BICEP]);
  // Build and lint report the same linter findings; count each once.
  const seen = new Set<string>();
  const diagnostics = [...build.diagnostics, ...lint.diagnostics].filter((d) => {
    const key = `${d.file}:${d.line}:${d.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const bad = diagnostics.filter((d) => d.level === "Error" || d.level === "Warning");
  return {
    version: bicepVersion(),
    template: MAIN_JSON,
    diagnostics,
    ok: build.ok && lint.ok && bad.length === 0,
    output: `${build.output}${lint.output}`,
  };
}

/** The compiled ARM template, built once per process. */
let compiled: Promise<ArmTemplate> | undefined;
export function compiledTemplate(): Promise<ArmTemplate> {
  compiled ??= buildInfra().then((r) => {
    if (!r.ok) throw new Error(`infra/main.bicep does not build cleanly:\n${r.output}`);
    return JSON.parse(readFileSync(r.template, "utf8")) as ArmTemplate;
  });
  return compiled;
}

export interface ArmResource {
  type: string;
  apiVersion?: string;
  name: unknown;
  condition?: unknown;
  scope?: string;
  properties?: Record<string, unknown> & { template?: ArmTemplate; parameters?: Record<string, { value?: unknown }> };
  copy?: unknown;
  [key: string]: unknown;
}

export interface ArmTemplate {
  parameters?: Record<string, { type: string; defaultValue?: unknown; metadata?: unknown; allowedValues?: unknown[]; minValue?: number; maxValue?: number }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[] | Record<string, ArmResource>;
  outputs?: Record<string, { type: string; value: unknown }>;
  [key: string]: unknown;
}
