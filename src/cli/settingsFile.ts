import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../errors.js";

/**
 * The "Values" of a Functions local.settings.json — the same app settings the Function App reads —
 * and the folder relative paths in them (CREDENTIAL_SETS_FILE, EXTRA_CA_FILE) resolve against.
 */
export function readLocalSettings(cwd: string, file: string): { values: Record<string, string>; file: string; dir: string } {
  const abs = path.resolve(cwd, file);
  let doc: { Values?: unknown };
  try {
    doc = JSON.parse(readFileSync(abs, "utf8")) as { Values?: unknown };
  } catch (e) {
    throw new ConfigError(abs, [`(file): cannot read it as JSON (${(e as Error).message.split("\n")[0]}) — give a Functions local.settings.json`]);
  }
  if (typeof doc.Values !== "object" || doc.Values === null) throw new ConfigError(abs, ['Values: missing — a local.settings.json keeps the app settings in a "Values" object']);
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.Values)) if (v !== undefined && v !== null) values[k] = String(v);
  return { values, file: abs, dir: path.dirname(abs) };
}
