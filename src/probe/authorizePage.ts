import { parseAadsts } from "../errors.js";

/**
 * Reads what Entra's authorize endpoint answered to a request made without a signed-in user.
 * Entra reports configuration errors (AADSTS50011, 700016 …) on an HTML page served with 200: the
 * code is in the page's embedded `$Config` object (`iErrorCode`, `strServiceExceptionMessage`) and
 * in its visible text. A healthy request shows the sign-in page (no error code). An error can also
 * come back as a redirect carrying `error` / `error_description`, or as a JSON error body. Another
 * OpenID Provider answers with its own error page: RFC 6749 §4.1.2.1 forbids redirecting to a
 * redirect URI that failed validation, so the error (`invalid_redirect_uri`, `invalid_client` …)
 * is shown to the user agent, typically as `error: <code>` / `error_description: <text>`.
 */
export interface AuthorizeReading {
  outcome: "sign-in" | "redirect" | "error" | "unknown";
  aadsts?: number;
  /** The OAuth 2.0 `error` code the answer names (`invalid_request`, `invalid_redirect_uri` …), when it names one. */
  error?: string;
  /** The provider's message, stripped of markup and shortened. */
  message?: string;
}

const MAX_MESSAGE = 300;

export function readAuthorizeResponse(status: number, headers: Record<string, string>, body: unknown): AuthorizeReading {
  if (status >= 300 && status < 400) {
    const location = headers["location"];
    if (!location) return { outcome: "unknown", message: `HTTP ${status} without a Location header` };
    let u: URL;
    try {
      u = new URL(location);
    } catch {
      return { outcome: "redirect" };
    }
    const error = u.searchParams.get("error");
    if (error) {
      const description = u.searchParams.get("error_description") ?? error;
      return { outcome: "error", ...codeOf(parseAadsts(description)), ...errorOf(error), message: clean(description) };
    }
    return { outcome: "redirect" };
  }

  if (body && typeof body === "object") {
    const b = body as { error?: unknown; error_description?: unknown; error_codes?: unknown };
    const codes = Array.isArray(b.error_codes) ? b.error_codes.filter((c): c is number => typeof c === "number") : [];
    const description = typeof b.error_description === "string" ? b.error_description : undefined;
    const aadsts = codes[0] ?? parseAadsts(description);
    if (aadsts !== undefined || b.error !== undefined) {
      return { outcome: "error", ...codeOf(aadsts), ...errorOf(b.error), message: clean(description ?? String(b.error)) };
    }
    return { outcome: status < 400 ? "unknown" : "error", message: `HTTP ${status}` };
  }

  const html = typeof body === "string" ? body : "";
  const config = readConfig(html);
  if (config?.iErrorCode !== undefined && config.iErrorCode > 0) {
    return { outcome: "error", aadsts: config.iErrorCode, ...(config.message ? { message: clean(config.message) } : {}) };
  }
  const visible = /AADSTS(\d{5,7})\b[:\s]*([^<\n]*)/.exec(html);
  if (visible) return { outcome: "error", aadsts: Number(visible[1]), message: clean(`AADSTS${visible[1]}: ${visible[2] ?? ""}`) };
  // Not Entra's page (Entra's carries $Config): another provider's error page, read by its words.
  const named = config ? undefined : readErrorPage(html);
  if (named) return { outcome: "error", ...named };
  if (status >= 400) return { outcome: "error", message: `HTTP ${status}` };
  if (config) return { outcome: "sign-in" };
  // A 200 page with neither an error code nor Entra's configuration object: not Entra's page.
  return html.length > 0 ? { outcome: "unknown", message: "the page is not an Entra sign-in page" } : { outcome: "unknown" };
}

function codeOf(aadsts: number | undefined): { aadsts?: number } {
  return aadsts !== undefined ? { aadsts } : {};
}

/** The `error` value, kept only when it looks like an OAuth 2.0 error code (a short word of letters, digits, `_`, `.`, `-`), never free text. */
function errorOf(error: unknown): { error?: string } {
  return typeof error === "string" && /^[\w.-]{1,64}$/.test(error) ? { error } : {};
}

/** Error codes that name the redirect URI wherever they appear, even without an `error:` label. */
const REDIRECT_ERRORS = /\b(invalid_redirect_uri|redirect_uri_mismatch)\b/;

/**
 * An error page of a provider other than Entra, read from its visible text: `error: <code>` and
 * `error_description: <text>` as oidc-provider (and many others) render them, or a redirect-URI
 * error code named anywhere on the page.
 */
function readErrorPage(html: string): { error: string; message: string } | undefined {
  const text = plainText(html);
  // OAuth error codes are lower-case words joined by underscores; "Error: Page not found" is not one.
  const labelled = /\b[Ee]rror\s*[:=]\s*([a-z]+(?:_[a-z]+)+)\b/.exec(text);
  const error = labelled?.[1] ?? REDIRECT_ERRORS.exec(text)?.[1];
  if (!error) return undefined;
  const description = /\berror_description\s*[:=]\s*(.+?)(?=\s+\b(?:state|iss|error_uri|error)\s*[:=]|$)/i.exec(text)?.[1];
  return { error, message: clean(description ?? error) };
}

function readConfig(html: string): { iErrorCode?: number; message?: string } | undefined {
  const start = html.search(/\$Config\s*=\s*\{/);
  if (start < 0) return undefined;
  const open = html.indexOf("{", start);
  const json = balancedObject(html, open);
  if (!json) return undefined;
  try {
    const cfg = JSON.parse(json) as { iErrorCode?: unknown; strServiceExceptionMessage?: unknown };
    const code = typeof cfg.iErrorCode === "number" ? cfg.iErrorCode : Number(cfg.iErrorCode);
    return {
      ...(Number.isFinite(code) ? { iErrorCode: code } : {}),
      ...(typeof cfg.strServiceExceptionMessage === "string" ? { message: cfg.strServiceExceptionMessage } : {}),
    };
  } catch {
    return {};
  }
}

/** The JSON object starting at `open`, honouring strings, so braces inside messages do not end it early. */
function balancedObject(text: string, open: number): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return text.slice(open, i + 1);
  }
  return undefined;
}

/** A page's visible text: head (styles, scripts) dropped, tags removed, entities decoded, blanks collapsed. */
function plainText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e] ?? "")
    .replace(/\s+/g, " ")
    .trim();
}

function clean(text: string): string {
  const plain = plainText(text)
    // Entra appends trace identifiers; they change every call and only make incidents look new.
    .replace(/\s*Trace ID:.*$/i, "")
    .trim();
  return plain.length > MAX_MESSAGE ? `${plain.slice(0, MAX_MESSAGE - 1)}…` : plain;
}
