import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { CredentialSet } from "../config/schema.js";
import type { RotationMode } from "../rotation/model.js";
import type { CommandContext, CommonOptions } from "./context.js";
import type { CliEnvironment, StartEmulators } from "./environment.js";
import { EXIT, Output, exitFor, type CliIo, type ExitCode } from "./output.js";
import type { PassProgress } from "./progress.js";

// Commands, the runtime and the Azure SDKs load on first use (import() below): `--help` and a usage
// error read only this program and commander, so the built CLI answers them in well under a second.
const commands = {
  checkConfig: () => import("./commands/checkConfig.js"),
  confirm: () => import("./commands/confirm.js"),
  incidents: () => import("./commands/incidents.js"),
  plan: () => import("./commands/plan.js"),
  probe: () => import("./commands/probe.js"),
  rotate: () => import("./commands/rotate.js"),
  sandbox: () => import("./commands/sandbox.js"),
  status: () => import("./commands/status.js"),
};
const environment = () => import("./environment.js");

/**
 * `mcp-sso-rotator` — the operator CLI. Same engine and Storage as the Function App (src/runtime),
 * so everything it does is journaled, leased and alerted exactly as a timer or API pass would be.
 * Returns the exit code instead of exiting, so tests run it in-process.
 */
const COMMON_HELP = `
Where it runs:
  By default it reads the Function App's app settings from the environment (or --settings
  local.settings.json) and signs in with DefaultAzureCredential (az login, a managed identity, or
  AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET). --emulators starts the local emulators
  seeded as in \`npm run demo\` and runs against them instead.

Exit codes: 0 ok · 1 a failed check or run · 2 bad usage or configuration · 3 another run holds the lease`;

type Handler = (ctx: CommandContext, opts: Record<string, unknown>, args: string[]) => Promise<{ code: ExitCode; body: Record<string, unknown> }>;

/** What the process entry adds to the CLI: the dev entry (scripts/cli.ts) gives `--emulators` its emulators. */
export interface CliEntry {
  startEmulators?: StartEmulators;
}

export async function runCli(argv: readonly string[], io: CliIo, entry: CliEntry = {}): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const program = rootCommand(io);

  const define = (name: string, summary: string, examples: string[], handler: Handler, extra: (c: Command) => Command = (c) => c): Command => {
    const cmd = extra(program.command(name).description(summary))
      .addOption(new Option("-s, --set <name>", "only this credential set (default: all)"))
      .option("--json", "print one JSON object on stdout (human lines go to stderr)")
      .option("--emulators", "start the local emulators seeded as in `npm run demo` and run against them")
      .option("--settings <file>", "read app settings from a Functions local.settings.json (over the environment)")
      .option("-v, --verbose", "show debug log lines")
      .addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n${COMMON_HELP}`);
    cmd.action(async (...actionArgs: unknown[]) => {
      const command = actionArgs.at(-1) as Command;
      const opts = command.opts<CommonOptions & Record<string, unknown>>();
      exitCode = await execute(io, entry, opts, (ctx) => handler(ctx, opts, command.args), command.name());
    });
    return cmd;
  };

  define(
    "plan",
    "show what the next pass would do for each set (reads only)",
    ["npx mcp-sso-rotator plan", "npx mcp-sso-rotator plan --set cequence-sso --force", "npx mcp-sso-rotator plan --emulators --json"],
    async (ctx, o) => (await commands.plan()).planCommand(ctx, modeOf(o)),
    (c) => c.option("--force", "plan a forced rotation").option("--emergency", "plan an emergency rotation"),
  );
  define(
    "rotate",
    "run a rotation pass now (under the set's lease; resumes an active run)",
    [
      "npx mcp-sso-rotator rotate --set cequence-sso            # rotate if due",
      "npx mcp-sso-rotator rotate --set cequence-sso --force    # rotate now",
      "npx mcp-sso-rotator rotate --set cequence-sso --emergency --wait   # leaked secret: rotate and retire the old one at once",
      "npx mcp-sso-rotator rotate --dry-run --force             # the plan only",
    ],
    async (ctx, o) =>
      o["dryRun"] ? (await commands.plan()).planCommand(ctx, modeOf(o)) : (await commands.rotate()).rotateCommand(ctx, { mode: modeOf(o), ...waitOf(o) }),
    (c) =>
      withWaitOptions(
        c
          .addOption(new Option("--force", "rotate even if not due").conflicts("emergency"))
          .addOption(new Option("--emergency", "rotate now and retire the previous secret without a grace period").conflicts("force"))
          .option("--dry-run", "print the plan and change nothing"),
        "repeat passes until the run finishes, needs an operator, or only its grace period is left",
      ),
  );
  define(
    "confirm",
    "confirm a manual gateway's MCP servers were updated by hand, one (--target) or all; the run goes on when every one is confirmed",
    [
      "npx mcp-sso-rotator confirm 20261201T030000Z-1a2b3c4d --target cequence-sso-mcp-01 --by alice",
      "npx mcp-sso-rotator confirm 20261201T030000Z-1a2b3c4d --by alice   # every server of the run",
    ],
    async (ctx, o, args) =>
      (await commands.confirm()).confirmCommand(ctx, args[0]!, typeof o["by"] === "string" ? o["by"] : undefined, {
        ...waitOf(o),
        ...(typeof o["target"] === "string" ? { target: o["target"] } : {}),
      }),
    (c) =>
      withWaitOptions(
        c
          .argument("<runId>", "the run awaiting confirmation")
          .option("--by <name>", "who confirms (default: your user name)")
          .option("--target <name>", "the one MCP server you updated (its name or ID); without it, every server of the run"),
        "repeat passes until the run finishes",
      ),
  );
  define(
    "probe",
    "run every health check now and print the result (exit 1 if any fails)",
    [
      "npx mcp-sso-rotator probe",
      "npx mcp-sso-rotator probe --set cequence-sso --json",
      "npx mcp-sso-rotator probe --alert   # as the health timer: incidents too",
    ],
    async (ctx, o) => (await commands.probe()).probeCommand(ctx, { alert: o["alert"] === true }),
    (c) => c.option("--alert", "run the health timer's whole pass: open, update and resolve incidents and notify the channels"),
  );
  define(
    "status",
    "per set: verdict and its age, secrets and expiry, runs, targets, checks, incidents (exit 1 if failing, unknown or a dependency is unreadable)",
    ["npx mcp-sso-rotator status", "npx mcp-sso-rotator status --probe", "npx mcp-sso-rotator status --json | jq '.sets[].verdict'"],
    async (ctx, o) => (await commands.status()).statusCommand(ctx, { probe: o["probe"] === true }),
    (c) => c.option("--probe", "run every health check first, so the verdict is as of now (no incidents are opened)"),
  );
  define(
    "incidents",
    "list open incidents, or resolve one by hand",
    ["npx mcp-sso-rotator incidents", "npx mcp-sso-rotator incidents --resolve mcp-sso-rotator.cequence-sso.token"],
    async (ctx, o) => (await commands.incidents()).incidentsCommand(ctx, typeof o["resolve"] === "string" ? o["resolve"] : undefined),
    (c) => c.option("--resolve <key>", "resolve the open incident with this dedup key now"),
  );
  defineCheckConfig(program, io, entry, (code) => {
    exitCode = code;
  });
  defineSandbox(program, io, (code) => {
    exitCode = code;
  });

  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version are successes; every other parse error is bad usage.
      return e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" ? EXIT.ok : EXIT.usage;
    }
    throw e;
  }
}

/** The program itself: its help, and output to the given streams; parse errors throw instead of exiting the process. */
function rootCommand(io: CliIo): Command {
  return new Command("mcp-sso-rotator")
    .description("Rotate and check the shared Entra ID client secret of the MCP servers behind an AI gateway.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `${COMMON_HELP}\n\nExamples:\n  $ npx mcp-sso-rotator status\n  $ npx mcp-sso-rotator plan --emulators --json\n  $ npx mcp-sso-rotator rotate --set cequence-sso --emergency --wait\n  $ npx mcp-sso-rotator <command> --help`,
    );
}

/** check-config needs no runtime (nothing is signed in or touched) unless --emulators. */
function defineCheckConfig(program: Command, io: CliIo, entry: CliEntry, done: (code: ExitCode) => void): void {
  program
    .command("check-config")
    .description("validate the app settings and credential sets; touches nothing (exit 2 when invalid)")
    .option("--sets-file <file>", "validate this credential-set file alone")
    .addOption(new Option("-s, --set <name>", "only show this credential set"))
    .option("--json", "print one JSON object on stdout")
    .option("--emulators", "validate the emulator world's credential sets")
    .option("--settings <file>", "validate a Functions local.settings.json and the sets it names")
    .addHelpText(
      "after",
      `\nExamples:\n  $ npx mcp-sso-rotator check-config --sets-file docs/examples/credential-sets.example.json\n  $ npx mcp-sso-rotator check-config --settings local.settings.json\n${COMMON_HELP}`,
    )
    .action(async (opts: CommonOptions & { setsFile?: string }) => {
      let env: CliEnvironment | undefined;
      done(
        await withoutRuntime(io, opts, "check-config", async (out) => {
          try {
            if (opts.emulators)
              env = await (await environment()).openEnvironment({ emulators: true, ...entry, env: io.env, cwd: io.cwd, hooks: {}, say: (l) => out.say(l) });
            return (await commands.checkConfig()).checkConfigCommand(out, {
              ...(opts.setsFile ? { setsFile: opts.setsFile } : {}),
              ...(opts.settings ? { settingsFile: opts.settings } : {}),
              ...(opts.set ? { set: opts.set } : {}),
              env: io.env,
              cwd: io.cwd,
              ...(env ? { emulatorSets: env.runtime.sets } : {}),
            });
          } finally {
            await env?.close();
          }
        }),
      );
    });
}

/** A command that builds no runtime: its result (or its error) printed as every command's is, and its exit code. */
async function withoutRuntime(
  io: CliIo,
  opts: CommonOptions,
  name: string,
  run: (out: Output) => Promise<{ code: ExitCode; body: Record<string, unknown> }> | { code: ExitCode; body: Record<string, unknown> },
): Promise<ExitCode> {
  const out = new Output(io, opts.json === true);
  try {
    const r = await run(out);
    out.result({ ...r.body, exitCode: r.code });
    return r.code;
  } catch (e) {
    const error = out.error(e);
    const exitCode = exitFor(e);
    out.result({ command: name, ok: false, exitCode, error });
    return exitCode;
  }
}

/** `sandbox advance <duration>`: needs no runtime, only the sandbox's clock URL from the settings. */
function defineSandbox(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command("sandbox")
    .description("the operator sandbox that `npm run emulators` starts (refused anywhere else)")
    .command("advance")
    .description("move the sandbox's shared clock forward (the emulators' and the CLI's), e.g. past a grace period")
    .argument("<duration>", "how far: 30s, 90m, 25h, 2d")
    .option("--settings <file>", "the sandbox's settings file (.emulators/local.settings.json)")
    .option("--emulators", "refused: --emulators has no clock that outlives one command")
    .option("--json", "print one JSON object on stdout")
    .addHelpText("after", `\nExamples:\n  $ npx mcp-sso-rotator sandbox advance 25h --settings .emulators/local.settings.json\n${COMMON_HELP}`)
    .action(async (duration: string, opts: CommonOptions) => {
      const { sandboxAdvanceCommand } = await commands.sandbox();
      done(
        await withoutRuntime(io, opts, "sandbox advance", (out) =>
          sandboxAdvanceCommand(out, {
            duration,
            ...(opts.settings ? { settingsFile: opts.settings } : {}),
            emulators: opts.emulators === true,
            env: io.env,
            cwd: io.cwd,
          }),
        ),
      );
    });
}

/** Opens the environment, runs one command, prints its JSON object last, and always cleans up. */
async function execute(io: CliIo, entry: CliEntry, opts: CommonOptions, run: (ctx: CommandContext) => ReturnType<Handler>, name: string): Promise<ExitCode> {
  const out = new Output(io, opts.json === true);
  let env: CliEnvironment | undefined;
  try {
    const { openEnvironment, selectSets } = await environment();
    const progress = new (await import("./progress.js")).PassProgress(out, opts.verbose === true);
    env = await openEnvironment({
      emulators: opts.emulators === true,
      ...entry,
      ...(opts.settings ? { settingsFile: opts.settings } : {}),
      env: io.env,
      cwd: io.cwd,
      hooks: progress.hooks,
      say: (l) => out.say(l),
    });
    const runtime = env.runtime;
    out.useRedactor(runtime.redactor);
    if (opts.verbose) out.say(`using ${env.source}: ${runtime.sets.length} credential set(s)`);
    const sets = selectSets(runtime, opts.set);
    const loggers = new Map<string, ReturnType<PassProgress["logger"]>>();
    const ctx: CommandContext = {
      runtime,
      out,
      progress,
      sets,
      loggerFor: (set: CredentialSet) => {
        let l = loggers.get(set.name);
        if (!l) loggers.set(set.name, (l = progress.logger(runtime.redactor)));
        return l;
      },
    };
    const { code, body } = await run(ctx);
    out.result({ ...body, exitCode: code });
    return code;
  } catch (e) {
    const error = out.error(e);
    const code = exitFor(e);
    out.result({ command: name, ok: false, exitCode: code, error });
    return code;
  } finally {
    await env?.close();
  }
}

function modeOf(o: Record<string, unknown>): RotationMode {
  return o["emergency"] ? "emergency" : o["force"] ? "force" : "scheduled";
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
}

/** --wait, --timeout and --interval, as rotate and confirm take them. */
function withWaitOptions(c: Command, waitHelp: string): Command {
  return c
    .option("--wait", waitHelp)
    .option("--timeout <minutes>", "with --wait: give up after this long", positive, 15)
    .option("--interval <seconds>", "with --wait: pause between passes", positive, 10);
}

/** What --wait, --timeout and --interval ask for, in milliseconds. */
function waitOf(o: Record<string, unknown>): { wait: boolean; timeoutInMs: number; intervalMs: number } {
  return {
    wait: o["wait"] === true,
    timeoutInMs: (typeof o["timeout"] === "number" ? o["timeout"] : 15) * 60_000,
    intervalMs: (typeof o["interval"] === "number" ? o["interval"] : 10) * 1000,
  };
}
