import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useArmTestWorld } from "../testWorld.js";

/**
 * Fidelity of API Management credential providers and connections against
 * ../shared/specs/apim-authorization-providers.md and its verbatim examples
 * (apim-authorization-providers/examples/2024-05-01/*.json).
 */
const EXAMPLES = fileURLToPath(new URL("../../../../shared/specs/apim-authorization-providers/examples/2024-05-01/", import.meta.url));
const SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1";
const API = "api-version=2024-05-01";

interface Example {
  parameters: { authorizationProviderId: string; authorizationId?: string; parameters?: { properties: Record<string, unknown> } };
  responses: Record<string, { body?: unknown }>;
}
const example = (file: string): Example => JSON.parse(readFileSync(EXAMPLES + file, "utf8")) as Example;

const w = useArmTestWorld({ seed: (w) => w.fx.arm.apim.seedService(SERVICE) });

describe("credential providers and connections (apim-authorization-providers.md)", () => {
  it("ApiManagementCreateAuthorizationProviderAADAuthCode.json: PUT answers 201 then 200 synchronously, with an ETag and without clientSecret", async () => {
    const ex = example("ApiManagementCreateAuthorizationProviderAADAuthCode.json");
    const path = `${SERVICE}/authorizationProviders/${ex.parameters.authorizationProviderId}?${API}`;
    for (const code of [201, 200]) {
      const r = await w.call("PUT", path, { body: ex.parameters.parameters });
      expect(r.status).toBe(code);
      expect(r.headers["etag"]).toBeDefined();
      expect(r.headers["azure-asyncoperation"]).toBeUndefined();
      // The example's response names another clientId than its request (the spec notes it): compare with the one sent.
      const want = JSON.parse(JSON.stringify(ex.responses[String(code)]!.body).replace("53790825-fdd3-4b80-bc7a-4c3aaf25801d", "clientsecretid")) as unknown;
      expect(r.body).toEqual(want);
      expect(JSON.stringify(r.body)).not.toContain("clientsecretvalue");
    }
    const got = await w.call("GET", path);
    expect(JSON.stringify(got.body)).not.toContain("clientsecretvalue");
    expect(w.fx.arm.apim.provider(SERVICE, ex.parameters.authorizationProviderId)!.authCodeSecret).toBe("clientsecretvalue");
  });

  it("ApiManagementCreateAuthorizationAADClientCred.json: a connection answers parameters without clientSecret and status Connected when Entra accepts the secret", async () => {
    const ex = example("ApiManagementCreateAuthorizationAADClientCred.json");
    w.fx.arm.apim.seedProvider(SERVICE, { name: ex.parameters.authorizationProviderId, grantType: "clientCredentials" });
    const app = w.fx.entra.target;
    const body = { properties: { ...ex.parameters.parameters!.properties, parameters: { clientId: app.app.appId, clientSecret: app.secret.secretText } } };
    const r = await w.call(
      "PUT",
      `${SERVICE}/authorizationProviders/${ex.parameters.authorizationProviderId}/authorizations/${ex.parameters.authorizationId!}?${API}`,
      { body },
    );
    expect(r.status).toBe(201);
    const want = ex.responses["201"]!.body as { properties: { parameters: Record<string, string> } };
    expect(r.body).toEqual({ ...want, properties: { ...want.properties, parameters: { clientId: app.app.appId } } });
  });

  it("ApiManagementListAuthorizationsClientCred.json: a connection whose secret Entra refuses is Error with code Unauthorized and the AADSTS7000215 invalid_client error", async () => {
    const ex = example("ApiManagementListAuthorizationsClientCred.json");
    w.fx.arm.apim.seedProvider(SERVICE, { name: ex.parameters.authorizationProviderId, grantType: "clientCredentials" });
    const app = w.fx.entra.target;
    w.fx.arm.apim.seedConnection(SERVICE, ex.parameters.authorizationProviderId, {
      name: "authz1",
      clientId: app.app.appId,
      clientSecret: app.secret.secretText,
    });
    w.fx.arm.apim.seedConnection(SERVICE, ex.parameters.authorizationProviderId, {
      name: "authz2",
      clientId: app.app.appId,
      clientSecret: "not-the-secret-0123456789",
    });
    const r = await w.call("GET", `${SERVICE}/authorizationProviders/${ex.parameters.authorizationProviderId}/authorizations?${API}`);
    const got = (r.body as { value: { properties: { status: string; error?: { code: string; message: string } } }[] }).value;
    const want = (ex.responses["200"]!.body as { value: { properties: { status: string; error?: { code: string; message: string } } }[] }).value;
    expect(got.map((c) => c.properties.status)).toEqual(want.map((c) => c.properties.status));
    expect(got[1]!.properties.error!.code).toBe(want[1]!.properties.error!.code);
    for (const part of [
      "Failed to acquire access token for service using client credentials flow",
      '"error":"invalid_client"',
      "AADSTS7000215: Invalid client secret provided",
    ]) {
      expect(want[1]!.properties.error!.message).toContain(part);
      expect(got[1]!.properties.error!.message).toContain(part);
    }
    expect(JSON.stringify(r.body)).not.toContain("not-the-secret");
  });

  it("§ ETag / If-Match: a PUT with a stale If-Match is refused (412, the ARM convention) and stores nothing", async () => {
    w.fx.arm.apim.seedProvider(SERVICE, { name: "p", grantType: "authorizationCode", clientId: "c", clientSecret: "first-secret-0123456789" });
    const body = {
      properties: {
        displayName: "p",
        identityProvider: "aad",
        oauth2: { grantTypes: { authorizationCode: { clientId: "c", clientSecret: "second-secret-0123456789" } } },
      },
    };
    const r = await w.call("PUT", `${SERVICE}/authorizationProviders/p?${API}`, { body, headers: { "if-match": '"stale"' } });
    expect(r.status).toBe(412);
    expect(w.fx.arm.apim.provider(SERVICE, "p")!.authCodeSecret).toBe("first-secret-0123456789");
  });
});
