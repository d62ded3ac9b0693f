import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeyVaultFixture, type KeyVaultFixture } from "./fixture.js";

/** What the SDK hides: raw paths, query parameters and bodies on the wire. */
describe("Key Vault emulator: wire details", () => {
  let f: KeyVaultFixture;
  let token: string;

  beforeAll(async () => {
    f = await startKeyVaultFixture();
    token = (await f.credential().getToken("https://vault.azure.net/.default"))!.token;
  });
  afterAll(async () => {
    await f?.close();
  });

  it("reads the latest version with or without the trailing slash", async () => {
    f.vault.seedSecret("slash", "slash-value-0001");
    const withSlash = await f.raw("GET", "/secrets/slash/?api-version=2026-04-01", { token });
    const without = await f.raw("GET", "/secrets/slash?api-version=2026-04-01", { token });
    expect(withSlash.status).toBe(200);
    expect(without.body).toEqual(withSlash.body);
  });

  it("accepts the query parameter percent-encoded as the SDK sends it (api%2Dversion)", async () => {
    const res = await f.raw("GET", "/secrets/slash/?api%2Dversion=2026-04-01", { token });
    expect(res.status).toBe(200);
  });

  it("requires api-version", async () => {
    const res = await f.raw("GET", "/secrets/slash/", { token });
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe("BadParameter");
  });

  it("sends unix-second dates and the recovery attributes in a bundle", async () => {
    const before = Math.floor(f.clock.now().getTime() / 1000);
    const res = await f.raw("PUT", "/secrets/wire-dates?api-version=2026-04-01", {
      token,
      body: { value: "wire-dates-value-0001", attributes: { exp: 1_900_000_000 } },
    });
    const attrs = (res.body as { attributes: Record<string, unknown> }).attributes;
    expect(attrs).toMatchObject({ enabled: true, exp: 1_900_000_000, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 });
    expect(Number.isInteger(attrs["created"])).toBe(true);
    expect(attrs["created"]).toBeGreaterThanOrEqual(before);
    expect(attrs["created"]).toBeLessThanOrEqual(Math.floor(f.clock.now().getTime() / 1000));
  });

  it("rejects a set without a string value with 400 BadParameter", async () => {
    const res = await f.raw("PUT", "/secrets/no-value?api-version=2026-04-01", { token, body: { tags: {} } });
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe("BadParameter");
  });

  it("answers an update of an unknown version with 404 SecretNotFound", async () => {
    const res = await f.raw("PATCH", "/secrets/slash/0123456789abcdef0123456789abcdef?api-version=2026-04-01", {
      token,
      body: { attributes: { enabled: false } },
    });
    expect(res.status).toBe(404);
    expect((res.body as { error: { code: string } }).error.code).toBe("SecretNotFound");
  });

  it("gives an absolute nextLink carrying api-version, $skiptoken and maxresults, and null on the last page", async () => {
    for (let i = 0; i < 3; i++) f.vault.seedSecret("wire-paged", `wire-paged-value-000${i}`);
    const first = await f.raw("GET", "/secrets/wire-paged/versions?api-version=2026-04-01&maxresults=2", { token });
    const body = first.body as { value: unknown[]; nextLink: string };
    expect(body.value).toHaveLength(2);
    const next = new URL(body.nextLink);
    expect(next.origin).toBe(f.vaultUrl);
    expect(next.searchParams.get("api-version")).toBe("2026-04-01");
    expect(next.searchParams.get("maxresults")).toBe("2");
    expect(next.searchParams.get("$skiptoken")).toBeTruthy();
    const second = await f.raw("GET", `${next.pathname}${next.search}`, { token });
    expect(second.body).toMatchObject({ nextLink: null });
    expect((second.body as { value: unknown[] }).value).toHaveLength(1);
  });
});
