import { errorCodeInfo, type ErrorCode } from "./errorCodes.js";

/**
 * One error shape for the whole service: a stable `code` that alerts, journals and
 * HTTP answers can key on, and a `hint` that tells an operator what to do next.
 * Upstream details (HTTP status, AADSTS code, Graph error code) ride along when known.
 */
export interface RotatorErrorOptions {
  hint: string;
  status?: number;
  aadsts?: number;
  upstreamCode?: string;
  retryable?: boolean;
  cause?: unknown;
}

export class RotatorError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly status?: number;
  readonly aadsts?: number;
  readonly upstreamCode?: string;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: RotatorErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RotatorError";
    this.code = code;
    this.hint = options.hint;
    this.status = options.status;
    this.aadsts = options.aadsts;
    this.upstreamCode = options.upstreamCode;
    this.retryable = options.retryable ?? errorCodeInfo(code).retryable;
  }

  /** A plain, secret-free object for journals, logs and HTTP answers. */
  toJSON(): ErrorSummary {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      ...(this.status !== undefined ? { status: this.status } : {}),
      ...(this.aadsts !== undefined ? { aadsts: this.aadsts } : {}),
      ...(this.upstreamCode !== undefined ? { upstreamCode: this.upstreamCode } : {}),
    };
  }
}

export interface ErrorSummary {
  code: string;
  message: string;
  hint: string;
  status?: number;
  aadsts?: number;
  upstreamCode?: string;
}

/** Configuration that cannot be loaded; `issues` lists every bad field. */
export class ConfigError extends RotatorError {
  readonly issues: readonly string[];
  constructor(source: string, issues: readonly string[]) {
    super("CONFIG_INVALID", `${source} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` + issues.map((i) => `  - ${i}`).join("\n"), {
      hint: "Fix every field listed above, then start again. Nothing was written.",
    });
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * Why a signal was aborted, as an Error: the reason its controller gave (ours give a RotatorError;
 * a bare abort() gives an AbortError), or an "aborted" error carrying anything else as its cause.
 */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("aborted", { cause: reason });
}

/** Normalises whatever was thrown into a RotatorError so every catch site sees one shape. */
export function ensureRotatorError(err: unknown, fallbackCode: ErrorCode = "UNEXPECTED"): RotatorError {
  if (err instanceof RotatorError) return err;
  if (err instanceof Error) {
    return new RotatorError(fallbackCode, err.message, {
      hint: "An unexpected error occurred; see the run journal and logs for the failing step.",
      cause: err,
    });
  }
  return new RotatorError(fallbackCode, String(err), {
    hint: "An unexpected non-Error value was thrown; report this as a bug.",
  });
}

/** Extracts the first AADSTS number from an Entra error text. */
export function parseAadsts(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /AADSTS(\d{5,7})/.exec(text);
  return m ? Number(m[1]) : undefined;
}
