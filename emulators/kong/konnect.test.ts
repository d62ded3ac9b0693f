import { randomUUID } from "node:crypto";
import { plainJsonCall, useFidelityEmulator } from "./plainCall.js";
import { describe, expect, it } from "vitest";
import { KonnectEmulator } from "./index.js";

/**
 * Fidelity of the Konnect emulator against ../shared/specs/kong-openid-connect.md, chiefly
 * § Konnect equivalent. Each test names the section it checks. Plain HTTP and plain fetch.
 */
const TOKEN = `kpat_${randomUUID().replaceAll("-", "")}`;
const CP = randomUUID();
const OTHER_CP = randomUUID();
const ISSUER = "https://login.microsoftonline.com/3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c/v2.0";
const plugins = (cp = CP) => `/v2/control-planes/${cp}/core-entities/plugins`;
const konnect = useFidelityEmulator(new KonnectEmulator({ accessToken: TOKEN, controlPlaneIds: [CP, OTHER_CP], plainHttp: true }));

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }) =>
  plainJsonCall(konnect.url, method, path, body, headers);
const configOf = (r: { body: Record<string, unknown> }) => r.body["config"] as Record<string, unknown>;

describe("Konnect control-plane API emulator (specs/kong-openid-connect.md § Konnect equivalent)", () => {
  it("§ Konnect equivalent: a Bearer token is required; none, a wrong one or a Kong-Admin-Token header is 401 {message: Unauthorized, status: 401}", async () => {
    konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"] });
    for (const headers of [{}, { Authorization: "Bearer wrong" }, { Authorization: TOKEN }, { "Kong-Admin-Token": TOKEN }]) {
      const r = await call("GET", plugins(), undefined, headers as Record<string, string>);
      expect(r).toMatchObject({ status: 401, body: { message: "Unauthorized", status: 401 } });
    }
    expect((await call("GET", plugins())).status).toBe(200);
  });

  it("§ Konnect equivalent + § Pagination: list size default 100, max 1000, {data, next, offset}; the last page has next null and no offset", async () => {
    for (let i = 0; i < 150; i++) konnect.seedPlugin({ issuer: ISSUER, clientIds: [`c${i}`], clientSecrets: [`s${i}`] });
    const first = await call("GET", plugins());
    expect((first.body["data"] as unknown[]).length).toBe(100);
    expect(first.body["next"]).toBe(`${plugins()}?offset=${encodeURIComponent(first.body["offset"] as string)}`);
    const last = await call("GET", first.body["next"] as string);
    expect((last.body["data"] as unknown[]).length).toBe(50);
    expect(last.body["next"]).toBeNull();
    expect(last.body["offset"]).toBeUndefined();
    expect((await call("GET", `${plugins()}?size=1000`)).body["next"]).toBeNull();
    expect(await call("GET", `${plugins()}?size=1001`)).toMatchObject({ status: 400, body: { code: 9, name: "invalid size" } });
  });

  it("§ Konnect equivalent: no PATCH is defined for plugins; a PATCH is refused and changes nothing", async () => {
    const p = konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["old"] });
    const r = await call("PATCH", `${plugins()}/${p.id}`, { config: { client_secret: ["new"] } });
    expect(r.status).toBe(405);
    expect(konnect.plugins()[0]!.config.client_secret).toEqual(["old"]);
  });

  it("§ Konnect equivalent: PUT is a full upsert — the entity as read with a new client_secret is stored; a PATCH-like partial body resets what it leaves out", async () => {
    const p = konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a", "b"], clientSecrets: ["sa", "sb"], instanceName: "oidc", tags: ["sso"] });
    konnect.editPlugin(p.id, { cache_ttl: 120 });
    const read = await call("GET", `${plugins()}/${p.id}`);
    const whole = { ...read.body, config: { ...configOf(read), client_secret: ["sa", "NEW"] } };
    const put = await call("PUT", `${plugins()}/${p.id}`, whole);
    expect(put.status).toBe(200);
    expect(configOf(put)).toMatchObject({ client_id: ["a", "b"], client_secret: ["sa", "NEW"], cache_ttl: 120 });
    expect(put.body).toMatchObject({ instance_name: "oidc", tags: ["sso"], created_at: p.created_at });
    expect(put.body["updated_at"] as number).toBeGreaterThan(read.body["updated_at"] as number);
    // Only what a PATCH would send: everything left out takes its default, client_id included.
    const partial = await call("PUT", `${plugins()}/${p.id}`, { name: "openid-connect", config: { issuer: ISSUER, client_secret: ["x"] } });
    expect(partial.status).toBe(200);
    expect(configOf(partial)).toMatchObject({ client_id: null, client_secret: ["x"], cache_ttl: 3600 });
    expect(partial.body).toMatchObject({ instance_name: null, tags: null });
  });

  it("§ Konnect equivalent + § Errors: a PUT without config.issuer or name is a schema violation {code 2} and nothing is stored", async () => {
    const p = konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["old"] });
    const noIssuer = await call("PUT", `${plugins()}/${p.id}`, { name: "openid-connect", config: { client_id: ["a"], client_secret: ["new"] } });
    expect(noIssuer).toMatchObject({
      status: 400,
      body: { code: 2, name: "schema violation", message: "schema violation (config.issuer: required field missing)" },
    });
    const both = await call("PUT", `${plugins()}/${p.id}`, { config: { client_secret: ["new"] } });
    expect(both.body["message"]).toMatch(/^2 schema violations \(name: required field missing; config\.issuer: required field missing\)$/);
    expect(konnect.plugins()[0]!.config.client_secret).toEqual(["old"]);
  });

  it("§ Konnect equivalent: PUT on an unknown ID creates the plugin (upsert); services/{id}/plugins/{id} is read and PUT like the top-level path", async () => {
    const id = randomUUID();
    const svc = randomUUID();
    const created = await call("PUT", `/v2/control-planes/${CP}/core-entities/services/${svc}/plugins/${id}`, {
      name: "openid-connect",
      config: { issuer: ISSUER, client_id: ["a"], client_secret: ["s"] },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id, service: { id: svc } });
    expect((await call("GET", `/v2/control-planes/${CP}/core-entities/services/${svc}/plugins/${id}`)).status).toBe(200);
    expect((await call("GET", `/v2/control-planes/${CP}/core-entities/services/${randomUUID()}/plugins/${id}`)).status).toBe(404);
  });

  it("control planes are separate: a plugin is 404 under another control plane, an unknown control plane is 404, a control plane the token has no role on is 403", async () => {
    const p = konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"] });
    expect((await call("GET", `${plugins(OTHER_CP)}/${p.id}`)).status).toBe(404);
    expect((await call("GET", plugins(OTHER_CP))).body["data"]).toEqual([]);
    expect((await call("GET", plugins(randomUUID()))).status).toBe(404);
    konnect.denyControlPlane(CP);
    expect(await call("GET", plugins())).toMatchObject({ status: 403, body: { status: 403 } });
    expect((await call("GET", plugins(OTHER_CP))).status).toBe(200);
  });

  it("§ Is client_secret returned on GET (Konnect: the stored entity): the secret in clear, a {vault://…} reference as the reference; no ETag (§ Concurrency)", async () => {
    const plain = konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["clear"] });
    const ref = konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["{vault://azure/sso/secret}"] });
    const r = await call("GET", `${plugins()}/${plain.id}`);
    expect(configOf(r)["client_secret"]).toEqual(["clear"]);
    expect(r.headers.get("etag")).toBeNull();
    expect(configOf(await call("GET", `${plugins()}/${ref.id}`))["client_secret"]).toEqual(["{vault://azure/sso/secret}"]);
  });

  it("faults: 429 with Retry-After, then the route works again; a second writer (revertSecretWrites) undoes a PUT after answering it", async () => {
    const p = konnect.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["old"] });
    konnect.server.faults.add({ route: "^GET /v2/control-planes/[^/]+/core-entities/plugins$", status: 429, retryAfterSeconds: 2, times: 1 });
    const throttled = await fetch(`${konnect.url}${plugins()}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("2");
    const read = await call("GET", `${plugins()}/${p.id}`);
    konnect.revertSecretWrites(p.id);
    const put = await call("PUT", `${plugins()}/${p.id}`, { ...read.body, config: { ...configOf(read), client_secret: ["new"] } });
    expect(configOf(put)["client_secret"]).toEqual(["new"]);
    expect(configOf(await call("GET", `${plugins()}/${p.id}`))["client_secret"]).toEqual(["old"]);
  });
});
