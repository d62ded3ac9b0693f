import { RotatorError } from "../../errors.js";
import { sandboxClockOf } from "../environment.js";
import { EXIT, type ExitCode, type Output } from "../output.js";
import { advanceSandboxClock, parseDuration } from "../sandbox.js";

/**
 * `sandbox advance <duration>`: moves the sandbox's one clock (the emulators' and, from the next
 * command on, the CLI's) forward, e.g. past a 24 h grace period. Refused outside the sandbox.
 */
export async function sandboxAdvanceCommand(
  out: Output,
  options: { duration: string; settingsFile?: string; emulators: boolean; env: Record<string, string | undefined>; cwd: string },
): Promise<{ code: ExitCode; body: Record<string, unknown> }> {
  if (options.emulators) {
    throw new RotatorError("SANDBOX_ONLY", "--emulators starts a fresh world for one command: there is no clock to move between commands", {
      hint: "Start the sandbox with `npm run emulators` and pass `--settings .emulators/local.settings.json` to every command.",
    });
  }
  const advanceMs = parseDuration(options.duration);
  const { url, ca } = sandboxClockOf({ ...(options.settingsFile ? { settingsFile: options.settingsFile } : {}), env: options.env, cwd: options.cwd });
  const now = await advanceSandboxClock(url, ca, advanceMs);
  out.say(`sandbox clock moved forward ${options.duration}: it is now ${now}`);
  return { code: EXIT.ok, body: { command: "sandbox advance", ok: true, advancedMs: advanceMs, now } };
}
