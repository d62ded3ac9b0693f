import type { CredentialSet } from "../config/schema.js";
import type { Logger } from "../logging.js";
import type { BuiltRuntime } from "../runtime/createRuntime.js";
import type { Output } from "./output.js";
import type { PassProgress } from "./progress.js";

/** What every command gets: the runtime (same engine and Storage as the functions) and the output. */
export interface CommandContext {
  runtime: BuiltRuntime;
  out: Output;
  progress: PassProgress;
  /** The selected sets (`--set`, or all). */
  sets: readonly CredentialSet[];
  loggerFor(set: CredentialSet): Logger;
}

/** Common options of every command. */
export interface CommonOptions {
  set?: string;
  json?: boolean;
  emulators?: boolean;
  settings?: string;
  verbose?: boolean;
}
