import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../errors.js";
import { parseWithFixes, renderPath, type ParseOutcome } from "./issues.js";
import { locateJsonProblem } from "./jsonSyntax.js";
import { credentialSetFileSchema, crossSetProblems, type CredentialSet } from "./schema.js";
import { collectAppSettings, type AppSettings, type Env } from "./settings.js";

/**
 * Loading the configuration: the app settings and the credential-set file they point at, checked
 * together so an operator gets ONE ConfigError listing every bad field, each as
 * `path: what is wrong — how to fix it`. Nothing here writes anything.
 */

export interface CredentialSetSourceInput {
  file?: string;
  json?: string;
}

export interface LoadCredentialSetsOptions {
  /** Base for a relative file path; defaults to the process's working directory (the app root on Azure). */
  cwd?: string;
  /** Name shown in front of file-level problems; defaults to the app setting (CREDENTIAL_SETS_FILE / _JSON). */
  label?: string;
}

export interface LoadedConfig {
  settings: AppSettings;
  sets: CredentialSet[];
  /** Contents of EXTRA_CA_FILE, ready for the clients' `ca` options (emulators only). */
  extraCaPem?: string;
}

/** A credential-set file is a few KB; anything this big is the wrong file. */
const MAX_FILE_BYTES = 1024 * 1024;
/** A credential-set file nests about 5 levels; far deeper is not a configuration (and would exhaust the stack). */
const MAX_JSON_DEPTH = 64;

/** Reads, parses and validates the credential sets; returns every problem instead of throwing — whatever the input. */
export function collectCredentialSets(source: CredentialSetSourceInput, options: LoadCredentialSetsOptions = {}): ParseOutcome<CredentialSet[]> {
  try {
    return collectCredentialSetsUnguarded(source, options);
  } catch (err) {
    // No input may crash the loader with something other than a ConfigError (a stack overflow, a bug).
    const label = options.label ?? (source.file !== undefined && source.file.trim() !== "" ? "CREDENTIAL_SETS_FILE" : "CREDENTIAL_SETS_JSON");
    return fail(
      `${label}: could not be checked (${err instanceof Error ? err.name : "unexpected error"}) — simplify the file to the documented shape; see docs/examples/credential-sets.example.json`,
    );
  }
}

function collectCredentialSetsUnguarded(source: CredentialSetSourceInput, options: LoadCredentialSetsOptions = {}): ParseOutcome<CredentialSet[]> {
  const hasFile = source.file !== undefined && source.file.trim() !== "";
  const hasJson = source.json !== undefined && source.json.trim() !== "";
  if (hasFile === hasJson) {
    return {
      ok: false,
      issues: [
        hasFile
          ? `CREDENTIAL_SETS_JSON: is set together with CREDENTIAL_SETS_FILE — keep exactly one of them and remove the other`
          : `CREDENTIAL_SETS_FILE: is not set (nor CREDENTIAL_SETS_JSON) — set CREDENTIAL_SETS_FILE to the path of the credential-set JSON file, or CREDENTIAL_SETS_JSON to its content`,
      ],
    };
  }

  let text: string;
  let label: string;
  if (hasFile) {
    label = options.label ?? "CREDENTIAL_SETS_FILE";
    const read = readSmallTextFile(source.file!.trim(), options.cwd, label, "the credential-set JSON file", options.label === undefined);
    if (!read.ok) return read;
    text = read.value;
  } else {
    label = options.label ?? "CREDENTIAL_SETS_JSON";
    text = source.json!;
    if (text.length > MAX_FILE_BYTES) {
      return fail(
        `${label}: is ${text.length} characters, far more than a credential-set file should be — check that the setting holds the credential-set JSON`,
      );
    }
  }

  const parsed = parseJson(text, label);
  if (!parsed.ok) return parsed;
  const result = parseWithFixes(credentialSetFileSchema, parsed.value);
  if (result.ok) return { ok: true, value: result.value.sets };
  // The schema skips its cross-set check after an aborting issue; run it on the raw sets so
  // duplicates are still reported with everything else.
  const rawSets = (parsed.value as { sets?: unknown } | null)?.sets;
  const extra = Array.isArray(rawSets) ? crossSetProblems(rawSets).map((p) => `${renderPath(p.path)}: ${p.message}`) : [];
  return { ok: false, issues: [...new Set([...result.issues, ...extra])] };
}

/** Reads, parses and validates the credential sets; throws one ConfigError listing every problem. */
export function loadCredentialSets(source: CredentialSetSourceInput, options: LoadCredentialSetsOptions = {}): CredentialSet[] {
  const outcome = collectCredentialSets(source, options);
  if (!outcome.ok) throw new ConfigError(describeSource(source, options.cwd), outcome.issues);
  return outcome.value;
}

/**
 * Loads the app settings and the credential sets they name. Problems in both are reported
 * together in one ConfigError.
 */
export function loadConfig(env: Env, options: { cwd?: string } = {}): LoadedConfig {
  const issues: string[] = [];
  const settings = collectAppSettings(env);
  if (!settings.ok) issues.push(...settings.issues);

  // The sets can be checked as long as it is clear where they come from, even if other settings are bad.
  const file = nonEmpty(env.CREDENTIAL_SETS_FILE);
  const json = nonEmpty(env.CREDENTIAL_SETS_JSON);
  let sets: CredentialSet[] = [];
  if ((file === undefined) !== (json === undefined)) {
    const outcome = collectCredentialSets(file !== undefined ? { file } : { json: json! }, options);
    if (outcome.ok) sets = outcome.value;
    else issues.push(...outcome.issues);
  }

  let extraCaPem: string | undefined;
  if (settings.ok && settings.value.extraCaFile !== undefined) {
    const ca = readExtraCa(settings.value.extraCaFile, options.cwd);
    if (ca.ok) extraCaPem = ca.value;
    else issues.push(...ca.issues);
  }

  if (!settings.ok || issues.length > 0) {
    const where =
      file !== undefined ? `, credential-set file ${path.resolve(options.cwd ?? process.cwd(), file)}` : json !== undefined ? ", CREDENTIAL_SETS_JSON" : "";
    throw new ConfigError(`configuration (app settings${where})`, issues);
  }
  return { settings: settings.value, sets, ...(extraCaPem !== undefined ? { extraCaPem } : {}) };
}

function describeSource(source: CredentialSetSourceInput, cwd: string | undefined): string {
  if (source.file !== undefined && source.file.trim() !== "" && (source.json === undefined || source.json.trim() === "")) {
    return `credential-set file ${path.resolve(cwd ?? process.cwd(), source.file.trim())}`;
  }
  if (source.json !== undefined && source.json.trim() !== "" && (source.file === undefined || source.file.trim() === "")) {
    return "CREDENTIAL_SETS_JSON";
  }
  return "credential-set source";
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== "" ? v.trim() : undefined;
}

/** `labelIsSetting`: the label names an app setting, so the fix can point at it. */
function readSmallTextFile(file: string, cwd: string | undefined, label: string, what: string, labelIsSetting = true): ParseOutcome<string> {
  const abs = path.resolve(cwd ?? process.cwd(), file);
  const inSetting = labelIsSetting ? ` in ${label}` : "";
  const relNote = path.isAbsolute(file) ? "" : ` (relative paths resolve against ${cwd ?? process.cwd()})`;
  try {
    // Only a regular file: a FIFO would block the open or the read for ever, a device never ends.
    const st = statSync(abs);
    if (st.isDirectory()) return fail(`${label}: ${abs} is a folder, not a file — give the path of ${what}${inSetting}`);
    if (!st.isFile()) return fail(`${label}: ${abs} is not a regular file (${kindOf(st)}) — give the path of ${what}${inSetting}`);
    // O_NONBLOCK: should the path turn into a FIFO after the check, open does not wait for a writer.
    const fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const again = fstatSync(fd);
      if (!again.isFile()) return fail(`${label}: ${abs} is not a regular file (${kindOf(again)}) — give the path of ${what}${inSetting}`);
      // The cap is enforced while reading: st.size can be wrong (procfs, a file still growing).
      const chunks: Buffer[] = [];
      let total = 0;
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        total += n;
        if (total > MAX_FILE_BYTES) {
          return fail(
            `${label}: ${abs} is more than ${MAX_FILE_BYTES} bytes, far more than ${what} should be — check that the path${inSetting} names the right file`,
          );
        }
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return { ok: true, value: Buffer.concat(chunks).toString("utf8") };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      return fail(`${label}: ${abs} does not exist — check the path${inSetting}${relNote}, or deploy ${what} with the app`);
    }
    if (code === "EACCES" || code === "EPERM") {
      return fail(`${label}: ${abs} cannot be read (permission denied) — let the Function App's user read it`);
    }
    return fail(`${label}: ${abs} cannot be read (${code ?? "unknown error"}) — check the path and the file`);
  }
}

function kindOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isFIFO()) return "a named pipe";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "not a plain file";
}

/** Deepest nesting of objects and arrays, counted without parsing (strings skipped). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

function parseJson(text: string, label: string): ParseOutcome<unknown> {
  // Notepad and friends save UTF-8 with a byte-order mark, which JSON.parse refuses.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === "") {
    return fail(`${label}: is empty — it must hold a JSON object like { "sets": [ … ] }; see docs/examples/credential-sets.example.json`);
  }
  const depth = jsonDepth(body);
  if (depth > MAX_JSON_DEPTH) {
    return fail(
      `${label}: nests objects or arrays ${depth} levels deep (at most ${MAX_JSON_DEPTH}) — this is not a credential-set file; see docs/examples/credential-sets.example.json`,
    );
  }
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    const problem = locateJsonProblem(body);
    return fail(
      problem
        ? `${label}: is not valid JSON at line ${problem.line}, column ${problem.column}: ${problem.reason}`
        : `${label}: is not valid JSON — check it with a JSON linter or editor, which shows the spot`,
    );
  }
}

function readExtraCa(file: string, cwd: string | undefined): ParseOutcome<string> {
  const read = readSmallTextFile(file, cwd, "EXTRA_CA_FILE", "a PEM file with the emulator CA certificate");
  if (!read.ok) return read;
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(read.value)) {
    return fail(`EXTRA_CA_FILE: contains a private key — give only the CA certificate (-----BEGIN CERTIFICATE-----) and keep the key elsewhere`);
  }
  if (!read.value.includes("-----BEGIN CERTIFICATE-----")) {
    return fail(`EXTRA_CA_FILE: is not a PEM certificate file (no -----BEGIN CERTIFICATE----- block) — export the emulator CA as PEM`);
  }
  return read;
}

function fail<T>(issue: string): ParseOutcome<T> {
  return { ok: false, issues: [issue] };
}
