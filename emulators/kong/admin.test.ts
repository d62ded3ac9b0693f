import { randomUUID } from "node:crypto";
import { plainJsonCall, useFidelityEmulator } from "./plainCall.js";
import { describe, expect, it } from "vitest";
import { KongEmulator } from "./index.js";

/**
 * Fidelity of the Kong Admin API emulator against ../shared/specs/kong-openid-connect.md. Each test
 * names the section of that file it checks. Plain HTTP (the Admin API's port 8001) and plain fetch.
 */
const TOKEN = `kong-admin-${randomUUID()}`;
const ISSUER = "https://login.microsoftonline.com/3f9a6c1e-5b2d-4e8f-9a7c-1d2e3f4a5b6c/v2.0";
const kong = useFidelityEmulator(new KongEmulator({ adminToken: TOKEN, plainHttp: true, workspaces: ["team-a", "team-b"] }));

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = { "Kong-Admin-Token": TOKEN }) =>
  plainJsonCall(kong.url, method, path, body, headers);

describe("Kong Admin API emulator (specs/kong-openid-connect.md)", () => {
  it("§ Admin API auth: without or with a wrong Kong-Admin-Token the answer is 401 {message, status:401}", async () => {
    kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"] });
    for (const headers of [{}, { "Kong-Admin-Token": "wrong" }]) {
      const r = await call("GET", "/plugins", undefined, headers as Record<string, string>);
      expect(r.status).toBe(401);
      expect(r.body["status"]).toBe(401);
      expect(typeof r.body["message"]).toBe("string");
    }
    expect((await call("GET", "/plugins")).status).toBe(200);
  });

  it("§ Pagination: size default 100, pages carry offset and a relative next; the last page has no offset and next null; size 0 or 1001 is error 9, a garbled offset error 7", async () => {
    for (let i = 0; i < 205; i++) kong.seedPlugin({ issuer: ISSUER, clientIds: [`c${i}`], clientSecrets: [`s${i}`] });
    const first = await call("GET", "/plugins");
    expect((first.body["data"] as unknown[]).length).toBe(100);
    expect(typeof first.body["offset"]).toBe("string");
    expect(first.body["next"]).toBe(`/plugins?offset=${encodeURIComponent(first.body["offset"] as string)}`);
    const seen = new Set<string>();
    let next: string | null = "/plugins?size=90";
    let pages = 0;
    while (next) {
      const page = await call("GET", next);
      for (const p of page.body["data"] as { id: string }[]) seen.add(p.id);
      next = page.body["next"] as string | null;
      if (next === null) expect(page.body["offset"]).toBeUndefined();
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.size).toBe(205);
    for (const size of ["0", "1001", "x"]) {
      const r = await call("GET", `/plugins?size=${size}`);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 9, name: "invalid size" });
    }
    const bad = await call("GET", "/plugins?offset=%25%25not-an-offset");
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 7, name: "invalid offset" });
  });

  it("§ Plugin object + § Concurrency: created_at/updated_at are unix seconds, and no ETag is sent or honoured", async () => {
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"], instanceName: "oidc-sales" });
    const r = await call("GET", `/plugins/${p.id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("etag")).toBeNull();
    expect(r.body).toMatchObject({ id: p.id, name: "openid-connect", instance_name: "oidc-sales", enabled: true });
    expect(Number.isInteger(r.body["created_at"])).toBe(true);
    expect(r.body["created_at"] as number).toBeLessThan(1e11); // seconds, not milliseconds
    // If-Match is not part of the API: a stale one changes nothing.
    const w = await call("PATCH", `/plugins/${p.id}`, { config: { client_secret: ["t"] } }, { "Kong-Admin-Token": TOKEN, "If-Match": '"stale"' });
    expect(w.status).toBe(200);
    expect(w.headers.get("etag")).toBeNull();
  });

  it("§ PATCH semantics: config merges deeply, arrays are replaced whole, client_id is kept; § Is client_secret returned on GET: yes, in clear, and updated_at grows", async () => {
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a", "b"], clientSecrets: ["sa", "sb"] });
    const w = await call("PATCH", `/plugins/${p.id}`, { config: { client_secret: ["NEW"] } });
    expect(w.status).toBe(200);
    const config = w.body["config"] as Record<string, unknown>;
    expect(config["client_secret"]).toEqual(["NEW"]);
    expect(config["client_id"]).toEqual(["a", "b"]);
    expect(config["issuer"]).toBe(ISSUER);
    const r = await call("GET", `/plugins/${p.id}`);
    expect((r.body["config"] as Record<string, unknown>)["client_secret"]).toEqual(["NEW"]);
    expect(r.body["updated_at"] as number).toBeGreaterThan(p.updated_at);
  });

  it("§ Is client_secret returned on GET: a {vault://…} reference is returned as the reference, never resolved", async () => {
    const ref = "{vault://azure/sso-client-secret}";
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: [ref] });
    const r = await call("GET", `/plugins/${p.id}`);
    expect((r.body["config"] as Record<string, unknown>)["client_secret"]).toEqual([ref]);
  });

  it("§ Errors: a schema violation is 400 {code 2, name, message, fields}; one problem and several are worded as the spec says", async () => {
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"] });
    const one = await call("PATCH", `/plugins/${p.id}`, { config: { client_auth: ["client_secret_bogus"] } });
    expect(one.status).toBe(400);
    expect(one.body).toMatchObject({ code: 2, name: "schema violation" });
    expect(one.body["message"]).toMatch(/^schema violation \(config\.client_auth\.1: expected one of: /);
    expect(one.body["fields"]).toMatchObject({ config: { client_auth: [expect.stringMatching(/^expected one of: /)] } });
    const two = await call("PATCH", `/plugins/${p.id}`, { config: { client_secret: "not-an-array", issuer: "" } });
    expect(two.status).toBe(400);
    expect(two.body["message"]).toMatch(/^2 schema violations \(/);
    // Nothing of a refused write is stored.
    expect(kong.plugins()[0]!.config.client_secret).toEqual(["s"]);
  });

  it("§ Admin API endpoints: a plugin read or patched under a service it is not attached to is 404 {message: Not found}", async () => {
    const svc = randomUUID();
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"], serviceId: svc });
    expect((await call("GET", `/services/${svc}/plugins/${p.id}`)).status).toBe(200);
    const other = await call("GET", `/services/${randomUUID()}/plugins/${p.id}`);
    expect(other).toMatchObject({ status: 404, body: { message: "Not found" } });
    expect((await call("PATCH", `/services/${randomUUID()}/plugins/${p.id}`, { config: { client_secret: ["x"] } })).status).toBe(404);
    expect((await call("GET", `/plugins/${randomUUID()}`)).status).toBe(404);
  });

  it("faults: the shared fault injector answers what it is told (e.g. 500 with Kong's generic body), then the route works again", async () => {
    kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"] });
    kong.server.faults.add({ route: "^GET /plugins$", status: 500, body: { message: "An unexpected error occurred" }, times: 1 });
    expect((await call("GET", "/plugins")).status).toBe(500);
    expect((await call("GET", "/plugins")).status).toBe(200);
  });

  it("throttle (README guesses): with setRateLimit an empty bucket answers 429 + Retry-After with the rate-limiting plugin's message; reads and writes spend the same bucket; none by default", async () => {
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"] });
    for (let i = 0; i < 5; i++) expect((await call("GET", "/plugins")).status).toBe(200);
    kong.setRateLimit({ capacity: 2, refillPerSecond: 0.5 });
    expect((await call("GET", "/plugins")).status).toBe(200);
    expect((await call("PATCH", `/plugins/${p.id}`, { config: { client_secret: ["n"] } })).status).toBe(200);
    const refused = await call("GET", `/plugins/${p.id}`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(refused.body).toEqual({ message: "API rate limit exceeded" });
    kong.setRateLimit(undefined);
    expect((await call("GET", `/plugins/${p.id}`)).status).toBe(200);
  });

  it("a second writer (revertSecretWrites) puts the old secret back after a write: the PATCH answers the new value, the next GET the old one", async () => {
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["old"] });
    kong.revertSecretWrites(p.id);
    const w = await call("PATCH", `/plugins/${p.id}`, { config: { client_secret: ["new"] } });
    expect((w.body["config"] as Record<string, unknown>)["client_secret"]).toEqual(["new"]);
    const r = await call("GET", `/plugins/${p.id}`);
    expect((r.body["config"] as Record<string, unknown>)["client_secret"]).toEqual(["old"]);
  });
  it("§ Admin API endpoints (workspaces): /{workspace}/plugins lists only that workspace's plugins, with a next link under the prefix; unprefixed paths are the default workspace", async () => {
    const inDefault = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"] });
    const a = [0, 1, 2].map((i) => kong.seedPlugin({ issuer: ISSUER, clientIds: [`a${i}`], clientSecrets: [`s${i}`], workspace: "team-a" }).id);
    const first = await call("GET", "/team-a/plugins?size=2");
    expect((first.body["data"] as { id: string }[]).map((p) => p.id)).toEqual(a.slice(0, 2));
    expect(first.body["next"]).toBe(`/team-a/plugins?offset=${encodeURIComponent(first.body["offset"] as string)}&size=2`);
    expect((await call("GET", first.body["next"] as string)).body["data"]).toMatchObject([{ id: a[2] }]);
    expect((await call("GET", "/plugins")).body["data"]).toMatchObject([{ id: inDefault.id }]);
    expect((await call("GET", "/default/plugins")).body["data"]).toMatchObject([{ id: inDefault.id }]);
    expect((await call("GET", "/team-b/plugins")).body["data"]).toEqual([]);
  });

  it("§ Admin API endpoints (workspaces): a plugin is read and patched only under its own workspace (404 elsewhere); an unknown workspace is 404; a workspace the RBAC user has no role in is 403", async () => {
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["old"], workspace: "team-a" });
    expect((await call("GET", `/team-a/plugins/${p.id}`)).status).toBe(200);
    expect((await call("GET", `/plugins/${p.id}`)).status).toBe(404);
    expect((await call("PATCH", `/team-b/plugins/${p.id}`, { config: { client_secret: ["x"] } })).status).toBe(404);
    expect(await call("GET", "/no-such-workspace/plugins")).toMatchObject({ status: 404, body: { message: "Not found" } });
    const w = await call("PATCH", `/team-a/plugins/${p.id}`, { config: { client_secret: ["new"] } });
    expect((w.body["config"] as Record<string, unknown>)["client_secret"]).toEqual(["new"]);
    kong.denyWorkspace("team-a");
    const denied = await call("GET", "/team-a/plugins");
    expect(denied.status).toBe(403);
    expect(typeof denied.body["message"]).toBe("string");
    expect((await call("GET", "/team-b/plugins")).status).toBe(200);
  });

  it("§ Admin API endpoints: PUT /plugins/{id} is a full replace (a field left out takes its default) and an upsert", async () => {
    const p = kong.seedPlugin({ issuer: ISSUER, clientIds: ["a"], clientSecrets: ["s"], instanceName: "oidc" });
    const r = await call("PUT", `/plugins/${p.id}`, { name: "openid-connect", config: { issuer: ISSUER, client_secret: ["t"] } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ instance_name: null, config: { client_id: null, client_secret: ["t"] } });
    const id = randomUUID();
    expect(await call("PUT", `/team-b/plugins/${id}`, { name: "openid-connect", config: { issuer: ISSUER } })).toMatchObject({ status: 200, body: { id } });
    expect((await call("GET", `/team-b/plugins/${id}`)).status).toBe(200);
  });
});
