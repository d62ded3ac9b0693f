import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { BREAK_RECIPES } from "../harness/breakRecipes.js";
import { check, probeWorldPerTest } from "./harness.js";

/**
 * What the provider said, kept for the operator: against the Entra emulator, a refused token
 * request keeps Entra's `error` and `error_description` (redacted) in the token check's evidence,
 * and an authorize answer naming the redirect URI (AADSTS50011 on Entra's error page) is diagnosed
 * as a redirect mismatch with the place to register the URI. The same against oidc-provider is in
 * oidcProvider.test.ts.
 */
const startProbeWorld = probeWorldPerTest();

describe("a refused token request keeps the provider's error and error_description", () => {
  test("a wrong secret in Key Vault: invalid_client and Entra's AADSTS7000215 text, the secret nowhere", async () => {
    const w = await startProbeWorld({ targets: 1 });
    const wrong = `wrong-${randomBytes(18).toString("base64url")}`;
    w.world.keyVault.seedSecret(w.set.keyVault.secretName, wrong);
    const report = await w.probe({ checks: ["token"] });
    const token = check(report, "token");
    expect(token).toMatchObject({ status: "fail", aadsts: 7000215 });
    expect(token.evidence["providerError"]).toBe("invalid_client");
    expect(token.evidence["providerErrorDescription"]).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    expect(token.evidence["providerErrors"]).toEqual([expect.stringMatching(/\/oauth2\/v2\.0\/token → invalid_client: AADSTS7000215: /)]);
    expect(JSON.stringify(report)).not.toContain(wrong);
    expect(w.scanner().addSecrets([wrong]).fragmentLeaks()).toEqual([]);
  });

  test("an unknown client ID: Entra's AADSTS700016 text names the application and the tenant", async () => {
    const w = await startProbeWorld({ targets: 1 });
    const { set } = await BREAK_RECIPES["700016"]!.apply({ world: w.world, set: w.set, appObjectId: w.appObjectId, clients: w.clients });
    const token = check(await w.probe({ set, checks: ["token"] }), "token");
    expect(token).toMatchObject({ status: "fail", aadsts: 700016 });
    expect(token.evidence["providerErrorDescription"]).toContain(`AADSTS700016: Application with identifier '${set.clientId}' was not found`);
  });

  test("a token issued: no provider error in the evidence", async () => {
    const w = await startProbeWorld({ targets: 1 });
    const token = check(await w.probe({ checks: ["token"] }), "token");
    expect(token.status).toBe("pass");
    expect(Object.keys(token.evidence).filter((k) => k.startsWith("providerError"))).toEqual([]);
  });
});

describe("an authorize answer naming the redirect URI is a redirect mismatch", () => {
  test("AADSTS50011 on Entra's error page: the finding names the URI and where to register it", async () => {
    const w = await startProbeWorld({ targets: 2 });
    const { set } = await BREAK_RECIPES["50011"]!.apply({ world: w.world, set: w.set, appObjectId: w.appObjectId, clients: w.clients });
    const authorize = check(await w.probe({ set, checks: ["authorize"] }), "authorize");
    expect(authorize).toMatchObject({ status: "fail", severity: "critical", aadsts: 50011 });
    expect(authorize.summary).toContain(`the redirect URI ${w.set.redirectUri}/ is not registered on the app (AADSTS50011)`);
    expect(authorize.summary).not.toContain("sign-in page");
    expect(authorize.hint).toContain(`Add ${w.set.redirectUri}/ exactly`);
    expect(authorize.hint).toContain("Authentication > Web > Redirect URIs");
    expect(authorize.evidence["requests"]).toEqual([expect.stringMatching(/→ HTTP 200 AADSTS50011$/)]);
  });
});
