import { ensureRotatorError, type ErrorSummary } from "../errors.js";
import type { Redactor } from "../redact.js";
import { printable, printableJson } from "../printable.js";

/**
 * Exit codes, the CLI's contract with scripts and runbooks:
 * 0 ok · 1 a failed check or run · 2 bad usage or configuration · 3 another run holds the set's lease.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Combines per-set outcomes: a bad configuration outranks a failure, which outranks a busy set. */
export function worstExit(codes: Iterable<ExitCode>): ExitCode {
  const rank: Record<ExitCode, number> = { 0: 0, 3: 1, 1: 2, 2: 3 };
  let worst: ExitCode = EXIT.ok;
  for (const c of codes) if (rank[c] > rank[worst]) worst = c;
  return worst;
}

/** Where the CLI writes; a process gives its real streams, tests give buffers. */
export interface CliStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: CliStream;
  stderr: CliStream;
  env: Record<string, string | undefined>;
  cwd: string;
}

/**
 * Human lines and the one JSON object. With `--json`, stdout carries exactly one JSON object (the
 * last and only thing on it) and the human lines move to stderr, so `… --json | jq` works and a
 * person watching still sees progress. Everything passes the redactor and `printable` on its way
 * out (issue 26, defect 2): this class is the one place the CLI writes.
 */
export class Output {
  private redactor?: Redactor;

  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  useRedactor(redactor: Redactor): void {
    this.redactor = redactor;
  }

  /** The stream human lines and the progress bar go to. */
  get human(): CliStream {
    return this.json ? this.io.stderr : this.io.stdout;
  }

  say(line = ""): void {
    this.human.write(`${this.clean(line)}\n`);
  }

  warn(line: string): void {
    this.io.stderr.write(`${this.clean(line)}\n`);
  }

  error(err: unknown): ErrorSummary {
    const e = ensureRotatorError(err);
    this.io.stderr.write(`${this.clean(`error ${e.code}: ${e.message}`)}\n${this.clean(`hint: ${e.hint}`)}\n`);
    return e.toJSON();
  }

  result(body: Record<string, unknown>): void {
    // Redact the JSON text, then write DEL, C1 and bidi controls as \uXXXX (JSON.stringify leaves them raw).
    if (this.json) this.io.stdout.write(`${printableJson(JSON.parse(this.redacted(JSON.stringify(body))))}\n`);
  }

  /**
   * Every human line passes here: redacted, then every control character a terminal would act on
   * (ESC sequences, OSC 8 links, CR, backspace, C1, bidi) shown as `\uXXXX`. Line breaks stay:
   * multi-line messages are ours.
   */
  clean(text: string): string {
    return printable(this.redacted(text), { keepNewlines: true });
  }

  private redacted(text: string): string {
    return this.redactor ? this.redactor.redact(text) : text;
  }
}

/** Maps an error to its exit code: configuration and usage problems are 2, a held lease 3. */
export function exitFor(err: unknown): ExitCode {
  const code = ensureRotatorError(err).code;
  if (code === "ROTATION_IN_PROGRESS") return EXIT.busy;
  if (
    code === "CONFIG_INVALID" ||
    code === "CLI_USAGE" ||
    code === "SANDBOX_ONLY" ||
    code === "SET_NOT_FOUND" ||
    code === "RUN_NOT_FOUND" ||
    code === "INCIDENT_NOT_FOUND" ||
    code === "CONFIRM_TARGET_UNKNOWN"
  )
    return EXIT.usage;
  return EXIT.failed;
}
