import { describe, expect, test } from "vitest";
import { diagnose } from "../../src/probe/troubleshooting.js";
import { BREAK_RECIPES } from "../harness/breakRecipes.js";
import { check, DOMAIN, probeWorldPerTest, statuses } from "./harness.js";

/**
 * The guide's "Advanced configuration": multi-tenant apps (common in the authorization URL only),
 * custom domains, and the replication window of a freshly promoted secret.
 */
const startProbeWorld = probeWorldPerTest();

describe("multi-tenant sets", () => {
  test("common in the authorization URL and the tenant in the token URL pass every check", async () => {
    const w = await startProbeWorld({ multiTenant: true });
    const report = await w.probe();
    expect(Object.values(statuses(report)).every((s) => s === "pass")).toBe(true);
    const discovery = check(report, "discovery");
    expect(discovery.evidence["commonAuthorizationEndpoint"]).toBe(`${w.world.authorityHost}/common/oauth2/v2.0/authorize`);
    expect(check(report, "authorize").evidence["requests"]).toEqual([expect.stringContaining("/common/oauth2/v2.0/authorize")]);
  });

  test("common in the token URL fails discovery, token and gateway-drift naming AADSTS9001023", async () => {
    const w = await startProbeWorld({ multiTenant: true });
    const { set } = await BREAK_RECIPES["9001023"]!.apply({ world: w.world, set: w.set, appObjectId: w.appObjectId, clients: w.clients });
    const report = await w.probe({ set });

    const discovery = check(report, "discovery");
    expect(discovery).toMatchObject({ status: "fail", severity: "critical", aadsts: 9001023 });
    expect(discovery.hint).toContain("Authorization URL only");
    // Entra itself answers 9001023 at the gateway's token URL, while the tenant endpoint still works.
    const token = check(report, "token");
    expect(token).toMatchObject({ status: "fail", severity: "critical", aadsts: 9001023 });
    expect(token.evidence["requests"]).toEqual([
      expect.stringMatching(/\/oauth2\/v2\.0\/token → HTTP 200 token issued$/),
      expect.stringMatching(/\/common\/oauth2\/v2\.0\/token → HTTP 400 AADSTS9001023$/),
    ]);
    expect(check(report, "gateway-drift")).toMatchObject({ status: "fail", aadsts: 9001023 });
    expect(check(report, "authorize").status).toBe("pass");
    expect(diagnose(report)).toEqual([]);
  });

  test("a single-tenant set whose gateway signs users in through common is told AADSTS50194 by drift", async () => {
    const w = await startProbeWorld();
    for (const s of w.targets) {
      w.world.gateway.editServer(s.id, {
        additionalParameters: { ...s.additionalParameters, authorizationUrl: `${w.world.authorityHost}/common/oauth2/v2.0/authorize` },
      });
    }
    const drift = check(await w.probe(), "gateway-drift");
    expect(drift).toMatchObject({ status: "fail", severity: "error", aadsts: 50194 });
    expect(drift.summary).toMatch(/^3 target\(s\)/);
  });
});

describe("custom domains", () => {
  test("gateway URLs naming the tenant by its verified domain resolve to the tenant and pass", async () => {
    const w = await startProbeWorld({ tenantByDomain: true });
    const report = await w.probe();
    expect(Object.values(statuses(report)).every((s) => s === "pass")).toBe(true);
    expect(check(report, "gateway-drift").evidence["resolvedDomains"]).toEqual([`${DOMAIN} → ${w.world.tenantId}`]);
    // The domain-form token URL is its own request, and Entra accepts the secret there too.
    expect(check(report, "token").evidence["requests"]).toEqual([
      expect.stringContaining(`/${w.world.tenantId}/oauth2/v2.0/token → HTTP 200`),
      expect.stringContaining(`/${DOMAIN}/oauth2/v2.0/token → HTTP 200`),
    ]);
  });

  test("a sign-in host whose discovery publishes endpoints on another host fails discovery and drift", async () => {
    // The set names a custom sign-in host (localhost here) but Entra publishes the tenant's
    // endpoints on its default host (127.0.0.1): the guide's custom-domain replacement half done.
    const w = await startProbeWorld();
    const customHost = w.world.authorityHost.replace("127.0.0.1", "localhost");
    const report = await w.probe({ set: { ...w.set, authorityHost: customHost } });

    const discovery = check(report, "discovery");
    expect(discovery).toMatchObject({ status: "fail", severity: "error" });
    expect(discovery.summary).toContain(`not on the configured ${customHost}`);
    expect(discovery.hint).toContain("custom domain");
    const drift = check(report, "gateway-drift");
    expect(drift).toMatchObject({ status: "fail", severity: "critical" });
    expect(drift.summary).toContain("is on https://127.0.0.1");
    // The secret is never sent to a host other than the configured sign-in host.
    expect(check(report, "token").evidence["notSentToForeignHost"]).toHaveLength(3);
  });

  test("a token URL naming an unknown tenant is reported by token with AADSTS90002", async () => {
    const w = await startProbeWorld({ targets: 1 });
    const s = w.targets[0]!;
    w.world.gateway.editServer(s.id, { tokenUrl: `${w.world.authorityHost}/unknown-tenant.example/oauth2/v2.0/token` });
    const report = await w.probe();
    expect(check(report, "token")).toMatchObject({ status: "fail", severity: "critical", aadsts: 90002 });
    const drift = check(report, "gateway-drift");
    expect(drift).toMatchObject({ status: "fail", severity: "critical", aadsts: 90002 });
    expect(drift.evidence["resolvedDomains"]).toEqual(["unknown-tenant.example → unknown to Entra"]);
  });
});

describe("unknown tenants", () => {
  test("a tenant ID Entra does not know fails discovery and token with AADSTS90002", async () => {
    const w = await startProbeWorld({ targets: 1 });
    const set = { ...w.set, tenantId: "0badc0de-0000-4000-8000-000000000001" };
    const report = await w.probe({ set, checks: ["discovery", "token"] });
    const discovery = check(report, "discovery");
    expect(discovery).toMatchObject({ status: "fail", severity: "critical", aadsts: 90002 });
    expect(discovery.hint).toContain("Directory (tenant) ID");
    expect(check(report, "token")).toMatchObject({ status: "fail", severity: "critical", aadsts: 90002 });
  });
});

describe("replication window", () => {
  test("a wrong secret promoted minutes ago is a replication warning, and a failure once the window has passed", async () => {
    const w = await startProbeWorld();
    await w.clients.vault.setSecret(w.set.keyVault.secretName, "not-yet-replicated-value-0123456789");
    w.world.clock.advance(2 * 60_000);

    const early = check(await w.probe({ replicationWindowMs: 10 * 60_000 }), "token");
    expect(early).toMatchObject({ status: "warn", severity: "warning", aadsts: 7000215 });
    expect(early.summary).toContain("2 min old");

    w.world.clock.advance(10 * 60_000);
    expect(check(await w.probe({ replicationWindowMs: 10 * 60_000 }), "token")).toMatchObject({ status: "fail", severity: "critical", aadsts: 7000215 });
  });
});
