import type { InvocationContext } from "@azure/functions";
import { Redactor } from "./redact.js";

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

export function createLogger(
  sink: LogSink,
  redactor: Redactor = new Redactor(),
  fields: Record<string, string | undefined> = {},
): Logger {
  const prefix = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `[${k}=${v}]`)
    .join(" ");
  const emit = (level: LogLevel, message: string): void =>
    sink(level, redactor.redact(prefix ? `${prefix} ${message}` : message));
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
  return createLogger((level, line) => {
    if (level === "error") context.error(line);
    else if (level === "warn") context.warn(line);
    else if (level === "debug") context.debug(line);
    else context.info(line);
  }, redactor, fields);
}
