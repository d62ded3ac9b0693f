import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useArmTestWorld } from "../testWorld.js";

/**
 * Fidelity of the API Management named values against ../shared/specs/apim-named-values.md and its
 * verbatim examples (apim-named-values/examples/2024-05-01/*.json): each test replays an example's
 * request on the example's own service ID and compares the answer with the example's response.
 */
const EXAMPLES = fileURLToPath(new URL("../../../../shared/specs/apim-named-values/examples/2024-05-01/", import.meta.url));
const SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1";

interface Example {
  parameters: { namedValueId: string; "api-version": string; parameters?: { properties: Record<string, unknown> }; "If-Match"?: string };
  responses: Record<string, { headers?: Record<string, string>; body?: unknown }>;
}

const w = useArmTestWorld({ keyVault: true, seed: (w) => w.fx.arm.apim.seedService(SERVICE) });

function example(file: string): Example {
  return JSON.parse(readFileSync(EXAMPLES + file, "utf8")) as Example;
}

/** Polls an operation to its end, as a client following Azure-AsyncOperation does. */
async function finish(headers: Record<string, string>): Promise<string> {
  const u = new URL(headers["azure-asyncoperation"]!);
  for (let i = 0; i < 5; i++) {
    const r = await w.call("GET", u.pathname + u.search);
    const status = (r.body as { status: string }).status;
    if (status !== "InProgress") return status;
  }
  throw new Error("the operation never ended");
}

/** The path and query of a URL the emulator handed out, with the example's host in its place. */
function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

describe("named values (apim-named-values.md)", () => {
  it("ApiManagementCreateNamedValue.json: PUT answers 201 then 200 with provisioningState InProgress, location and Azure-AsyncOperation", async () => {
    const ex = example("ApiManagementCreateNamedValue.json");
    const path = `${SERVICE}/namedValues/${ex.parameters.namedValueId}?api-version=${ex.parameters["api-version"]}`;
    for (const code of ["201", "200"]) {
      const r = await w.call("PUT", path, { body: ex.parameters.parameters });
      expect(String(r.status)).toBe(code);
      expect(r.body).toEqual(ex.responses[code]!.body);
      const want = ex.responses[code]!.headers!;
      // Same paths and query keys as the example; the host is the emulator's and the asyncId its own.
      expect(pathOf(r.headers["location"]!).replace(/asyncId=[0-9a-f]+/, "asyncId=X")).toBe(
        pathOf(want["location"]!).replace(/asyncId=[0-9a-f]+/, "asyncId=X"),
      );
      expect(pathOf(r.headers["azure-asyncoperation"]!).replace(/operationResults\/[0-9a-f]+/, "operationResults/X")).toBe(
        pathOf(want["Azure-AsyncOperation"]!).replace(/operationResults\/[0-9a-f]+/, "operationResults/X"),
      );
      expect(r.headers["etag"]).toBeDefined();
      expect(await finish(r.headers)).toBe("Succeeded");
    }
  });

  it("ApiManagementGetNamedValue.json and ApiManagementNamedValueListValue.json: a plain value is returned on GET, and by listValue", async () => {
    const get = example("ApiManagementGetNamedValue.json");
    const body = get.responses["200"]!.body as { name: string; properties: { displayName: string; value: string; tags: string[]; secret: boolean } };
    w.fx.arm.apim.seedNamedValue(SERVICE, {
      name: body.name,
      displayName: body.properties.displayName,
      value: body.properties.value,
      tags: body.properties.tags,
      secret: false,
    });
    const r = await w.call("GET", `${SERVICE}/namedValues/${get.parameters.namedValueId}?api-version=2024-05-01`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(body);
    const list = example("ApiManagementNamedValueListValue.json");
    const v = await w.call("POST", `${SERVICE}/namedValues/${list.parameters.namedValueId}/listValue?api-version=2024-05-01`);
    expect(v.body).toEqual(list.responses["200"]!.body);
  });

  it("§ Is the secret returned on GET: a secret value is hidden on GET and list, and returned only by listValue", async () => {
    w.fx.arm.apim.seedNamedValue(SERVICE, { name: "hidden", value: "hidden-value-0123456789", secret: true });
    const r = await w.call("GET", `${SERVICE}/namedValues/hidden?api-version=2024-05-01`);
    expect(JSON.stringify(r.body)).not.toContain("hidden-value");
    const l = await w.call("GET", `${SERVICE}/namedValues?api-version=2024-05-01`);
    expect(JSON.stringify(l.body)).not.toContain("hidden-value");
    expect((await w.call("POST", `${SERVICE}/namedValues/hidden/listValue?api-version=2024-05-01`)).body).toEqual({ value: "hidden-value-0123456789" });
  });

  it("ApiManagementCreateNamedValueWithKeyVault.json and ApiManagementGetNamedValueWithKeyVault.json: Key Vault-backed values carry keyVault and secret:true, never value", async () => {
    const create = example("ApiManagementCreateNamedValueWithKeyVault.json");
    w.kv.vault.seedSecret("aadSecret", "aad-secret-value-0123456789");
    const props = {
      ...create.parameters.parameters!.properties,
      keyVault: { ...(create.parameters.parameters!.properties["keyVault"] as object), secretIdentifier: `${w.kv.vaultUrl}/secrets/aadSecret` },
    };
    const r = await w.call("PUT", `${SERVICE}/namedValues/${create.parameters.namedValueId}?api-version=2024-05-01`, { body: { properties: props } });
    expect(r.status).toBe(201);
    const want = create.responses["201"]!.body as { properties: { keyVault: Record<string, unknown> } };
    // Guess (README): the fetch happens when the operation completes, so the PUT answer has no lastStatus yet.
    const { lastStatus: _ignored, ...keyVaultWithoutStatus } = want.properties.keyVault;
    expect(r.body).toEqual({
      ...want,
      properties: { ...want.properties, keyVault: { ...keyVaultWithoutStatus, secretIdentifier: `${w.kv.vaultUrl}/secrets/aadSecret` } },
    });
    expect(await finish(r.headers)).toBe("Succeeded");

    const get = example("ApiManagementGetNamedValueWithKeyVault.json");
    const g = await w.call("GET", `${SERVICE}/namedValues/${get.parameters.namedValueId}?api-version=2024-05-01`);
    const shape = (b: unknown) =>
      JSON.parse(JSON.stringify(b, (k, v: unknown) => (["secretIdentifier", "identityClientId", "timeStampUtc"].includes(k) ? typeof v : v))) as unknown;
    expect(shape(g.body)).toEqual(shape(get.responses["200"]!.body));
    expect(g.body).not.toHaveProperty("properties.value");
  });

  it("ApiManagementRefreshNamedValue.json: refreshSecret answers 202 with location …/refreshSecret and Azure-AsyncOperation; afterwards lastStatus is Success with a newer timeStampUtc and the new version is fetched", async () => {
    const ex = example("ApiManagementRefreshNamedValue.json");
    w.kv.vault.seedSecret("msitestingCert", "version-one-value-0123456789");
    const nv = w.fx.arm.apim.seedNamedValue(SERVICE, {
      name: ex.parameters.namedValueId,
      keyVault: { secretIdentifier: `${w.kv.vaultUrl}/secrets/msitestingCert` },
    });
    const before = nv.keyVault!.lastStatus!.timeStampUtc;
    w.kv.entra.clock.advance(60_000);
    w.kv.vault.seedSecret("msitestingCert", "version-two-value-0123456789");
    const r = await w.call("POST", `${SERVICE}/namedValues/${ex.parameters.namedValueId}/refreshSecret?api-version=2024-05-01`);
    expect(r.status).toBe(202);
    expect(r.body).toBeUndefined();
    // The example's location names another named value (testprop6; see the spec's note): compare the shape.
    expect(pathOf(r.headers["location"]!)).toMatch(
      new RegExp(`^${SERVICE}/namedValues/${ex.parameters.namedValueId}/refreshSecret\\?api-version=2024-05-01&asyncId=[0-9a-f]+&asyncCode=201$`),
    );
    expect(pathOf(ex.responses["202"]!.headers!["location"]!)).toMatch(
      /\/namedValues\/[^/]+\/refreshSecret\?api-version=2024-05-01&asyncId=[0-9a-f]+&asyncCode=201$/,
    );
    expect(await finish(r.headers)).toBe("Succeeded");
    const final = await w.call("GET", pathOf(r.headers["location"]!));
    expect(final.status).toBe(200);
    const lastStatus = (final.body as { properties: { keyVault: { lastStatus: { code: string; timeStampUtc: string } } } }).properties.keyVault.lastStatus;
    expect(lastStatus.code).toBe("Success");
    expect(Date.parse(lastStatus.timeStampUtc)).toBeGreaterThan(Date.parse(before));
    expect(w.fx.arm.apim.namedValue(SERVICE, ex.parameters.namedValueId)!.value).toBe("version-two-value-0123456789");
  });

  it("§ Refresh interval (ground truth): the service uses the value it fetched until 4 h after that fetch, then the version Key Vault serves, fetched by itself", () => {
    w.kv.vault.seedSecret("sso", "version-one-value-0123456789");
    w.fx.arm.apim.seedNamedValue(SERVICE, { name: "sso", keyVault: { secretIdentifier: `${w.kv.vaultUrl}/secrets/sso` } });
    w.kv.vault.seedSecret("sso", "version-two-value-0123456789");
    w.kv.entra.clock.advance(4 * 3_600_000 - 1_000);
    expect(w.fx.arm.apim.namedValueInUse(SERVICE, "sso")!.value).toBe("version-one-value-0123456789");
    w.kv.entra.clock.advance(1_000);
    const nv = w.fx.arm.apim.namedValueInUse(SERVICE, "sso")!;
    expect(nv.value).toBe("version-two-value-0123456789");
    expect(nv.keyVault!.lastStatus).toMatchObject({ code: "Success", timeStampUtc: w.kv.entra.clock.now().toISOString() });
  });

  it("ApiManagementUpdateNamedValue.json: PATCH with If-Match * answers 202 with location and Azure-AsyncOperation, then the example's 200 body; If-Match is required", async () => {
    const ex = example("ApiManagementUpdateNamedValue.json");
    w.fx.arm.apim.seedNamedValue(SERVICE, { name: ex.parameters.namedValueId, displayName: "prop3name", value: "propValue", tags: ["foo", "bar"] });
    const path = `${SERVICE}/namedValues/${ex.parameters.namedValueId}?api-version=2024-05-01`;
    const missing = await w.call("PATCH", path, { body: ex.parameters.parameters });
    expect(missing.status).toBe(400);
    const r = await w.call("PATCH", path, { body: ex.parameters.parameters, headers: { "if-match": ex.parameters["If-Match"]! } });
    expect(r.status).toBe(202);
    expect(Object.keys(r.headers)).toEqual(expect.arrayContaining(["location", "azure-asyncoperation"]));
    expect(await finish(r.headers)).toBe("Succeeded");
    const after = await w.call("GET", pathOf(r.headers["location"]!));
    const { name: _n, ...withoutName } = after.body as { name: string };
    expect(withoutName).toEqual(ex.responses["200"]!.body);
  });

  it("§ Paths: the list pages with nextLink and filters isKeyVaultRefreshFailed", async () => {
    w.fx.arm.apim.setPageSize(2);
    for (const n of ["a", "b", "c"]) w.fx.arm.apim.seedNamedValue(SERVICE, { name: n, value: n });
    w.fx.arm.apim.seedNamedValue(SERVICE, { name: "broken", keyVault: { secretIdentifier: `${w.kv.vaultUrl}/secrets/does-not-exist` } });
    const first = (await w.call("GET", `${SERVICE}/namedValues?api-version=2024-05-01`)).body as { value: unknown[]; count: number; nextLink: string };
    expect([first.value.length, first.count]).toEqual([2, 4]);
    const second = (await w.call("GET", pathOf(first.nextLink))).body as { value: unknown[]; nextLink?: string };
    expect(second.value.length).toBe(2);
    expect(second.nextLink).toBeUndefined();
    const failed = (await w.call("GET", `${SERVICE}/namedValues?api-version=2024-05-01&isKeyVaultRefreshFailed=true`)).body as { value: { name: string }[] };
    expect(failed.value.map((v) => v.name)).toEqual(["broken"]);
  });
});
