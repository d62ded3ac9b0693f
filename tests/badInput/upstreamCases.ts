import type { FaultSpec } from "../../emulators/common/server.js";

/**
 * Hostile upstream answers as a table, per upstream: what the emulator sends back (through its
 * fault injection, emulators/common/server.ts) instead of the real answer. Pure data: upstreams.test.ts
 * plays each against the product's client for that upstream (and a sample against whole rotation
 * passes), `npm run badinput:counts` counts them.
 *
 * Placeholders resolved by the test: `@SELF@` the upstream's base URL, `@ELSEWHERE@` the URL of a
 * server the product must never follow a link to. `echo` answers carry every secret the request held
 * plus the secrets the test adds (`echoExtra`), raw, cut at every offset and encoded.
 */
export type Upstream = "graph" | "keyvault" | "gateway" | "token" | "teams" | "slack" | "pagerduty" | "opsgenie" | "webhook";
export const UPSTREAMS: Upstream[] = ["graph", "keyvault", "gateway", "token", "teams", "slack", "pagerduty", "opsgenie", "webhook"];

export interface HostileAnswer {
  name: string;
  fault: Omit<FaultSpec, "route" | "body"> & { body?: unknown };
  /** Answers a careful client may still accept (valid data under an odd header); the rest must fail typed. */
  mayAccept?: boolean;
  /** Uses the test's short HTTP timeout (a hang). */
  slow?: boolean;
}

const MB = 1024 * 1024;
const HTML_500 = `<!DOCTYPE html><html><head><title>502 - Web server received an invalid response</title></head><body><h1>Server Error</h1><p>Azure Front Door could not reach the origin. Ref A: 7C1E0B2A Ref B: AMS04EDGE0811 Ref C: 2026-12-01T03:00:00Z</p></body></html>`;
const HTML_LOGIN = `<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body><form method="post" action="https://login.example.com/"><input name="loginfmt"></form></body></html>`;
const huge = (mb: number) => () => `{"error":{"code":"Huge","message":"${"x".repeat(mb * MB)}"}}`;
const hugeHtml = (mb: number) => () => `<html><body>${"<p>lorem ipsum</p>".repeat((mb * MB) / 16)}</body></html>`;
const deep = (n: number) => () => `${"[".repeat(n)}${"]".repeat(n)}`;

/** Answers every upstream gets, whatever its API. */
function common(): HostileAnswer[] {
  const out: HostileAnswer[] = [];
  const statuses = [400, 401, 403, 404, 405, 409, 410, 413, 418, 422, 451, 500, 501, 502, 503, 504, 507, 599];
  for (const status of statuses) out.push({ name: `${status} with an HTML error page`, fault: { status, body: HTML_500, raw: true } });
  out.push(
    { name: "200 with an HTML error page", fault: { status: 200, body: HTML_500, raw: true } },
    { name: "200 with a sign-in page (a proxy in the way)", fault: { status: 200, body: HTML_LOGIN, raw: true } },
    { name: "200 with truncated JSON", fault: { status: 200, body: '{"value":[{"id":"0d1e', raw: true, headers: { "Content-Type": "application/json" } } },
    { name: "500 with truncated JSON", fault: { status: 500, body: '{"error":{"code":"Intern', raw: true, headers: { "Content-Type": "application/json" } } },
    { name: "200 with an empty body", fault: { status: 200, body: "", raw: true, headers: { "Content-Type": "application/json" } } },
    { name: "200 with null", fault: { status: 200, body: "null", raw: true, headers: { "Content-Type": "application/json" } } },
    { name: "200 with a JSON list", fault: { status: 200, body: [] } },
    { name: "200 with a JSON string", fault: { status: 200, body: "ok" } },
    { name: "200 with a number", fault: { status: 200, body: 42 } },
    {
      name: "200 with XML",
      fault: { status: 200, body: '<?xml version="1.0"?><error><code>Internal</code></error>', raw: true, headers: { "Content-Type": "application/xml" } },
    },
    {
      name: "200 with binary junk as octet-stream",
      fault: { status: 200, body: "\u0000\u0001\u00ff\ufffd\u0000PK\u0003\u0004", raw: true, headers: { "Content-Type": "application/octet-stream" } },
    },
    {
      name: "200 with JSON declared as UTF-16",
      fault: { status: 200, body: '{"value":[]}', raw: true, headers: { "Content-Type": "application/json; charset=utf-16" } },
      mayAccept: true,
    },
    { name: "200 with 10,000 levels of nesting", fault: { status: 200, body: deep(10_000), raw: true, headers: { "Content-Type": "application/json" } } },
    { name: "500 with 10,000 levels of nesting", fault: { status: 500, body: deep(10_000), raw: true, headers: { "Content-Type": "application/json" } } },
    { name: "200 with a 20 MB JSON body", fault: { status: 200, body: huge(20), raw: true, headers: { "Content-Type": "application/json" } } },
    { name: "500 with a 20 MB HTML page", fault: { status: 500, body: hugeHtml(20), raw: true } },
    { name: "429 with Retry-After of a year", fault: { status: 429, headers: { "Retry-After": "31536000" } } },
    { name: "429 with a negative Retry-After", fault: { status: 429, headers: { "Retry-After": "-5" } } },
    { name: "429 with a non-numeric Retry-After", fault: { status: 429, headers: { "Retry-After": "soon" } } },
    { name: "503 with Retry-After as a far-future date", fault: { status: 503, headers: { "Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT" } } },
    {
      name: "302 to the metadata address",
      fault: { status: 302, headers: { Location: "http://169.254.169.254/metadata/identity/oauth2/token" }, body: "", raw: true },
    },
    { name: "301 to another host", fault: { status: 301, headers: { Location: "@ELSEWHERE@/moved" }, body: "", raw: true } },
    { name: "204 where a body is due", fault: { status: 204 } },
    { name: "a secret echoed in a 500 error body", fault: { echo: true, status: 500 } },
    { name: "a secret echoed in a 400 error body", fault: { echo: true, status: 400 } },
    { name: "a secret echoed in a 401 error body", fault: { echo: true, status: 401 } },
    { name: "a secret echoed in a 200 body", fault: { echo: true, status: 200 } },
    { name: "the connection dropped before an answer", fault: { drop: true } },
    { name: "no answer at all (hang)", fault: { hang: true }, slow: true },
  );
  return out;
}

/** Answers in the upstream's own shapes that are wrong: pagination that never ends, wrong field types. */
function specific(upstream: Upstream): HostileAnswer[] {
  switch (upstream) {
    case "graph":
      return [
        {
          name: "@odata.nextLink to itself (endless pagination)",
          fault: { status: 200, body: { value: [], "@odata.nextLink": "@SELF@/v1.0/applications?$skiptoken=again" } },
        },
        {
          name: "@odata.nextLink to another host",
          fault: { status: 200, body: { value: [], "@odata.nextLink": "@ELSEWHERE@/v1.0/applications?$skiptoken=x" } },
        },
        { name: "value that is not a list", fault: { status: 200, body: { value: "applications" } } },
        {
          name: "an application without passwordCredentials",
          fault: { status: 200, body: { value: [{ id: "0d1e2f3a-0000-4000-8000-000000000001", appId: "@APPID@" }] } },
        },
        {
          name: "passwordCredentials that is a string",
          fault: { status: 200, body: { value: [{ id: "0d1e2f3a-0000-4000-8000-000000000001", appId: "@APPID@", passwordCredentials: "none" }] } },
        },
        {
          name: "a credential whose keyId is a number",
          fault: {
            status: 200,
            body: { value: [{ id: "0d1e2f3a-0000-4000-8000-000000000001", appId: "@APPID@", passwordCredentials: [{ keyId: 7, endDateTime: "never" }] }] },
          },
        },
        {
          name: "Graph's error shape with a secret in the message",
          fault: { status: 403, body: { error: { code: "Authorization_RequestDenied", message: "Insufficient privileges; secret was @SECRET@" } } },
        },
      ];
    case "keyvault":
      return [
        {
          name: "nextLink to itself (endless pagination)",
          fault: { status: 200, body: { value: [], nextLink: "@SELF@/secrets/@NAME@/versions?api-version=2025-07-01&$skiptoken=again" } },
        },
        { name: "nextLink to another host", fault: { status: 200, body: { value: [], nextLink: "@ELSEWHERE@/secrets/@NAME@/versions?$skiptoken=x" } } },
        {
          name: "a bundle without a value",
          fault: { status: 200, body: { id: "@SELF@/secrets/@NAME@/0123456789abcdef0123456789abcdef", attributes: { enabled: true } } },
        },
        { name: "a bundle whose id is not a URL", fault: { status: 200, body: { value: "x", id: "not a url", attributes: { enabled: true } } } },
        { name: "a bundle whose value is a number", fault: { status: 200, body: { value: 42, id: "@SELF@/secrets/@NAME@/0123456789abcdef0123456789abcdef" } } },
        {
          name: "a bundle with 1,000 tags",
          fault: {
            status: 200,
            body: {
              value: "abc",
              id: "@SELF@/secrets/@NAME@/0123456789abcdef0123456789abcdef",
              tags: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`t${i}`, "v"])),
            },
          },
          mayAccept: true,
        },
        {
          name: "Key Vault's error shape with a secret in the message",
          fault: { status: 403, body: { error: { code: "Forbidden", message: "Caller may not read @SECRET@", innererror: { code: "AccessDenied" } } } },
        },
        {
          name: "401 with a malformed challenge",
          fault: {
            status: 401,
            headers: { "WWW-Authenticate": 'Bearer authorization="javascript:alert(1)", resource="x"' },
            body: { error: { code: "Unauthorized" } },
          },
        },
        {
          name: "401 with a challenge to another authority",
          fault: {
            status: 401,
            headers: { "WWW-Authenticate": 'Bearer authorization="@ELSEWHERE@/evil-tenant", resource="https://vault.azure.net"' },
            body: { error: { code: "Unauthorized" } },
          },
        },
      ];
    case "gateway":
      return [
        { name: "nextCursor that never ends", fault: { status: 200, body: { items: [], nextCursor: "again" } } },
        { name: "items that is not a list", fault: { status: 200, body: { items: "servers", nextCursor: null } } },
        { name: "an item without authentication", fault: { status: 200, body: { items: [{ id: "x1", name: "a" }], nextCursor: null } }, mayAccept: true },
        {
          name: "an item whose clientId is a number",
          fault: {
            status: 200,
            body: { items: [{ id: "x1", name: "a", etag: "1", authentication: { type: "oauth2", clientId: 7, tokenUrl: 5 } }], nextCursor: null },
          },
        },
        {
          name: "an item with a 1 MB name",
          fault: {
            status: 200,
            body: () => ({ items: [{ id: "x1", name: "n".repeat(MB), etag: "1", authentication: { type: "oauth2" } }], nextCursor: null }),
          },
          mayAccept: true,
        },
        {
          name: "the gateway's error shape with a secret",
          fault: {
            status: 400,
            body: { error: { code: "invalid_request", message: "clientSecret @SECRET@ rejected", details: [{ field: "clientSecret", message: "@SECRET@" }] } },
          },
        },
        {
          name: "5,000 items on one page",
          fault: {
            status: 200,
            body: () => ({
              items: Array.from({ length: 5000 }, (_, i) => ({
                id: `x${i}`,
                name: `n${i}`,
                etag: "1",
                authentication: { type: "oauth2", clientId: "11111111-2222-4333-8444-555555555555", tokenUrl: "https://login.example.com/t/oauth2/v2.0/token" },
              })),
              nextCursor: null,
            }),
          },
          mayAccept: true,
        },
      ];
    case "token":
      return [
        { name: "200 without an access_token", fault: { status: 200, body: { token_type: "Bearer", expires_in: 3599 } } },
        { name: "200 with an empty access_token", fault: { status: 200, body: { token_type: "Bearer", access_token: "" } } },
        { name: "200 with access_token as a number", fault: { status: 200, body: { token_type: "Bearer", access_token: 42 } } },
        {
          name: "400 AADSTS error with the secret in the description",
          fault: {
            status: 400,
            body: { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided: @SECRET@", error_codes: [7000215] },
          },
        },
        {
          name: "400 with error_codes that are strings",
          fault: { status: 400, body: { error: "invalid_client", error_description: "AADSTS7000215: x", error_codes: ["7000215"] } },
        },
        {
          name: "400 with a 1 MB error_description",
          fault: { status: 400, body: () => ({ error: "invalid_request", error_description: `AADSTS90002: ${"d".repeat(MB)}` }) },
        },
        { name: "400 with error as an object", fault: { status: 400, body: { error: { code: "x" }, error_description: 5 } } },
      ];
    default:
      return [
        {
          name: "202 with a secret echoed in a JSON body",
          fault: { status: 202, body: { status: "success", message: "accepted @SECRET@", dedup_key: "@SECRET@" } },
          mayAccept: true,
        },
        {
          name: "400 with the channel's own error shape and a secret",
          fault: { status: 400, body: { status: "invalid event", message: "Event object is invalid", errors: ["routing_key @SECRET@ is invalid"] } },
        },
        {
          name: "200 with a plain-text error (Slack style)",
          fault: { status: 200, body: "invalid_payload", raw: true, headers: { "Content-Type": "text/plain" } },
          mayAccept: true,
        },
        { name: "403 with a plain-text error", fault: { status: 403, body: "action_prohibited", raw: true, headers: { "Content-Type": "text/plain" } } },
        { name: "404 with a plain-text error", fault: { status: 404, body: "no_service", raw: true, headers: { "Content-Type": "text/plain" } } },
        { name: "410 with a plain-text error", fault: { status: 410, body: "channel_is_archived", raw: true, headers: { "Content-Type": "text/plain" } } },
        { name: "429 with Retry-After 1", fault: { status: 429, headers: { "Retry-After": "1" } } },
      ];
  }
}

export const UPSTREAM_CASES: Record<Upstream, HostileAnswer[]> = Object.fromEntries(UPSTREAMS.map((u) => [u, [...common(), ...specific(u)]])) as Record<
  Upstream,
  HostileAnswer[]
>;

export const UPSTREAM_CASE_COUNTS: Record<Upstream, number> = Object.fromEntries(UPSTREAMS.map((u) => [u, UPSTREAM_CASES[u].length])) as Record<
  Upstream,
  number
>;

/** The sample played against whole rotation passes (passes.test.ts): per dependency, and on all five channels at once. */
export const PASS_ANSWERS: [name: string, fault: Omit<FaultSpec, "route">][] = [
  ["an HTML 502 page", { status: 502, raw: true, body: "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>Azure Front Door</p></body></html>" }],
  ["truncated JSON with 200", { status: 200, raw: true, headers: { "Content-Type": "application/json" }, body: '{"value":[{"id":"0d1e' }],
  ["the live secret echoed in a 500 error body", { echo: true, status: 500 }],
];

export const PASS_CASE_COUNTS: Record<string, number> = {
  graph: PASS_ANSWERS.length,
  keyvault: PASS_ANSWERS.length,
  token: PASS_ANSWERS.length,
  gateway: PASS_ANSWERS.length,
  "alert channels (all five at once)": PASS_ANSWERS.length,
};
