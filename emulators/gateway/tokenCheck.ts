import http from "node:http";
import https from "node:https";

/**
 * What the gateway's "test connection" button does: a real OAuth 2.0 client-credentials POST
 * to the server's stored token URL with its stored client ID and secret. The answer names the
 * AADSTS code on failure and never carries the secret.
 */
export interface TokenCheckResult {
  ok: boolean;
  detail: string;
}

export interface TokenCheckInput {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /** PEM to trust for an https token URL (the emulators' CA). */
  ca?: string;
  timeoutInMs?: number;
}

/** Client credentials need a resource's `/.default` scope; delegated scopes (openid, User.Read) are not valid here. */
const DEFAULT_TEST_SCOPE = "https://graph.microsoft.com/.default";

export async function checkClientCredentials(input: TokenCheckInput): Promise<TokenCheckResult> {
  const scope = input.scopes.find((s) => s.endsWith("/.default")) ?? DEFAULT_TEST_SCOPE;
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: input.clientId,
    client_secret: input.clientSecret,
    scope,
  }).toString();
  let res: { status: number; text: string };
  try {
    res = await post(input.tokenUrl, body, input.ca, input.timeoutInMs ?? 10_000);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    return { ok: false, detail: scrub(`could not reach the token endpoint ${originOf(input.tokenUrl)}: ${code}`, input.clientSecret) };
  }
  let json: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
  try {
    json = JSON.parse(res.text) as typeof json;
  } catch {
    json = undefined;
  }
  if (res.status === 200 && typeof json?.access_token === "string") {
    const expires = typeof json.expires_in === "number" ? ` (expires in ${json.expires_in} s)` : "";
    return { ok: true, detail: `token endpoint issued an access token for client ${input.clientId}${expires}` };
  }
  const description = typeof json?.error_description === "string" ? json.error_description.split(/\r?\n/)[0]!.trim() : "";
  const error = typeof json?.error === "string" ? json.error : `HTTP ${res.status}`;
  const aadsts = /AADSTS\d{5,7}[^.]*\.?/.exec(description)?.[0];
  return {
    ok: false,
    detail: scrub(
      `token endpoint answered ${res.status} ${error}${aadsts ? `: ${aadsts}` : description ? `: ${description.slice(0, 200)}` : ""}`,
      input.clientSecret,
    ),
  };
}

function post(url: string, body: string, ca: string | undefined, timeoutInMs: number): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body), Accept: "application/json" },
        timeout: timeoutInMs,
        ...(u.protocol === "https:" && ca ? { ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end(body);
  });
}

function originOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** Belt and braces: an upstream that echoed the secret must not make us echo it too. */
function scrub(text: string, secret: string): string {
  return secret ? text.split(secret).join("[REDACTED]") : text;
}
