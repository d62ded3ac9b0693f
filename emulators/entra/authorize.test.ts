import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../../src/http/client.js";
import { startEntraFixture, type EntraFixture } from "./fixture.js";

/**
 * Fidelity of the authorize endpoint: the errors a probe can detect before any user signs in
 * (700016, 50011, 700054, 90002) and, with the emulator-only `x_emulator_user` parameter, the ones a
 * signed-in user would hit (50105, 65001, 50194) or the redirect back with a code.
 */
let fx: EntraFixture;
let http: HttpClient;

beforeAll(async () => {
  fx = await startEntraFixture();
  http = new HttpClient({ ca: fx.emulator.caCertPem, retry: { maxRetries: 0 } });
});
afterAll(() => fx.close());

async function authorize(tenant: string, params: Record<string, string>) {
  const res = await http.request<string>({
    method: "GET",
    url: `${fx.url}/${tenant}/oauth2/v2.0/authorize`,
    query: params,
    throwOnHttpError: false,
  });
  const body = String(res.data);
  const config = /\$Config=(\{.*?\});/.exec(body);
  return {
    status: res.status,
    body,
    errorCode: config ? (JSON.parse(config[1]!) as { iErrorCode: number }).iErrorCode : undefined,
    location: res.headers.location,
  };
}

function params(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    client_id: fx.target.app.appId,
    redirect_uri: fx.target.redirectUri,
    response_type: "code",
    scope: "openid profile email User.Read",
    state: "s-123",
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}

describe("authorize before sign-in", () => {
  it("shows the sign-in page (200, no error code) for a registered client and redirect URI", async () => {
    const r = await authorize(fx.tenantId, params());
    expect(r.status).toBe(200);
    expect(r.body).toContain("<title>Sign in to your account</title>");
    expect(r.errorCode).toBe(0);
    expect(r.body).not.toMatch(/AADSTS\d/);
  });

  it("accepts the custom domain and /common for authorize", async () => {
    expect((await authorize(fx.customDomain, params())).errorCode).toBe(0);
    expect((await authorize("common", params())).errorCode).toBe(0);
  });

  it("shows AADSTS700016 for an unknown client ID", async () => {
    const r = await authorize(fx.tenantId, params({ client_id: "12345678-0000-4000-8000-000000000000" }));
    expect(r.status).toBe(200);
    expect(r.errorCode).toBe(700016);
    expect(r.body).toContain(
      "AADSTS700016: Application with identifier &#39;12345678-0000-4000-8000-000000000000&#39; was not found in the directory &#39;Contoso&#39;",
    );
  });

  /**
   * Microsoft's page for this error, "Error AADSTS50011 with OpenID authentication: The redirect URI
   * specified in the request does not match"
   * (https://learn.microsoft.com/en-us/troubleshoot/azure/active-directory/error-code-aadsts50011-redirect-uri-mismatch),
   * quotes the message: "The redirect URI <Redirect URI> specified in the request does not match the
   * redirect URIs configured for the application <AppGUID>. Make sure the redirect URI sent in the
   * request matches one added to your application in the Azure portal. Navigate to
   * https://aka.ms/redirectUriMismatchError to learn more about how to fix this." Entra compares
   * the sent URI with the registered ones before any sign-in, so the page shows without a user.
   */
  it("shows AADSTS50011 when the redirect URI differs from the registered one only by a trailing slash or case", async () => {
    for (const uri of [`${fx.target.redirectUri}/`, fx.target.redirectUri.replace("callback", "Callback")]) {
      const r = await authorize(fx.tenantId, params({ redirect_uri: uri }));
      expect(r.errorCode).toBe(50011);
      const esc = (v: string) => v.replace(/'/g, "&#39;");
      expect(r.body).toContain(
        esc(
          `AADSTS50011: The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${fx.target.app.appId}'.`,
        ),
      );
      expect(r.body).toContain("Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.");
    }
  });

  it("shows AADSTS90002 for an unknown tenant", async () => {
    expect((await authorize("6b6b6b6b-0000-4000-8000-000000000000", params())).errorCode).toBe(90002);
  });

  it("shows AADSTS700054 when id_token is requested but ID tokens are not enabled", async () => {
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "no id tokens", redirectUris: ["https://a.example.com/cb"] });
    const r = await authorize(fx.tenantId, params({ client_id: app.appId, redirect_uri: "https://a.example.com/cb", response_type: "code id_token" }));
    expect(r.errorCode).toBe(700054);
  });

  it("shows AADSTS500113 when the app has no redirect URI at all", async () => {
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "no redirect" });
    expect((await authorize(fx.tenantId, params({ client_id: app.appId, redirect_uri: undefined }))).errorCode).toBe(500113);
  });
});

describe("authorize after a simulated sign-in (x_emulator_user)", () => {
  it("redirects back to the registered URI with a code and the state", async () => {
    const r = await authorize(fx.tenantId, params({ x_emulator_user: "alice@contoso.example.com" }));
    expect(r.status).toBe(302);
    const loc = new URL(r.location!);
    expect(`${loc.origin}${loc.pathname}`).toBe(fx.target.redirectUri);
    expect(loc.searchParams.get("state")).toBe("s-123");
    expect(loc.searchParams.get("code")).toBeTruthy();
  });

  it("shows AADSTS50105 when assignment is required and the user is not assigned, directly or by group", async () => {
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "assigned only", redirectUris: ["https://b.example.com/cb"] });
    fx.emulator.seedServicePrincipal(app.appId, {
      appRoleAssignmentRequired: true,
      assignments: [
        { principalType: "User", principalId: "aaaaaaaa-0000-4000-8000-000000000001", principalDisplayName: "bob@contoso.example.com" },
        { principalType: "Group", principalId: "bbbbbbbb-0000-4000-8000-000000000002", principalDisplayName: "MCP users" },
      ],
    });
    fx.emulator.seedConsent(app.appId, ["User.Read"]);
    const p = (user: string, groups?: string) =>
      params({ client_id: app.appId, redirect_uri: "https://b.example.com/cb", x_emulator_user: user, ...(groups ? { x_emulator_groups: groups } : {}) });

    const denied = await authorize(fx.tenantId, p("carol@contoso.example.com"));
    expect(denied.errorCode).toBe(50105);
    expect(denied.body).toContain("to block users unless they are specifically granted");
    expect((await authorize(fx.tenantId, p("bob@contoso.example.com"))).status).toBe(302);
    expect((await authorize(fx.tenantId, p("dave@contoso.example.com", "bbbbbbbb-0000-4000-8000-000000000002"))).status).toBe(302);
  });

  it("shows AADSTS65001 when admin consent for a requested Graph scope is missing", async () => {
    const app = fx.emulator.seedApplication({ tenantId: fx.tenantId, displayName: "no consent", redirectUris: ["https://c.example.com/cb"] });
    fx.emulator.seedServicePrincipal(app.appId);
    const p = params({ client_id: app.appId, redirect_uri: "https://c.example.com/cb", x_emulator_user: "alice@contoso.example.com" });
    expect((await authorize(fx.tenantId, p)).errorCode).toBe(65001);
    fx.emulator.seedConsent(app.appId, ["openid", "profile", "email", "User.Read"]);
    expect((await authorize(fx.tenantId, p)).status).toBe(302);
    fx.emulator.seedConsent(app.appId, null);
    expect((await authorize(fx.tenantId, p)).errorCode).toBe(65001);
  });

  it("shows AADSTS50194 when a single-tenant app is signed into through /common", async () => {
    const r = await authorize("common", params({ x_emulator_user: "alice@contoso.example.com" }));
    expect(r.errorCode).toBe(50194);
  });
});
