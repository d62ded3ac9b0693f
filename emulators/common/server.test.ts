import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorServer } from "./server.js";

/**
 * The echo fault stands in for a hostile or buggy upstream (no documented service does this on
 * purpose; real services have echoed request fields in validation errors): its error body repeats
 * every value the request carried, in every shape a careless service could send it back.
 */
let server: EmulatorServer;
beforeAll(async () => {
  server = new EmulatorServer({ name: "echo-test" });
  server.route("POST", /^\/thing$/, () => ({ status: 200, body: { ok: true } }));
  await server.start();
});
afterAll(async () => {
  await server?.close();
});

describe("echo fault", () => {
  it("answers with the request's values raw, cut at every offset, base64, base64url, URL-encoded and JSON-escaped", async () => {
    const secret = 'S3cr"et/+value&more';
    server.faults.add({ route: "^POST /thing$", echo: true, status: 400, echoExtra: ["extra-known-value"], times: 1 });
    const res = await fetch(`${server.url}/thing`, {
      method: "POST",
      headers: { authorization: "Bearer tok-123456789", "content-type": "application/json" },
      body: JSON.stringify({ a: { b: secret } }),
    });
    expect(res.status).toBe(400);
    const message = ((await res.json()) as { error: { code: string; message: string } }).error.message;
    for (const shape of [
      secret,
      Buffer.from(secret).toString("base64"),
      Buffer.from(secret).toString("base64url"),
      encodeURIComponent(secret),
      JSON.stringify(secret),
      secret.slice(0, 7),
      secret.slice(7),
      "tok-123456789",
      "extra-known-value",
    ]) {
      expect(message).toContain(shape);
    }
    // The fault was used up: the route answers normally again.
    expect((await fetch(`${server.url}/thing`, { method: "POST", body: "{}" })).status).toBe(200);
  });
});

describe("status fault headers", () => {
  it("sends a Retry-After written in the fault's headers as given (a hostile value too); a bare 429 gets Retry-After: 1", async () => {
    server.faults.add({ route: "^GET /ra$", status: 429, headers: { "Retry-After": "31536000" }, times: 1 });
    expect((await fetch(`${server.url}/ra`)).headers.get("retry-after")).toBe("31536000");
    server.faults.add({ route: "^GET /ra$", status: 429, times: 1 });
    expect((await fetch(`${server.url}/ra`)).headers.get("retry-after")).toBe("1");
    server.faults.add({ route: "^GET /ra$", status: 503, retryAfterSeconds: 7, times: 1 });
    expect((await fetch(`${server.url}/ra`)).headers.get("retry-after")).toBe("7");
  });
});
