import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeFingerprint } from "../../src/gateway/fingerprint.js";
import { SecretScanner } from "../../tests/helpers/secretScan.js";
import { startGatewayFixture, type GatewayFixture, type RawResponse } from "./fixture.js";
import type { PublicServer } from "./state.js";

/** The public contract of docs/gateway-contract.md, over raw HTTP: auth, pagination, ETags, validation. */
interface Page {
  items: PublicServer[];
  nextCursor: string | null;
}
interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: { field: string; message: string }[] };
}

const TOKEN_URL = "https://login.example.test/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token";

describe("gateway emulator: contract", () => {
  let f: GatewayFixture;
  const scanner = new SecretScanner();
  const responses: RawResponse<unknown>[] = [];

  const call = async <T>(...args: Parameters<GatewayFixture["call"]>): Promise<RawResponse<T>> => {
    const r = await f.call<T>(...args);
    responses.push(r);
    return r;
  };
  const seed = (n: number, prefix: string, clientId = randomUUID()) =>
    Array.from({ length: n }, (_, i) =>
      f.emulator.seedServer({
        name: `${prefix}-${i}`,
        tokenUrl: TOKEN_URL,
        clientId,
        clientSecret: `${prefix}-secret-${randomUUID()}`,
        scopes: ["openid", "profile"],
        additionalParameters: { tenantID: "11111111-2222-3333-4444-555555555555", redirectUri: "https://gw.example.test/cb" },
      }),
    );
  const listAll = async (limit: number): Promise<{ ids: string[]; pages: number }> => {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await call<Page>("GET", "/mcp-servers", { query: { limit, cursor } });
      expect(r.status).toBe(200);
      pages++;
      ids.push(...r.data.items.map((i) => i.id));
      cursor = r.data.nextCursor ?? undefined;
    } while (cursor);
    return { ids, pages };
  };

  beforeAll(async () => {
    f = await startGatewayFixture({ pageSizeMax: 20 });
    seed(45, "base");
  });
  afterAll(async () => {
    scanner.addSecrets(f.emulator.issuedSecrets());
    scanner.collectAll(
      "public response",
      responses.map((r) => r.text),
    );
    expect(scanner.assertClean()).toBeGreaterThan(0);
    await f?.close();
  });

  describe("authentication and tenant", () => {
    it("answers 401 with a Bearer challenge when the Authorization header is missing", async () => {
      const r = await call<ErrorBody>("GET", "/mcp-servers", { token: null });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer realm="gateway"/);
      expect(r.data.error.code).toBe("Unauthorized");
      expect(r.data.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("answers 401 invalid_token for an unknown API token, on every route", async () => {
      const id = f.emulator.servers()[0]!.id;
      for (const [method, path] of [
        ["GET", "/mcp-servers"],
        ["GET", `/mcp-servers/${id}`],
        ["PATCH", `/mcp-servers/${id}/authentication`],
        ["POST", `/mcp-servers/${id}/authentication/test`],
      ] as const) {
        const r = await call<ErrorBody>(method, path, {
          token: "not-the-token",
          json: method === "PATCH" ? { clientSecret: "x-new-secret-value" } : undefined,
        });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.headers.get("www-authenticate")).toContain('error="invalid_token"');
      }
    });

    it("answers 403 Forbidden for a valid token used with another tenant", async () => {
      const r = await call<ErrorBody>("GET", "/mcp-servers", { tenant: "someone-else" });
      expect(r.status).toBe(403);
      expect(r.data.error.code).toBe("Forbidden");
    });

    it("answers 400 TenantRequired when the tenant header is missing", async () => {
      const r = await call<ErrorBody>("GET", "/mcp-servers", { tenant: null });
      expect(r.status).toBe(400);
      expect(r.data.error.code).toBe("TenantRequired");
    });
  });

  describe("pagination", () => {
    it("returns every server exactly once across pages, in creation order", async () => {
      const { ids, pages } = await listAll(7);
      expect(ids).toEqual(f.emulator.servers().map((s) => s.id));
      expect(pages).toBe(Math.ceil(ids.length / 7));
    });

    it("clamps a limit above the gateway's maximum instead of failing", async () => {
      const r = await call<Page>("GET", "/mcp-servers", { query: { limit: 500 } });
      expect(r.status).toBe(200);
      expect(r.data.items).toHaveLength(20);
      expect(r.data.nextCursor).toEqual(expect.any(String));
    });

    it("uses the default page size (50, clamped to the maximum) without a limit, and ends with nextCursor null", async () => {
      const first = await call<Page>("GET", "/mcp-servers");
      expect(first.data.items).toHaveLength(20);
      let page = first.data;
      while (page.nextCursor) page = (await call<Page>("GET", "/mcp-servers", { query: { cursor: page.nextCursor } })).data;
      expect(page.nextCursor).toBeNull();
      expect(page.items.length).toBeGreaterThan(0);
    });

    it("keeps a listing stable while servers are updated and added between pages", async () => {
      const before = f.emulator.servers().map((s) => s.id);
      const seen: string[] = [];
      let cursor: string | undefined;
      let page = 0;
      do {
        const r = await call<Page>("GET", "/mcp-servers", { query: { limit: 6, cursor } });
        seen.push(...r.data.items.map((i) => i.id));
        cursor = r.data.nextCursor ?? undefined;
        page++;
        if (page === 2) {
          // Update servers on both sides of the cursor and add one at the end.
          for (const id of [before[0]!, before[20]!, before[40]!]) {
            const s = (await call<PublicServer>("GET", `/mcp-servers/${id}`)).data;
            expect(
              (await call("PATCH", `/mcp-servers/${id}/authentication`, { json: { clientSecret: `rotated-${randomUUID()}` }, headers: { "If-Match": s.etag } }))
                .status,
            ).toBe(200);
          }
          seed(1, "added-mid-listing");
        }
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(f.emulator.servers().map((s) => s.id));
    });

    it("rejects a forged or edited cursor with 400 InvalidCursor", async () => {
      const r1 = await call<Page>("GET", "/mcp-servers", { query: { limit: 5 } });
      const cursor = r1.data.nextCursor!;
      const [payload, sig] = cursor.split(".");
      const forged = `${Buffer.from(JSON.stringify({ v: 1, after: 0 })).toString("base64url")}.${sig}`;
      for (const bad of [forged, "garbage", `${payload}.AAAA`]) {
        const r = await call<ErrorBody>("GET", "/mcp-servers", { query: { cursor: bad } });
        expect(r.status, bad).toBe(400);
        expect(r.data.error.code).toBe("InvalidCursor");
      }
    });

    it("rejects a limit that is not a positive whole number and unknown query parameters, naming them", async () => {
      for (const limit of ["0", "-3", "2.5", "ten"]) {
        const r = await call<ErrorBody>("GET", "/mcp-servers", { query: { limit } });
        expect(r.status, limit).toBe(400);
        expect(r.data.error.details).toContainEqual(expect.objectContaining({ field: "query:limit" }));
      }
      const r = await call<ErrorBody>("GET", "/mcp-servers", { query: { clientId: "x" } });
      expect(r.status).toBe(400);
      expect(r.data.error.details).toContainEqual(expect.objectContaining({ field: "query:clientId" }));
    });
  });

  describe("one server, ETags and the secret update", () => {
    it("serves a server with its ETag in both the header and the body, and never the secret", async () => {
      const truth = f.emulator.servers()[3]!;
      const r = await call<PublicServer & Record<string, unknown>>("GET", `/mcp-servers/${truth.id}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("etag")).toBe(truth.etag);
      expect(r.data.etag).toBe(truth.etag);
      expect(r.data.authentication).toEqual({
        type: "oauth2",
        tokenName: truth.tokenName,
        tokenUrl: truth.tokenUrl,
        clientId: truth.clientId,
        scopes: truth.scopes,
        additionalParameters: truth.additionalParameters,
        secretUpdatedAt: truth.secretUpdatedAt,
        secretFingerprint: computeFingerprint(truth.fingerprintSalt, truth.clientSecret),
        fingerprintSalt: truth.fingerprintSalt,
      });
      expect(r.text).not.toContain("clientSecret");
    });

    it("gives each server its own random fingerprint salt, so equal secrets have different fingerprints", async () => {
      const [a, b] = f.emulator.servers().filter((s) => s.name.startsWith("base-"));
      f.emulator.setServerSecret(a!.id, "same-secret-on-two-servers");
      f.emulator.setServerSecret(b!.id, "same-secret-on-two-servers");
      const ra = (await call<PublicServer>("GET", `/mcp-servers/${a!.id}`)).data.authentication;
      const rb = (await call<PublicServer>("GET", `/mcp-servers/${b!.id}`)).data.authentication;
      expect(ra.fingerprintSalt).not.toBe(rb.fingerprintSalt);
      expect(ra.secretFingerprint).not.toBe(rb.secretFingerprint);
      expect(ra.secretFingerprint).toBe(computeFingerprint(ra.fingerprintSalt, "same-secret-on-two-servers"));
    });

    it("answers 404 NotFound for an unknown server on every id route", async () => {
      for (const [method, path] of [
        ["GET", "/mcp-servers/nope"],
        ["PATCH", "/mcp-servers/nope/authentication"],
        ["POST", "/mcp-servers/nope/authentication/test"],
      ] as const) {
        const r = await call<ErrorBody>(method, path, method === "PATCH" ? { json: { clientSecret: "a-new-secret-value" } } : {});
        expect(r.status, path).toBe(404);
        expect(r.data.error.code).toBe("NotFound");
      }
    });

    it("replaces the secret with a matching If-Match: new ETag, fingerprint and update time; the secret is not echoed", async () => {
      const before = f.emulator.servers()[5]!;
      const secret = `new-secret-${randomUUID()}`;
      const r = await call<PublicServer>("PATCH", `/mcp-servers/${before.id}/authentication`, {
        json: { clientSecret: secret },
        headers: { "If-Match": before.etag },
      });
      expect(r.status).toBe(200);
      expect(r.text).not.toContain(secret);
      expect(r.data.etag).not.toBe(before.etag);
      expect(r.headers.get("etag")).toBe(r.data.etag);
      expect(r.data.authentication.secretFingerprint).toBe(computeFingerprint(before.fingerprintSalt, secret));
      expect(Date.parse(r.data.authentication.secretUpdatedAt)).toBeGreaterThanOrEqual(Date.parse(before.secretUpdatedAt));
      expect(r.data.authentication.clientId).toBe(before.clientId);
      expect(r.data.authentication.tokenUrl).toBe(before.tokenUrl);
      const after = f.emulator.servers().find((s) => s.id === before.id)!;
      expect(after.clientSecret).toBe(secret);
      expect(after.etag).toBe(r.data.etag);
    });

    it("answers 412 PreconditionFailed on a stale If-Match and keeps the stored secret", async () => {
      const s = f.emulator.servers()[6]!;
      const stale = s.etag;
      f.emulator.editServer(s.id, { name: `${s.name}-renamed` });
      const r = await call<ErrorBody>("PATCH", `/mcp-servers/${s.id}/authentication`, {
        json: { clientSecret: "should-not-be-stored" },
        headers: { "If-Match": stale },
      });
      expect(r.status).toBe(412);
      expect(r.data.error.code).toBe("PreconditionFailed");
      expect(r.headers.get("etag")).toBe(f.emulator.servers().find((x) => x.id === s.id)!.etag);
      expect(f.emulator.servers().find((x) => x.id === s.id)!.clientSecret).toBe(s.clientSecret);
    });

    it("changes the ETag on every update, even when the same secret is written twice", async () => {
      const s = f.emulator.servers()[7]!;
      const r1 = await call<PublicServer>("PATCH", `/mcp-servers/${s.id}/authentication`, {
        json: { clientSecret: "twice-written-secret" },
        headers: { "If-Match": s.etag },
      });
      const r2 = await call<PublicServer>("PATCH", `/mcp-servers/${s.id}/authentication`, {
        json: { clientSecret: "twice-written-secret" },
        headers: { "If-Match": r1.data.etag },
      });
      expect(r2.status).toBe(200);
      expect(new Set([s.etag, r1.data.etag, r2.data.etag]).size).toBe(3);
      // The first write's ETag is now stale.
      expect(
        (await call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: "third-write-secret" }, headers: { "If-Match": r1.data.etag } }))
          .status,
      ).toBe(412);
    });

    it("applies an update without If-Match, or with If-Match: *, unconditionally; a weak tag never matches", async () => {
      const s = f.emulator.servers()[8]!;
      expect((await call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: "unconditional-one" } })).status).toBe(200);
      expect(
        (await call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: "unconditional-two" }, headers: { "If-Match": "*" } })).status,
      ).toBe(200);
      const current = f.emulator.servers().find((x) => x.id === s.id)!.etag;
      expect(
        (await call("PATCH", `/mcp-servers/${s.id}/authentication`, { json: { clientSecret: "weak-tag-write" }, headers: { "If-Match": `W/${current}` } }))
          .status,
      ).toBe(412);
    });

    it("validates the update body: unknown fields, missing, empty, non-string or oversized secrets, bad JSON, wrong media type", async () => {
      const s = f.emulator.servers()[9]!;
      const path = `/mcp-servers/${s.id}/authentication`;
      const cases: [string, Parameters<GatewayFixture["call"]>[2], number, string][] = [
        ["unknown field", { json: { clientSecret: "valid-secret-value", clientId: "x" } }, 400, "clientId"],
        ["missing", { json: {} }, 400, "clientSecret"],
        ["empty", { json: { clientSecret: "   " } }, 400, "clientSecret"],
        ["not a string", { json: { clientSecret: 42 } }, 400, "clientSecret"],
        ["too long", { json: { clientSecret: "x".repeat(1025) } }, 400, "clientSecret"],
        ["control character", { json: { clientSecret: "line\nbreak-secret" } }, 400, "clientSecret"],
        ["array body", { json: [] }, 400, "body"],
        ["invalid JSON", { body: { text: "{clientSecret:", contentType: "application/json" } }, 400, "body"],
      ];
      for (const [what, opts, status, field] of cases) {
        const r = await call<ErrorBody>("PATCH", path, opts);
        expect(r.status, what).toBe(status);
        expect(r.data.error.code, what).toBe("ValidationFailed");
        expect(
          r.data.error.details?.map((d) => d.field),
          what,
        ).toContain(field);
      }
      const form = await call<ErrorBody>("PATCH", path, { body: { text: "clientSecret=abc", contentType: "application/x-www-form-urlencoded" } });
      expect(form.status).toBe(415);
      expect(f.emulator.servers().find((x) => x.id === s.id)!.clientSecret).toBe(s.clientSecret);
    });
  });

  describe("control routes", () => {
    it("seeds servers and exposes ground truth (with secrets) only under /_control", async () => {
      const secret = `control-seeded-${randomUUID()}`;
      // Control answers carry ground truth (secrets) by design: not collected as public responses.
      const seeded = await f.call<{ servers: { id: string }[] }>("POST", "/_control/servers", {
        json: { name: "via-control", tokenUrl: TOKEN_URL, clientId: randomUUID(), clientSecret: secret },
      });
      expect(seeded.status).toBe(201);
      const id = seeded.data.servers[0]!.id;
      const truth = await f.call<{ servers: { id: string; clientSecret: string }[] }>("GET", "/_control/servers");
      expect(truth.data.servers.find((s) => s.id === id)!.clientSecret).toBe(secret);
      const pub = await call<PublicServer>("GET", `/mcp-servers/${id}`);
      expect(pub.text).not.toContain(secret);
      const issued = await f.call<{ secrets: string[] }>("GET", "/_control/issuedSecrets");
      expect(issued.data.secrets).toContain(secret);
      expect(issued.data.secrets).toContain(f.apiToken);
    });

    it("lists a replaced secret among the issued secrets, so the scan catches a leak of an old value too", async () => {
      const s = f.emulator.servers()[10]!;
      f.emulator.setServerSecret(s.id, "replaced-later-secret-1");
      f.emulator.setServerSecret(s.id, "replaced-later-secret-2");
      expect(f.emulator.issuedSecrets()).toEqual(expect.arrayContaining([s.clientSecret, "replaced-later-secret-1", "replaced-later-secret-2"]));
    });
  });
});
