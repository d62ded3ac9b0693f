import path from "node:path";
import { collectAppSettings, describeAppSettings } from "../../config/settings.js";
import { collectCredentialSets, loadConfig } from "../../config/load.js";
import type { CredentialSet } from "../../config/schema.js";
import { describeCredentialSets } from "../../config/summary.js";
import { oldFormAdvice } from "../../config/groups.js";
import { ConfigError } from "../../errors.js";
import type { Output, ExitCode } from "../output.js";
import { readLocalSettings } from "../settingsFile.js";
import { EXIT } from "../output.js";

/**
 * `check-config`: validates, touches nothing. Either a credential-set file alone (--sets-file), or
 * the app settings (environment, or --settings local.settings.json) with the sets they name, or
 * the emulator world's sets. Every bad field is listed with its fix; exit 2 when anything is wrong.
 */
export function checkConfigCommand(
  out: Output,
  source: {
    setsFile?: string;
    settingsFile?: string;
    env: Record<string, string | undefined>;
    cwd: string;
    emulatorSets?: readonly CredentialSet[];
    set?: string;
  },
): { code: ExitCode; body: Record<string, unknown> } {
  try {
    let sets: CredentialSet[];
    let settings: Record<string, unknown> | undefined;
    let where: string;
    if (source.emulatorSets) {
      // Round-trip the seeded sets through the same loader a file goes through.
      const outcome = collectCredentialSets({ json: JSON.stringify({ sets: source.emulatorSets }) }, { label: "emulator credential sets" });
      if (!outcome.ok) throw new ConfigError("emulator credential sets", outcome.issues);
      sets = outcome.value;
      where = "local emulators";
    } else if (source.setsFile) {
      const file = path.resolve(source.cwd, source.setsFile);
      const outcome = collectCredentialSets({ file }, { label: "file", cwd: source.cwd });
      if (!outcome.ok) throw new ConfigError(file, outcome.issues);
      sets = outcome.value;
      where = file;
    } else {
      const { values, cwd, label } = settingsSource(source);
      const app = collectAppSettings(values);
      const config = loadConfig(values, { cwd });
      sets = config.sets;
      settings = app.ok ? describeAppSettings(app.value) : undefined;
      where = label;
    }
    const shown = source.set ? sets.filter((s) => s.name === source.set) : sets;
    if (source.set && shown.length === 0)
      throw new ConfigError(where, [`--set: no credential set named "${source.set}" — the file has ${sets.map((s) => s.name).join(", ") || "none"}`]);
    out.say(`${where}: ${settings ? "app settings OK, " : ""}${sets.length} credential set${sets.length === 1 ? "" : "s"} OK`);
    out.say();
    if (settings) out.say(JSON.stringify(settings, null, 2));
    out.say(describeCredentialSets(shown));
    // The old single-gateway form keeps working; say once per set how to write the new one.
    const advice = shown.map(oldFormAdvice).filter((a): a is string => a !== undefined);
    for (const a of advice) out.say(`note: ${a}`);
    return {
      code: EXIT.ok,
      body: {
        command: "check-config",
        ok: true,
        source: where,
        sets: shown.map((s) => s.name),
        ...(settings ? { settings } : {}),
        ...(advice.length ? { advice } : {}),
      },
    };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    out.error(e);
    return { code: EXIT.usage, body: { command: "check-config", ok: false, error: { code: e.code, message: e.message, hint: e.hint }, issues: e.issues } };
  }
}

function settingsSource(source: { settingsFile?: string; env: Record<string, string | undefined>; cwd: string }): {
  values: Record<string, string | undefined>;
  cwd: string;
  label: string;
} {
  if (!source.settingsFile) return { values: source.env, cwd: source.cwd, label: "app settings (environment)" };
  const local = readLocalSettings(source.cwd, source.settingsFile);
  return { values: local.values, cwd: local.dir, label: local.file };
}
