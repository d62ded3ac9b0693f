import type { AppSettings } from "../config/settings.js";
import { createAzureCredential } from "../entra/credential.js";
import path from "node:path";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import type { CredentialSet } from "../config/schema.js";
import { loadConfig } from "../config/load.js";
import { isLoopbackUrl } from "../config/outbound.js";
import { RotatorError } from "../errors.js";
import { guardedAzureHttpClient } from "../http/addressGuard.js";
import { readLocalSettings } from "./settingsFile.js";
import { readSandboxClock, sandboxClockUrl } from "./sandbox.js";
import type { RotationHooks } from "../rotation/hooks.js";
import type { BuiltRuntime, RuntimeOptions } from "../runtime/createRuntime.js";
import { createRuntimeFromEnv } from "../runtime/fromSettings.js";

/**
 * Where the CLI's runtime comes from: the same app settings as the Function App (environment
 * variables, optionally a Functions `local.settings.json`), so the CLI drives the same engine and
 * the same Storage — a CLI rotation and a timer pass share the set's blob lease and never run at
 * once. Or, with `--emulators`, the local emulators seeded as in `npm run demo`.
 */
export interface CliEnvironment {
  runtime: BuiltRuntime;
  /** Human description of where this runs, e.g. "local emulators" or "app settings". */
  source: string;
  close(): Promise<void>;
}

/**
 * Starts the local emulators for `--emulators`. Only the CLI's dev entry (scripts/cli.ts) supplies
 * one: emulators and the test harness are development tools that src/ never imports.
 */
export type StartEmulators = (options: {
  extra?: Partial<RuntimeOptions>;
  say(line: string): void;
}) => Promise<{ runtime: BuiltRuntime; close(): Promise<void> }>;

export interface OpenEnvironmentOptions {
  emulators: boolean;
  /** How `--emulators` starts them; absent outside the dev entry. */
  startEmulators?: StartEmulators;
  settingsFile?: string;
  env: Record<string, string | undefined>;
  cwd: string;
  /** The CLI's progress seams, passed to every runner. */
  hooks: RotationHooks;
  say: (line: string) => void;
}

export async function openEnvironment(options: OpenEnvironmentOptions): Promise<CliEnvironment> {
  const extra: Partial<RuntimeOptions> = { hooks: () => options.hooks };
  if (options.emulators) {
    if (!options.startEmulators) {
      throw new RotatorError("CLI_USAGE", "--emulators is a development tool and this build of the CLI does not carry the emulators", {
        hint: "Run it from a clone of the repository after npm ci (npx mcp-sso-rotator … --emulators goes through the dev entry scripts/cli.ts), or run against real app settings (--settings local.settings.json).",
      });
    }
    const world = await options.startEmulators({ extra, say: options.say });
    return { runtime: world.runtime, source: "local emulators (seeded as in npm run demo)", close: () => world.close() };
  }
  const { values, cwd } = settingsValues(options);
  const config = loadConfig(values, { cwd });
  // In the sandbox, the CLI's "now" is the emulators' shared clock (moved by `sandbox advance`).
  const clockUrl = sandboxClockUrl(values);
  if (clockUrl) extra.clock = await readSandboxClock(clockUrl, config.extraCaPem);
  const runtime = await createRuntimeFromEnv(values, { cwd, credential: operatorCredential(config.settings.identity, config.extraCaPem), extra });
  return {
    runtime,
    source: options.settingsFile ? `app settings from ${path.resolve(options.cwd, options.settingsFile)}` : "app settings from the environment",
    close: () => Promise.resolve(),
  };
}

/**
 * The sandbox clock's URL and the CA that trusts it, from the same app settings a command reads;
 * `sandbox advance` refuses to run without one (outside the sandbox, or with `--emulators`, whose
 * world lives only as long as one command).
 */
export function sandboxClockOf(options: Pick<OpenEnvironmentOptions, "settingsFile" | "env" | "cwd">): { url: string; ca: string | undefined } {
  const { values, cwd } = settingsValues(options);
  const url = sandboxClockUrl(values);
  if (!url) {
    throw new RotatorError(
      "SANDBOX_ONLY",
      "This is not the sandbox: the app settings name no SANDBOX_CLOCK_URL, and a real deployment's time is not to be moved",
      {
        hint: "Start the sandbox with `npm run emulators` and pass its settings: `--settings .emulators/local.settings.json`.",
      },
    );
  }
  return { url, ca: loadConfig(values, { cwd }).extraCaPem };
}

/** The environment, overlaid with the "Values" of a Functions local.settings.json when one is given. */
function settingsValues(options: Pick<OpenEnvironmentOptions, "settingsFile" | "env" | "cwd">): { values: Record<string, string | undefined>; cwd: string } {
  if (!options.settingsFile) return { values: options.env, cwd: options.cwd };
  const local = readLocalSettings(options.cwd, options.settingsFile);
  // Relative paths in the file (CREDENTIAL_SETS_FILE, EXTRA_CA_FILE) mean the app root: the file's folder.
  return { values: { ...options.env, ...local.values }, cwd: local.dir };
}

/**
 * The operator's own identity through DefaultAzureCredential: `az login`/`azd auth login` on a
 * laptop, a managed or workload identity on a jump host, or AZURE_CLIENT_ID/AZURE_TENANT_ID/
 * AZURE_CLIENT_SECRET for a service principal. That identity needs the same roles as the Function
 * App's (Graph application owner, Key Vault Secrets Officer, Storage Blob Data Contributor).
 */
function operatorCredential(identity: AppSettings["identity"], ca: string | undefined): TokenCredential {
  if (identity.kind === "clientSecret") {
    // A service principal named by the settings (a --settings file overlays the environment) is
    // used as given: DefaultAzureCredential would read the process environment instead, where the
    // shell may hold another principal, of another tenant.
    const { tenantId, clientId, clientSecret, authorityHost } = identity;
    return createAzureCredential({ tenantId, clientId, clientSecret, ...(authorityHost ? { authorityHost } : {}), ...(ca !== undefined ? { ca } : {}) });
  }
  const authorityHost = identity.authorityHost;
  return new DefaultAzureCredential({
    ...(identity.tenantId ? { tenantId: identity.tenantId } : {}),
    ...(identity.clientId ? { managedIdentityClientId: identity.clientId } : {}),
    ...(authorityHost ? { authorityHost } : {}),
    // A loopback authority is an emulator: asking the real cloud to validate it fails after ~10 s.
    disableInstanceDiscovery: isLoopbackUrl(authorityHost),
    // Every credential it tries connects through the address rule; the guarded agents carry the trust.
    httpClient: guardedAzureHttpClient(ca !== undefined ? { ca } : {}),
  });
}

/** `--set <name>`: the named set, or every set. An unknown name is a usage error naming the known ones. */
export function selectSets(runtime: BuiltRuntime, name: string | undefined): readonly CredentialSet[] {
  if (name === undefined) return runtime.sets;
  const set = runtime.sets.find((s) => s.name === name);
  if (!set) {
    throw new RotatorError("SET_NOT_FOUND", `No credential set named "${name}"`, {
      hint: `Use one of: ${runtime.sets.map((s) => s.name).join(", ") || "(none configured)"}, or leave out --set for all.`,
    });
  }
  return [set];
}
