import type { InvocationContext } from "@azure/functions";
import { Redactor } from "./redact.js";
import { printable } from "./printable.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogSink = (level: LogLevel, line: string) => void;

/**
 * Structured-enough logging: every line carries its identifiers as `[key=value]` so one
 * grep finds a whole rotation, and every line passes through the redactor.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(fields: Record<string, string | undefined>): Logger;
}

/** The longest log line written; outside values (an event field, a queue message) can be megabytes. */
export const MAX_LOG_LINE = 4000;

/**
 * A redacted line as it is written (issue 26, defect 9): every control character — a line break
 * that would start a forged `[set=…]` line, ESC, CR — made visible as `\uXXXX`, and at most
 * MAX_LOG_LINE characters. Redaction comes first, so the cut never leaves a secret's fragment.
 */
export function logLine(redacted: string): string {
  const text = printable(redacted);
  return text.length > MAX_LOG_LINE ? `${text.slice(0, MAX_LOG_LINE)}… (${text.length - MAX_LOG_LINE} more characters not logged)` : text;
}

export function createLogger(sink: LogSink, redactor: Redactor = new Redactor(), fields: Record<string, string | undefined> = {}): Logger {
  const prefix = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `[${k}=${v}]`)
    .join(" ");
  const emit = (level: LogLevel, message: string): void => sink(level, logLine(redactor.redact(prefix ? `${prefix} ${message}` : message)));
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
    child: (more) => createLogger(sink, redactor, { ...fields, ...more }),
  };
}

/** A logger that keeps its lines in memory; tests and the demo read them back. */
export function memoryLogger(redactor?: Redactor): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger((level, line) => lines.push(`${level} ${line}`), redactor), lines };
}

export const silentLogger: Logger = createLogger(() => undefined);

/** The log methods of an Azure Functions InvocationContext (kept structural: logging needs no Functions import). */
export type InvocationLog = Pick<InvocationContext, "error" | "warn" | "info" | "debug">;

/**
 * A handler's logger: lines go to the invocation's log (Application Insights in Azure) through the
 * runtime's redactor, the one that learns every secret value the runtime reads or creates — a
 * fresh redactor would know no values and let a secret through.
 */
export function contextLogger(context: InvocationLog, redactor: Redactor, fields: Record<string, string | undefined> = {}): Logger {
  return createLogger(
    (level, line) => {
      if (level === "error") context.error(line);
      else if (level === "warn") context.warn(line);
      else if (level === "debug") context.debug(line);
      else context.info(line);
    },
    redactor,
    fields,
  );
}
