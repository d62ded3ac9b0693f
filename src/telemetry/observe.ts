import type { Logger, LogLevel } from "../logging.js";
import type { Redactor } from "../redact.js";
import type { Telemetry } from "./telemetry.js";

/**
 * The same logger, each line also sent as a log record with the logger's identifiers (set, run …)
 * as attributes. The record's body goes through the same redactor as the line itself.
 */
export function observedLogger(inner: Logger, telemetry: Telemetry, redactor: Redactor, fields: Record<string, string | undefined> = {}): Logger {
  const emit = (level: LogLevel, message: string): void => {
    inner[level](message);
    telemetry.log(level, redactor.redact(message), fields);
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
    child: (more) => observedLogger(inner.child(more), telemetry, redactor, { ...fields, ...more }),
  };
}
