/**
 * Checks a configuration without touching anything:
 *
 *   tsx scripts/check-config.ts <credential-sets.json>
 *   tsx scripts/check-config.ts --settings <local.settings.json>
 *
 * The first form validates a credential-set file. The second validates the app settings in a
 * Functions local.settings.json ("Values") together with the credential sets they name (a relative
 * CREDENTIAL_SETS_FILE resolves against the settings file's folder, the app root).
 * Prints the loaded sets, or the one error listing every bad field, and exits non-zero on error.
 * It never writes a file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig, loadCredentialSets } from "../src/config/load.js";
import { describeAppSettings } from "../src/config/settings.js";
import { describeCredentialSets } from "../src/config/summary.js";
import { ConfigError, RotatorError } from "../src/errors.js";

const USAGE = `usage: check-config <credential-sets.json>
       check-config --settings <local.settings.json>`;

function main(argv: readonly string[]): number {
  const args = argv.filter((a) => a !== "--");
  if (args.length === 1 && !args[0]!.startsWith("-")) return checkSetsFile(args[0]!);
  if (args.length === 2 && args[0] === "--settings") return checkSettingsFile(args[1]!);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

function checkSetsFile(file: string): number {
  const sets = loadCredentialSets({ file }, { label: "file" });
  process.stdout.write(`${path.resolve(file)}: ${sets.length} credential set${sets.length === 1 ? "" : "s"} OK\n\n`);
  process.stdout.write(`${describeCredentialSets(sets)}\n`);
  return 0;
}

function checkSettingsFile(file: string): number {
  const abs = path.resolve(file);
  let values: Record<string, string | undefined>;
  try {
    const doc = JSON.parse(readFileSync(abs, "utf8")) as { Values?: unknown };
    if (typeof doc.Values !== "object" || doc.Values === null) throw new Error("no Values object");
    values = Object.fromEntries(Object.entries(doc.Values).map(([k, v]) => [k, v === undefined || v === null ? undefined : String(v)]));
  } catch (err) {
    throw new ConfigError(abs, [
      `(root): cannot read the app settings (${(err as Error).message.replace(/,? ?".*$/s, "")}) — give a Functions local.settings.json with a "Values" object`,
    ]);
  }
  const config = loadConfig(values, { cwd: path.dirname(abs) });
  process.stdout.write(`${abs}: app settings OK, ${config.sets.length} credential set${config.sets.length === 1 ? "" : "s"} OK\n\n`);
  process.stdout.write(`${JSON.stringify(describeAppSettings(config.settings), null, 2)}\n\n`);
  process.stdout.write(`${describeCredentialSets(config.sets)}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (err instanceof RotatorError) {
    process.stderr.write(`${err.message}\n${err.hint}\n`);
  } else {
    process.stderr.write(`check-config failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exitCode = 1;
}
