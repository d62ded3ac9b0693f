import { describe, expect, it } from "vitest";
import { useArmTestWorld } from "./testWorld.js";

/**
 * Fidelity of what every Resource Manager call shares (../shared/LOCAL-EMULATION.md § Resource
 * Manager and Kong): `api-version` required, bearer tokens for the Resource Manager audience,
 * `{"error":{"code","message"}}` bodies, throttling with 429 + Retry-After, long-running
 * operations with Azure-AsyncOperation and location.
 */
const SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1";

const w = useArmTestWorld({ seed: (w) => w.fx.arm.apim.seedService(SERVICE) });

describe("ARM core", () => {
  it("a call without a bearer gets 401 AuthenticationFailed with a WWW-Authenticate challenge", async () => {
    const r = await w.fx.raw("GET", `${SERVICE}/namedValues?api-version=2024-05-01`);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: { code: "AuthenticationFailed", message: expect.stringContaining("Authorization") } });
    expect(r.headers["www-authenticate"]).toMatch(/^Bearer authorization_uri=/);
  });

  it("a token for another resource (Key Vault) gets 401 InvalidAuthenticationTokenAudience listing the allowed audiences", async () => {
    const kvToken = (await w.fx.credential().getToken("https://vault.azure.net/.default"))!.token;
    const r = await w.fx.raw("GET", `${SERVICE}/namedValues?api-version=2024-05-01`, { token: kvToken });
    expect(r.status).toBe(401);
    const err = (r.body as { error: { code: string; message: string } }).error;
    expect(err.code).toBe("InvalidAuthenticationTokenAudience");
    expect(err.message).toContain("'https://management.azure.com/'");
  });

  it("api-version is required (400 MissingApiVersionParameter) and must be one the provider serves", async () => {
    const none = await w.fx.raw("GET", `${SERVICE}/namedValues`, { token: w.token });
    expect([none.status, (none.body as { error: { code: string } }).error.code]).toEqual([400, "MissingApiVersionParameter"]);
    const bad = await w.fx.raw("GET", `${SERVICE}/namedValues?api-version=1999-01-01`, { token: w.token });
    expect([bad.status, (bad.body as { error: { code: string } }).error.code]).toEqual([400, "InvalidApiVersionParameter"]);
  });

  it("every answer carries x-ms-ratelimit-remaining-subscription-<kind>; an empty bucket answers 429 with Retry-After", async () => {
    w.fx.arm.core.setLimits("writes", 1, 0.5);
    const list = await w.fx.raw("GET", `${SERVICE}/namedValues?api-version=2024-05-01`, { token: w.token });
    expect(Number(list.headers["x-ms-ratelimit-remaining-subscription-reads"])).toBeGreaterThan(0);
    const body = { properties: { displayName: "a", value: "b" } };
    const first = await w.fx.raw("PUT", `${SERVICE}/namedValues/a?api-version=2024-05-01`, { token: w.token, body });
    expect(first.headers["x-ms-ratelimit-remaining-subscription-writes"]).toBe("0");
    const second = await w.fx.raw("PUT", `${SERVICE}/namedValues/a?api-version=2024-05-01`, { token: w.token, body });
    expect(second.status).toBe(429);
    expect(second.headers["retry-after"]).toBe("2");
    expect((second.body as { error: { code: string } }).error.code).toBe("SubscriptionRequestsThrottled");
  });

  it("a denied RBAC action answers 403 AuthorizationFailed naming the action and scope", async () => {
    w.fx.arm.core.deny("Microsoft.ApiManagement/service/namedValues/read");
    const r = await w.fx.raw("GET", `${SERVICE}/namedValues?api-version=2024-05-01`, { token: w.token });
    expect(r.status).toBe(403);
    expect((r.body as { error: { code: string; message: string } }).error).toEqual({
      code: "AuthorizationFailed",
      message: expect.stringContaining(`'Microsoft.ApiManagement/service/namedValues/read' over scope '${SERVICE}/namedValues'`),
    });
  });

  it("a long-running operation answers InProgress until polled enough, then Succeeded; its location answers 202 meanwhile", async () => {
    w.fx.arm.core.operationPolls = 1;
    const put = await w.fx.raw("PUT", `${SERVICE}/namedValues/lro?api-version=2024-05-01`, {
      token: w.token,
      body: { properties: { displayName: "lro", value: "v" } },
    });
    expect(put.status).toBe(201);
    const asyncUrl = new URL(put.headers["azure-asyncoperation"]!);
    const location = new URL(put.headers["location"]!);
    expect(asyncUrl.pathname).toMatch(new RegExp(`^${SERVICE}/tenant/operationResults/[0-9a-f]+$`));
    expect(location.searchParams.get("asyncCode")).toBe("201");
    expect((await w.fx.raw("GET", location.pathname + location.search, { token: w.token })).status).toBe(202);
    const p1 = await w.fx.raw("GET", asyncUrl.pathname + asyncUrl.search, { token: w.token });
    expect((p1.body as { status: string }).status).toBe("InProgress");
    const p2 = await w.fx.raw("GET", asyncUrl.pathname + asyncUrl.search, { token: w.token });
    expect((p2.body as { status: string }).status).toBe("Succeeded");
    const done = await w.fx.raw("GET", location.pathname + location.search, { token: w.token });
    expect(done.status).toBe(200);
    expect((done.body as { name: string }).name).toBe("lro");
  });
});
