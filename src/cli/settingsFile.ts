import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../errors.js";
import { locateJsonProblem } from "../config/jsonSyntax.js";

/**
 * The "Values" of a Functions local.settings.json — the same app settings the Function App reads —
 * and the folder relative paths in them (CREDENTIAL_SETS_FILE, EXTRA_CA_FILE) resolve against.
 */
export function readLocalSettings(cwd: string, file: string): { values: Record<string, string>; file: string; dir: string } {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (e) {
    throw new ConfigError(abs, [
      `(file): cannot read it (${(e as NodeJS.ErrnoException).code ?? "read failed"}) — give the path of a Functions local.settings.json`,
    ]);
  }
  let doc: { Values?: unknown };
  try {
    doc = JSON.parse(text) as { Values?: unknown };
  } catch {
    // JSON.parse's message quotes the text around the error — here, the start of a secret. Name
    // where and why, never what (issue 26, defect 8).
    const at = locateJsonProblem(text);
    throw new ConfigError(abs, [
      `(file): not valid JSON${at ? ` at line ${at.line}, column ${at.column}: ${at.reason}` : ""} — give a Functions local.settings.json`,
    ]);
  }
  if (typeof doc.Values !== "object" || doc.Values === null)
    throw new ConfigError(abs, ['Values: missing — a local.settings.json keeps the app settings in a "Values" object']);
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.Values)) if (v !== undefined && v !== null) values[k] = String(v);
  return { values, file: abs, dir: path.dirname(abs) };
}
