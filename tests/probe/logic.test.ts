import { describe, expect, test } from "vitest";
import { readAuthorizeResponse } from "../../src/probe/authorizePage.js";
import { classifyAuthorizeReading } from "../../src/probe/checks/authorize.js";
import { targetProblems, type DriftContext } from "../../src/probe/checks/gatewayDrift.js";
import { stepPosition } from "../../src/probe/checks/rotation.js";
import { classifyTokenResult } from "../../src/probe/checks/token.js";
import { withDeadline } from "../../src/probe/deadline.js";
import { cloudMismatch, compareEndpoint, expectedAuthorizeUrl, relateTenant } from "../../src/probe/endpoints.js";
import { tokenUrlFor } from "../../src/entra/token.js";
import { Findings } from "../../src/probe/findings.js";
import { reportOk, type CheckResult } from "../../src/probe/model.js";
import { diagnose, TROUBLESHOOTING_ROWS } from "../../src/probe/troubleshooting.js";
import type { GatewayTarget } from "../../src/gateway/types.js";
import type { RunJournal } from "../../src/rotation/model.js";
import { RotatorError } from "../../src/errors.js";

const TENANT = "8f1c2a3b-0000-4000-8000-1234567890ab";
const CLIENT = "11111111-2222-4333-8444-555555555555";
const GLOBAL = "https://login.microsoftonline.com";

describe("endpoint comparison", () => {
  test("the tenant endpoint on the configured host is the expected token endpoint", () => {
    expect(compareEndpoint(`${GLOBAL}/${TENANT}/oauth2/v2.0/token`, { origin: GLOBAL, kind: "token", tenant: TENANT }).ok).toBe(true);
  });

  test("a custom sign-in domain must be the host of every endpoint", () => {
    const custom = "https://login.standard.example";
    expect(compareEndpoint(`${custom}/${TENANT}/oauth2/v2.0/authorize`, { origin: custom, kind: "authorize", tenant: TENANT }).ok).toBe(true);
    const onDefault = compareEndpoint(`${GLOBAL}/${TENANT}/oauth2/v2.0/authorize`, { origin: custom, kind: "authorize", tenant: TENANT });
    expect(onDefault).toMatchObject({ ok: false, problem: "host" });
  });

  test("a host differing only in case or default port is the same host", () => {
    expect(compareEndpoint(`https://LOGIN.microsoftonline.com:443/${TENANT}/oauth2/v2.0/token`, { origin: GLOBAL, kind: "token", tenant: TENANT }).ok).toBe(
      true,
    );
  });

  test("common on a token URL is an alias problem; allowed only where asked for", () => {
    expect(compareEndpoint(`${GLOBAL}/common/oauth2/v2.0/token`, { origin: GLOBAL, kind: "token", tenant: TENANT })).toMatchObject({
      ok: false,
      problem: "tenant-alias",
    });
    expect(compareEndpoint(`${GLOBAL}/common/oauth2/v2.0/authorize`, { origin: GLOBAL, kind: "authorize", tenant: "common" }).ok).toBe(true);
  });

  test("a v1 endpoint or another endpoint is not the v2.0 one", () => {
    expect(compareEndpoint(`${GLOBAL}/${TENANT}/oauth2/token`, { origin: GLOBAL, kind: "token", tenant: TENANT }).problem).toBe("version");
    expect(compareEndpoint(`${GLOBAL}/${TENANT}/oauth2/v2.0/authorize`, { origin: GLOBAL, kind: "token", tenant: TENANT }).problem).toBe("endpoint");
  });

  test("a verified domain counts as the tenant only once it resolved to the tenant's GUID", () => {
    expect(relateTenant("contoso.com", TENANT)).toBe("unresolved");
    expect(relateTenant("contoso.com", TENANT, new Map([["contoso.com", TENANT]]))).toBe("domain");
    expect(relateTenant("fabrikam.com", TENANT, new Map([["fabrikam.com", "99999999-0000-4000-8000-000000000000"]]))).toBe("other");
    expect(relateTenant(TENANT.toUpperCase(), TENANT)).toBe("same");
  });

  test("multi-tenant sets sign in through common while their token URL keeps the tenant", () => {
    const set = { authorityHost: `${GLOBAL}/`, tenantId: TENANT, multiTenant: true };
    expect(expectedAuthorizeUrl(set)).toBe(`${GLOBAL}/common/oauth2/v2.0/authorize`);
    expect(tokenUrlFor(set.authorityHost, set.tenantId)).toBe(`${GLOBAL}/${TENANT}/oauth2/v2.0/token`);
  });

  test("a tenant of another national cloud is a cloud mismatch; unknown hosts are not judged", () => {
    expect(cloudMismatch(GLOBAL, "microsoftonline.us")).toEqual({ expected: "the global Azure cloud", actual: "Azure US Government" });
    expect(cloudMismatch("https://login.microsoftonline.us", "microsoftonline.us")).toBeUndefined();
    expect(cloudMismatch("https://login.standard.example", "microsoftonline.us")).toBeUndefined();
  });
});

describe("authorize page reading", () => {
  const page = (config: object, text = ""): string =>
    `<!DOCTYPE html><html><head><script>//<![CDATA[\n$Config=${JSON.stringify(config)};\n//]]></script></head><body>${text}</body></html>`;

  test("the error code comes from the page's $Config, even with braces in the message", () => {
    const r = readAuthorizeResponse(
      200,
      {},
      page({ iErrorCode: 50011, strServiceExceptionMessage: "AADSTS50011: The redirect URI '{x}' does not match. Trace ID: abc" }),
    );
    expect(r).toEqual({ outcome: "error", aadsts: 50011, message: "AADSTS50011: The redirect URI '{x}' does not match." });
  });

  test("the sign-in page without an error code is healthy", () => {
    expect(readAuthorizeResponse(200, {}, page({ iErrorCode: 0, strAppName: "x" })).outcome).toBe("sign-in");
  });

  test("a visible AADSTS text is read when the page has no $Config", () => {
    expect(readAuthorizeResponse(200, {}, "<div>AADSTS700016: Application with identifier 'x' was not found</div>")).toMatchObject({
      outcome: "error",
      aadsts: 700016,
    });
  });

  test("an error redirect carries its AADSTS code in error_description", () => {
    const location = "https://gw.example/cb?error=invalid_request&error_description=AADSTS65001%3A+consent+required";
    expect(readAuthorizeResponse(302, { location }, "")).toMatchObject({ outcome: "error", aadsts: 65001 });
    expect(readAuthorizeResponse(302, { location: "https://gw.example/cb?code=abc" }, "").outcome).toBe("redirect");
  });

  test("a JSON error body is read by its error_codes", () => {
    expect(
      readAuthorizeResponse(400, {}, { error: "invalid_request", error_codes: [90002], error_description: "AADSTS90002: Tenant not found" }),
    ).toMatchObject({
      outcome: "error",
      aadsts: 90002,
    });
  });

  test("a page that is not Entra's is reported, not taken for a sign-in page", () => {
    const r = readAuthorizeResponse(200, {}, "<html><body>Welcome to our portal</body></html>");
    expect(r.outcome).toBe("unknown");
    expect(classifyAuthorizeReading(r, 200, { redirectUri: "https://x", clientId: CLIENT })).toMatchObject({ status: "fail", severity: "error" });
  });

  test("AADSTS50011 names the redirect URI and the place to register it", () => {
    const v = classifyAuthorizeReading({ outcome: "error", aadsts: 50011 }, 200, { redirectUri: "https://gw.example/cb/", clientId: CLIENT });
    expect(v).toMatchObject({ status: "fail", severity: "critical", aadsts: 50011 });
    expect(v.hint).toContain("https://gw.example/cb/");
    expect(v.hint).toContain("Redirect URIs");
  });

  test("another provider's error page is read by its words: invalid_redirect_uri is a redirect mismatch, not a foreign page", () => {
    // oidc-provider's default error page (400), as it renders an unregistered redirect_uri.
    const html =
      '<!DOCTYPE html><html><head><title>oops! something went wrong</title><style>h1{font-weight:100}</style></head><body><div class="container">' +
      "<h1>oops! something went wrong</h1><pre><strong>error</strong>: invalid_redirect_uri</pre>" +
      "<pre><strong>error_description</strong>: redirect_uri did not match any of the client&#39;s registered redirect_uris</pre>" +
      "<pre><strong>state</strong>: x</pre><pre><strong>iss</strong>: https://op.example</pre></div></body></html>";
    const r = readAuthorizeResponse(400, {}, html);
    expect(r).toEqual({ outcome: "error", error: "invalid_redirect_uri", message: "redirect_uri did not match any of the client's registered redirect_uris" });
    const v = classifyAuthorizeReading(r, 400, { redirectUri: "https://gw.example/cb", clientId: CLIENT });
    expect(v).toMatchObject({ status: "fail", severity: "critical" });
    expect(v.message).toBe(
      `the redirect URI https://gw.example/cb is not registered for client ${CLIENT} (invalid_redirect_uri: redirect_uri did not match any of the client's registered redirect_uris)`,
    );
    expect(v.hint).toContain("Register https://gw.example/cb exactly");
  });

  test.each([
    ["a redirect with error=redirect_uri_mismatch", 302, { location: "https://gw.example/cb?error=redirect_uri_mismatch&state=s" }, ""],
    ["a JSON redirect_uri_mismatch", 400, {}, { error: "redirect_uri_mismatch", error_description: "Bad Request" }],
    [
      "a JSON invalid_request about the redirect URI",
      400,
      {},
      { error: "invalid_request", error_description: "The redirect_uri is not registered for this client" },
    ],
    [
      "a page naming redirect_uri_mismatch without a label",
      400,
      {},
      "<html><body><h1>Access blocked</h1><p>Error 400: redirect_uri_mismatch</p></body></html>",
    ],
  ] as const)("%s is a redirect mismatch", (_name, status, headers, body) => {
    const r = readAuthorizeResponse(status, headers, body);
    const v = classifyAuthorizeReading(r, status, { redirectUri: "https://gw.example/cb", clientId: CLIENT });
    expect(v).toMatchObject({ status: "fail", severity: "critical" });
    expect(v.message).toContain("the redirect URI https://gw.example/cb is not registered");
  });

  test("AADSTS50011 in an error redirect is Entra's redirect mismatch", () => {
    const location = "https://gw.example/cb?error=invalid_request&error_description=AADSTS50011%3A+The+redirect+URI+does+not+match";
    const v = classifyAuthorizeReading(readAuthorizeResponse(302, { location }, ""), 302, { redirectUri: "https://gw.example/cb", clientId: CLIENT });
    expect(v).toMatchObject({ status: "fail", severity: "critical", aadsts: 50011 });
  });

  test("an invalid_request about something else, or an unknown client, is not called a redirect mismatch", () => {
    const other = readAuthorizeResponse(400, {}, { error: "invalid_request", error_description: "missing required parameter 'response_type'" });
    const v = classifyAuthorizeReading(other, 400, { redirectUri: "https://gw.example/cb", clientId: CLIENT });
    expect(v).toMatchObject({
      status: "fail",
      severity: "error",
      message: "the authorization endpoint refuses the sign-in request (invalid_request: missing required parameter 'response_type')",
    });
    const unknown = classifyAuthorizeReading({ outcome: "error", error: "invalid_client", message: "client is invalid" }, 400, {
      redirectUri: "https://gw.example/cb",
      clientId: CLIENT,
    });
    expect(unknown.message).toBe(`the authorization endpoint does not know client ID ${CLIENT} (invalid_client: client is invalid)`);
  });

  test("a page saying 'Error: Page not found' names no OAuth error code", () => {
    const r = readAuthorizeResponse(404, {}, "<html><body><h1>Error: Page not found</h1></body></html>");
    expect(r).toEqual({ outcome: "error", message: "HTTP 404" });
  });

  test("server_error and temporarily_unavailable are undecided, not a failure", () => {
    const r = readAuthorizeResponse(302, { location: "https://gw.example/cb?error=temporarily_unavailable" }, "");
    expect(classifyAuthorizeReading(r, 302, { redirectUri: "https://gw.example/cb", clientId: CLIENT }).status).toBe("indeterminate");
  });

  test("a 503 without a code is undecided, not a failure", () => {
    expect(classifyAuthorizeReading({ outcome: "error", message: "HTTP 503" }, 503, { redirectUri: "https://x", clientId: CLIENT }).status).toBe(
      "indeterminate",
    );
  });
});

describe("token result classification", () => {
  const refused = (aadsts: number, status = 401) => ({ ok: false as const, status, error: "invalid_client", aadsts, description: `AADSTS${aadsts}: …` });

  test("AADSTS7000215 on a secret promoted minutes ago is a replication warning", () => {
    const v = classifyTokenResult(refused(7000215), { secretAgeMs: 3 * 60_000, replicationWindowMs: 15 * 60_000 });
    expect(v).toMatchObject({ status: "warn", severity: "warning", aadsts: 7000215 });
  });

  test("AADSTS7000215 on an older secret is critical and points at an emergency rotation", () => {
    const v = classifyTokenResult(refused(7000215), { secretAgeMs: 60 * 60_000, replicationWindowMs: 15 * 60_000 });
    expect(v).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000215 });
    expect(v.hint).toContain("emergency");
  });

  test.each([
    [7000222, "expired"],
    [700016, "application"],
    [90002, "tenant"],
    [9001023, "common"],
  ])("AADSTS%i is a critical failure about the %s", (code, word) => {
    const v = classifyTokenResult(refused(code, 400), { replicationWindowMs: 0 });
    expect(v.status).toBe("fail");
    expect(v.severity).toBe("critical");
    expect(v.aadsts).toBe(code);
    expect(`${v.message} ${v.hint}`.toLowerCase()).toContain(word);
  });

  test("throttling and server errors leave the question undecided", () => {
    expect(classifyTokenResult({ ok: false, status: 503, error: "http_503", description: "" }, { replicationWindowMs: 0 }).status).toBe("indeterminate");
    expect(classifyTokenResult({ ok: false, status: 429, error: "http_429", description: "" }, { replicationWindowMs: 0 }).status).toBe("indeterminate");
  });

  test("a token is a pass", () => {
    expect(classifyTokenResult({ ok: true, status: 200, expiresIn: 3599 }, { replicationWindowMs: 0 }).status).toBe("pass");
  });
});

describe("gateway target comparison", () => {
  const set = {
    authorityHost: GLOBAL,
    tenantId: TENANT,
    clientId: CLIENT,
    multiTenant: false,
    scopes: ["openid", "profile", "email", "User.Read"],
    redirectUri: "https://auth.aigateway.cequence.ai/v1/outbound/oauth/callback",
  };
  const good: GatewayTarget = {
    id: "1",
    name: "mcp-1",
    tokenName: "sso",
    tokenUrl: `${GLOBAL}/${TENANT}/oauth2/v2.0/token`,
    clientId: CLIENT,
    scopes: ["email", "profile", "openid", "User.Read"],
    additionalParameters: {
      tenantID: TENANT,
      authorizationUrl: `${GLOBAL}/${TENANT}/oauth2/v2.0/authorize`,
      redirectUri: set.redirectUri,
    },
  };
  const ctx: DriftContext = { set, domains: new Map(), registeredRedirectUris: [set.redirectUri] };

  test("a target configured as the guide says has no problems, whatever the scope order", () => {
    expect(targetProblems(good, ctx)).toEqual([]);
  });

  test("a token URL on common is critical and names AADSTS9001023", () => {
    const p = targetProblems({ ...good, tokenUrl: `${GLOBAL}/common/oauth2/v2.0/token` }, ctx);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ kind: "tokenUrl-alias", severity: "critical", aadsts: 9001023 });
  });

  test("an unregistered redirect URI is an error naming AADSTS50011; a registered other one only a warning", () => {
    const other = "https://auth.aigateway.cequence.ai/v1/outbound/oauth/callback/";
    expect(targetProblems({ ...good, additionalParameters: { ...good.additionalParameters, redirectUri: other } }, ctx)[0]).toMatchObject({
      kind: "redirectUri",
      aadsts: 50011,
    });
    const registered = { ...ctx, registeredRedirectUris: [set.redirectUri, other] };
    expect(targetProblems({ ...good, additionalParameters: { ...good.additionalParameters, redirectUri: other } }, registered)[0]).toMatchObject({
      kind: "redirectUri-other",
      status: "warn",
    });
  });

  test("a multi-tenant set expects common in authorizationUrl and still the tenant in the token URL", () => {
    const mt = { ...ctx, set: { ...set, multiTenant: true } };
    const t = { ...good, additionalParameters: { ...good.additionalParameters, authorizationUrl: `${GLOBAL}/common/oauth2/v2.0/authorize` } };
    expect(targetProblems(t, mt)).toEqual([]);
    expect(targetProblems(good, mt)[0]).toMatchObject({ kind: "authorizationUrl-tenant-for-multitenant", status: "warn" });
  });

  test("a single-tenant app sent to common for sign-in is reported with AADSTS50194", () => {
    const t = { ...good, additionalParameters: { ...good.additionalParameters, authorizationUrl: `${GLOBAL}/common/oauth2/v2.0/authorize` } };
    expect(targetProblems(t, ctx)[0]).toMatchObject({ kind: "authorizationUrl-tenant-alias", aadsts: 50194 });
  });

  test("missing parameters and scopes are each reported", () => {
    const kinds = targetProblems({ ...good, scopes: ["openid"], additionalParameters: {} }, ctx).map((p) => p.kind);
    expect(kinds).toEqual(expect.arrayContaining(["scopes-missing", "tenantID-missing", "authorizationUrl-missing", "redirectUri-missing"]));
  });

  test("a verified-domain tenant in the URLs is fine once resolved to the set's tenant", () => {
    const t = {
      ...good,
      tokenUrl: `${GLOBAL}/contoso.com/oauth2/v2.0/token`,
      additionalParameters: { tenantID: "contoso.com", authorizationUrl: `${GLOBAL}/contoso.com/oauth2/v2.0/authorize`, redirectUri: set.redirectUri },
    };
    expect(targetProblems(t, { ...ctx, domains: new Map([["contoso.com", TENANT]]) })).toEqual([]);
    expect(targetProblems(t, ctx).map((p) => p.kind)).toContain("tokenUrl-domain");
  });
});

describe("findings and report status", () => {
  test("the worst status wins and every problem stays in the evidence", () => {
    const f = new Findings();
    f.warn("info", "minor", "do a");
    f.fail("error", "bad", "do b", 65001);
    f.fail("critical", "worse", "do c", 50011);
    const o = f.outcome("fine", { k: 1 });
    expect(o).toMatchObject({ status: "fail", severity: "critical", aadsts: 50011 });
    expect(o.summary).toBe("worse; bad");
    expect(o.hint).toBe("do c Also: do b");
    expect(o.evidence["findings"]).toHaveLength(3);
    expect(o.evidence["aadstsCodes"]).toEqual(["50011", "65001"]);
  });

  test("no findings is a pass with the pass summary", () => {
    expect(new Findings().outcome("all good", {})).toMatchObject({ status: "pass", severity: "info", summary: "all good" });
  });

  test("a probe is ok unless something fails or cannot run at error or critical", () => {
    expect(
      reportOk([
        { status: "fail", severity: "warning" },
        { status: "warn", severity: "critical" },
      ]),
    ).toBe(true);
    expect(reportOk([{ status: "error", severity: "error" }])).toBe(false);
    expect(reportOk([{ status: "fail", severity: "critical" }])).toBe(false);
  });
});

describe("troubleshooting table", () => {
  const result = (id: CheckResult["id"], aadsts: number | undefined, status: CheckResult["status"] = "fail", codes?: string[]): CheckResult => ({
    id,
    title: id,
    status,
    severity: "critical",
    summary: `${id} summary`,
    hint: "",
    ...(aadsts !== undefined ? { aadsts } : {}),
    evidence: codes ? { aadstsCodes: codes } : {},
    durationMs: 1,
  });

  test("holds the guide's five rows, each mapped to checks and with our remedy", () => {
    expect(TROUBLESHOOTING_ROWS.map((r) => r.code)).toEqual([50011, 700016, 7000215, 50105, 65001]);
    for (const r of TROUBLESHOOTING_ROWS) {
      expect(r.checks.length).toBeGreaterThan(0);
      expect(r.remedy.length).toBeGreaterThan(40);
      expect(r.problem).toContain(`AADSTS${r.code}`);
    }
  });

  test("a row is hit by its code on a mapped check, including codes listed in evidence", () => {
    const hits = diagnose({
      checks: [result("authorize", 50011), result("app-registration", 50105, "warn", ["50105", "65001"]), result("token", undefined, "pass")],
    });
    expect(hits.map((h) => h.row.code)).toEqual([50011, 50105, 65001]);
  });

  test("an expired secret hits the invalid-secret row; passing or unmapped checks hit nothing", () => {
    expect(diagnose({ checks: [result("expiry", 7000222)] }).map((h) => h.row.code)).toEqual([7000215]);
    expect(diagnose({ checks: [result("token", 7000215, "pass"), result("policy", 50011)] })).toEqual([]);
  });
});

describe("rotation step position", () => {
  const base: RunJournal = {
    runId: "r1",
    set: "s",
    mode: "scheduled",
    trigger: "timer",
    status: "waiting",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:05:00.000Z",
    passes: 1,
    displayName: "mcp-sso-rotator/s/r1",
    steps: [
      { name: "plan", status: "done", startedAt: "2026-01-01T00:00:00.000Z", endedAt: "2026-01-01T00:00:01.000Z", durationMs: 1000 },
      { name: "create", status: "done", startedAt: "2026-01-01T00:00:01.000Z", endedAt: "2026-01-01T00:00:02.000Z", durationMs: 1000 },
      { name: "stash", status: "done", startedAt: "2026-01-01T00:00:02.000Z", endedAt: "2026-01-01T00:00:03.000Z", durationMs: 1000 },
    ],
    targets: [],
  };
  const tuning = { stepBudgetMs: 30 * 60_000 };
  const set = { verification: { consecutiveSuccesses: 3, budgetSeconds: 600, intervalMs: 5000, minStableSeconds: 30 } };

  test("verify-entra is timed from its first attempt with the verification budget", () => {
    const p = stepPosition({ ...base, verify: { consecutive: 0, attempts: 4, firstAttemptAt: "2026-01-01T00:00:10.000Z" } }, set, tuning);
    expect(p.step).toBe("verify-entra");
    expect(p.since.toISOString()).toBe("2026-01-01T00:00:10.000Z");
    expect(p.budgetMs).toBe(600_000 + 30 * 60_000);
  });

  test("retire is timed from the end of the grace period", () => {
    const done = ["verify-entra", "promote", "propagate", "verify-targets"].map((name) => ({
      name: name as RunJournal["steps"][number]["name"],
      status: "done" as const,
      startedAt: "2026-01-01T00:01:00.000Z",
      endedAt: "2026-01-01T00:02:00.000Z",
      durationMs: 60_000,
    }));
    const p = stepPosition({ ...base, steps: [...base.steps, ...done], retireAfter: "2026-01-02T00:00:00.000Z" }, set, tuning);
    expect(p.step).toBe("retire");
    expect(p.since.toISOString()).toBe("2026-01-02T00:00:00.000Z");
  });
});

describe("deadlines", () => {
  test("work that ignores its signal still ends at the deadline with TIMEOUT", async () => {
    const never = new Promise<string>(() => undefined);
    await expect(withDeadline(() => never, { timeoutInMs: 20, what: "reading x" })).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  test("the caller's abort ends the work with ABORTED", async () => {
    const ac = new AbortController();
    const p = withDeadline(() => new Promise<string>(() => undefined), { timeoutInMs: 60_000, parent: ac.signal, what: "reading x" });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "ABORTED" });
  });

  test("work that finishes in time returns its value; its errors pass through", async () => {
    await expect(withDeadline(async () => 42, { timeoutInMs: 1000, what: "x" })).resolves.toBe(42);
    const boom = new RotatorError("GRAPH_FORBIDDEN", "no", { hint: "h" });
    await expect(withDeadline(async () => Promise.reject(boom), { timeoutInMs: 1000, what: "x" })).rejects.toBe(boom);
  });
});
