import { SecretScanner } from "../helpers/secretScan.js";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import type { World, SeededSet } from "../harness/world.js";
import { runCli } from "../../src/cli/program.js";
import { startDemoEmulators } from "../../scripts/cliEmulators.js";
import type { CliIo, CliStream } from "../../src/cli/output.js";

/**
 * Runs the CLI the two ways people do: in-process through runCli (fast; the same code the bin
 * runs) and as a real process through bin/mcp-sso-rotator.js (exit codes, stdout/stderr, the tsx
 * shim). Both are configured like an operator against `npm run emulators`: app settings in the
 * environment, the operator's service principal for DefaultAzureCredential, the emulators' CA.
 */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON object printed last on stdout (with --json). */
  json: Record<string, unknown> & { exitCode?: number; ok?: boolean };
}

class MemoryStream implements CliStream {
  text = "";
  constructor(
    readonly isTTY = false,
    readonly columns = 100,
  ) {}
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }
  // cli-progress draws with readline's cursor helpers, which call these on a TTY stream.
  cursorTo(x: number, _y?: number | (() => void), cb?: () => void): boolean {
    this.text += `\x1b[${x + 1}G`;
    cb?.();
    return true;
  }
  moveCursor(_dx: number, _dy: number, cb?: () => void): boolean {
    cb?.();
    return true;
  }
  clearLine(_dir: number, cb?: () => void): boolean {
    this.text += "\x1b[0K";
    cb?.();
    return true;
  }
  clearScreenDown(cb?: () => void): boolean {
    cb?.();
    return true;
  }
  getWindowSize(): [number, number] {
    return [this.columns, 40];
  }
  on(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
}

function lastJson(stdout: string): CliRun["json"] {
  const lines = stdout.trim().split("\n");
  try {
    return JSON.parse(lines.at(-1) ?? "{}") as CliRun["json"];
  } catch {
    return {};
  }
}

/** App settings for the CLI, written like an operator's: the sets file, storage, identity, CA. */
export function operatorSettings(world: World, container: ContainerClient, connectionString: string, sets: SeededSet[]): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rotator-cli-test-"));
  const setsFile = path.join(dir, "credential-sets.json");
  writeFileSync(setsFile, JSON.stringify({ sets: sets.map((s) => s.set) }, null, 2));
  const caFile = path.join(dir, "ca.pem");
  writeFileSync(caFile, world.caCertPem);
  return {
    AzureWebJobsStorage: connectionString,
    STORAGE_CONTAINER: container.containerName,
    CREDENTIAL_SETS_FILE: setsFile,
    EXTRA_CA_FILE: caFile,
    AZURE_TENANT_ID: world.tenantId,
    AZURE_CLIENT_ID: world.operator.clientId,
    AZURE_CLIENT_SECRET: world.operator.secret,
    AZURE_AUTHORITY_HOST: world.authorityHost,
  };
}

/**
 * The operator's identity in this worker's own environment, as an operator's shell holds it: the
 * in-process CLI's DefaultAzureCredential reads process.env, not the settings passed to it.
 */
export function exportOperatorIdentity(settings: Record<string, string>): void {
  for (const k of ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"]) process.env[k] = settings[k];
}

/** Every run's stdout and stderr, scanned for every secret the world issued: the leaks found (none, in a passing test). */
export function cliLeaks(world: World, runs: readonly CliRun[]): ReturnType<SecretScanner["leaks"]> {
  const scan = new SecretScanner().addSecrets(world.secrets());
  scan.collectAll(
    "cli output",
    runs.flatMap((o) => [o.stdout, o.stderr]),
  );
  return scan.leaks();
}

/** In-process as the dev entry runs it (scripts/cli.ts: `--emulators` available), or as the production entry (`entry: "production"`). */
export async function runInProcess(
  args: string[],
  env: Record<string, string | undefined>,
  options: { tty?: boolean; entry?: "dev" | "production" } = {},
): Promise<CliRun> {
  const stdout = new MemoryStream(options.tty ?? false);
  const stderr = new MemoryStream(false);
  const io: CliIo = { stdout, stderr, env, cwd: process.cwd() };
  const code = await runCli(args, io, options.entry === "production" ? {} : { startEmulators: startDemoEmulators });
  return { code, stdout: stdout.text, stderr: stderr.text, json: lastJson(stdout.text) };
}

const BIN = path.resolve("bin", "mcp-sso-rotator.js");

/** The real executable, as `npx mcp-sso-rotator` starts it (Node 22 from node_modules/.bin). */
export function runProcess(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code: code ?? -1, stdout, stderr, json: lastJson(stdout) }));
  });
}
