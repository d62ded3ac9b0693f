import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorServer } from "../../emulators/common/server.js";
import { HttpClient, parseRetryAfter } from "../../src/http/client.js";
import { Redactor } from "../../src/redact.js";
import { outboundUrlProblem } from "../../src/config/outbound.js";
import { createAzureCredential } from "../../src/entra/credential.js";
import { createKeyVaultStore } from "../../src/vault/keyVaultStore.js";
import { SecretScanner } from "../helpers/secretScan.js";
import { hostileDns, systemLoopbackAlias, useConnectionCounter } from "../helpers/hostileNetwork.js";

/** The one HTTP layer: timeouts, Retry-After-aware retries, no blind retry of POST, redacted errors. */
const SECRET = "Zq8Q~http-layer-secret-value-000111";
let server: EmulatorServer;
let recorded = 0;
beforeAll(async () => {
  server = new EmulatorServer({ name: "http-test" });
  server.route("GET", /^\/ok$/, () => ({ status: 200, body: { ok: true } }));
  server.route("POST", /^\/echo$/, (req) => ({ status: 400, body: { error: { code: "Invalid", message: `you sent ${req.rawBody}` } } }));
  server.route("POST", /^\/create$/, () => ({ status: 201, body: { created: true } }));
  server.route("PUT", /^\/put$/, () => ({ status: 200, body: {} }));
  server.route("POST", /^\/record$/, () => {
    recorded++;
    return { status: 202, body: { status: "success" } };
  });
  await server.start();
});
afterAll(async () => {
  await server?.close();
});

function client(waits: number[] = [], options: ConstructorParameters<typeof HttpClient>[0] = {}) {
  return new HttpClient({ retry: { maxRetries: 3, baseDelayInMs: 10, maxDelayInMs: 50 }, sleep: async (ms) => void waits.push(ms), ...options });
}

describe("HttpClient", () => {
  it("waits exactly what Retry-After asks on 429 and then succeeds", async () => {
    server.faults.add({ route: "^GET /ok$", status: 429, retryAfterSeconds: 2, times: 2 });
    const waits: number[] = [];
    const res = await client(waits).request({ method: "GET", url: `${server.url}/ok` });
    expect(res).toMatchObject({ status: 200, attempts: 3 });
    expect(waits).toEqual([2000, 2000]);
  });

  it("retries a POST on 429 (the server did not act) but never on 503 or a dropped connection", async () => {
    const before = server.count("POST", /^\/create$/);
    server.faults.add({ route: "^POST /create$", status: 429, retryAfterSeconds: 0, times: 1 });
    expect((await client().request({ method: "POST", url: `${server.url}/create`, json: {} })).status).toBe(201);
    server.faults.add({ route: "^POST /create$", status: 503, times: 1 });
    await expect(client().request({ method: "POST", url: `${server.url}/create`, json: {} })).rejects.toMatchObject({ code: "HTTP_503", retryable: true });
    server.faults.add({ route: "^POST /create$", dropAfterHandling: true, times: 1 });
    await expect(client().request({ method: "POST", url: `${server.url}/create`, json: {} })).rejects.toMatchObject({ code: "HTTP_NETWORK" });
    // 429 → retried once (2 calls); 503 → 1 call; dropped → 1 call.
    expect(server.count("POST", /^\/create$/) - before).toBe(4);
  });

  it("emulator fault afterHandling: the server acts, then its answer is replaced (a receiver that recorded the message, answering garbage)", async () => {
    const before = recorded;
    server.faults.add({
      route: "^POST /record$",
      status: 200,
      raw: true,
      body: '{"status":"succ',
      headers: { "Content-Type": "application/json" },
      afterHandling: true,
      times: 1,
    });
    const garbled = await fetch(`${server.url}/record`, { method: "POST", body: "{}" });
    expect(garbled.status).toBe(200);
    expect(await garbled.text()).toBe('{"status":"succ');
    expect(recorded - before, "the handler ran before the garbled answer").toBe(1);
    // Without afterHandling the same fault short-circuits: the handler never runs.
    server.faults.add({ route: "^POST /record$", status: 200, raw: true, body: "OK", times: 1 });
    await fetch(`${server.url}/record`, { method: "POST", body: "{}" });
    expect(recorded - before).toBe(1);
  });

  it("retries idempotent calls on 5xx and dropped connections", async () => {
    server.faults.add({ route: "^PUT /put$", status: 503, times: 1 });
    server.faults.add({ route: "^PUT /put$", drop: true, times: 1 });
    expect((await client().request({ method: "PUT", url: `${server.url}/put`, json: {} })).attempts).toBe(3);
  });

  it("gives up on a Retry-After longer than the configured maximum instead of stalling the run", async () => {
    server.faults.add({ route: "^GET /ok$", status: 429, retryAfterSeconds: 3600, times: 1 });
    const waits: number[] = [];
    await expect(client(waits, { retry: { maxRetryAfterInMs: 60_000 } }).request({ method: "GET", url: `${server.url}/ok` })).rejects.toMatchObject({
      code: "HTTP_THROTTLED",
      status: 429,
    });
    expect(waits).toEqual([]);
  });

  it("times out a hanging server with HTTP_TIMEOUT and an operator hint", async () => {
    server.faults.add({ route: "^GET /ok$", hang: true, times: 4 });
    const err = await client([], { timeoutInMs: 200 })
      .request({ method: "GET", url: `${server.url}/ok`, maxRetries: 0 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "HTTP_TIMEOUT" });
    expect((err as { hint: string }).hint).toMatch(/did not answer in time/);
    server.faults.clear();
  });

  it("returns non-2xx answers as they are when asked, for probes that must see the exact status", async () => {
    const res = await client().request({ method: "POST", url: `${server.url}/echo`, form: { a: "b" }, throwOnHttpError: false });
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({ error: { code: "Invalid" } });
  });

  it("never puts a secret into the errors it raises, even when the server echoes it back", async () => {
    const redactor = new Redactor();
    const http = client([], { redactor });
    const errors: unknown[] = [];
    errors.push(
      await http
        .request({ method: "POST", url: `${server.url}/echo`, form: { client_id: "x", client_secret: SECRET }, secrets: [SECRET] })
        .catch((e: unknown) => e),
    );
    // Not declared per call: the field name alone is enough to blank it.
    errors.push(await http.request({ method: "POST", url: `${server.url}/echo`, json: { clientSecret: SECRET } }).catch((e: unknown) => e));
    // Known to the shared redactor.
    redactor.add(SECRET);
    errors.push(await http.request({ method: "POST", url: `${server.url}/echo`, json: { note: SECRET } }).catch((e: unknown) => e));
    for (const e of errors) expect(e).toMatchObject({ code: "HTTP_400", status: 400 });
    expect(
      new SecretScanner()
        .addSecrets([SECRET])
        .collectAll("error", errors)
        .collectAll(
          "json",
          errors.map((e) => JSON.stringify(e)),
        )
        .assertClean(),
    ).toBe(6);
  });

  it("truncation before scrubbing: a secret echoed across the 500-character cut leaves no fragment in the error", async () => {
    const redactor = new Redactor();
    redactor.add(SECRET);
    const http = client([], { redactor });
    const errors: unknown[] = [];
    // Place the echoed secret so the old 500-character cut fell inside it at every offset.
    for (let before = 500 - SECRET.length; before < 500 - 7; before++) {
      server.faults.add({ route: "^GET /ok$", status: 400, body: `${"x".repeat(before)}${SECRET} and more`, times: 1 });
      errors.push(await http.request({ method: "GET", url: `${server.url}/ok`, maxRetries: 0 }).catch((e: unknown) => e));
    }
    for (const e of errors) expect(e).toMatchObject({ code: "HTTP_400" });
    expect(new SecretScanner().addSecrets([SECRET]).collectAll("error", errors).assertNoFragments()).toBe(errors.length);
  });

  it("encoded secrets: base64, base64url, URL-encoded and JSON-escaped echoes are redacted from errors", async () => {
    const odd = 'Zq8Q~enc/oded+secret=value&"x\\y-00011';
    const redactor = new Redactor();
    redactor.add(odd);
    const http = client([], { redactor });
    const shapes = [
      Buffer.from(odd).toString("base64"),
      Buffer.from(odd).toString("base64url"),
      Buffer.from(`{"v":"${odd}"}`).toString("base64"),
      encodeURIComponent(odd),
      JSON.stringify(odd),
    ];
    const errors: unknown[] = [];
    for (const shape of shapes) {
      server.faults.add({ route: "^GET /ok$", status: 502, body: { error: { code: "Bad", message: `upstream echoed ${shape}` } }, times: 1 });
      errors.push(await http.request({ method: "GET", url: `${server.url}/ok`, maxRetries: 0 }).catch((e: unknown) => e));
    }
    for (const e of errors) expect(e).toMatchObject({ code: "HTTP_502" });
    expect(new SecretScanner().addSecrets([odd]).collectAll("error", errors).assertNoFragments()).toBe(shapes.length);
  });

  it("credentials in app-setting URLs: an error never names the user:password of the URL it called", async () => {
    server.faults.add({
      route: "^GET /ok$",
      status: 404,
      body: { error: { code: "NotFound", message: `no route for ${server.url.replace("//", "//ops:hunter2-pass@")}/ok` } },
      times: 1,
    });
    const err = await client()
      .request({ method: "GET", url: `${server.url}/ok`, maxRetries: 0 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "HTTP_404" });
    expect(String((err as Error).message)).not.toContain("hunter2-pass");
  });

  it("unbounded upstream answers: a body above the cap fails with HTTP_RESPONSE_TOO_LARGE instead of being read whole", async () => {
    server.faults.add({ route: "^GET /ok$", status: 200, body: { items: "y".repeat(300_000) }, times: 1 });
    const err = await client([], { maxResponseBytes: 100_000 })
      .request({ method: "GET", url: `${server.url}/ok` })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "HTTP_RESPONSE_TOO_LARGE", retryable: false });
    expect((err as { hint: string }).hint).toMatch(/configured URL/);
  });

  it("parses Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("5")).toBe(5000);
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

describe("HttpClient: addresses that should never be called", () => {
  it.each([
    "http://169.254.169.254/metadata/identity/oauth2/token",
    "https://0xa9fea9fe/x",
    "https://metadata.google.internal/x",
    "https://u:p@api.example.com/x",
    "http://api.example.com/x",
  ])("addresses that should never be called: refuses %s before any connection", async (url) => {
    const err = await new HttpClient().request({ method: "GET", url }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "HTTP_ADDRESS_REFUSED", retryable: false });
    expect((err as Error).message).not.toContain("u:p@");
  });
});

describe("issue 26, defect 5: host names are not resolved before connecting", () => {
  const tcp = useConnectionCounter();

  const answers = {
    "loopback.attacker.example": "127.0.0.1",
    "loopback6.attacker.example": "::1",
    "imds.attacker.example": "169.254.169.254",
    "nat64.attacker.example": "64:ff9b::a9fe:a9fe",
    "sixtofour.attacker.example": "2002:a9fe:a9fe::",
    "translated.attacker.example": "::ffff:0:a9fe:a9fe",
    "mapped.attacker.example": "::ffff:169.254.169.254",
    "wireserver.attacker.example": "168.63.129.16",
    "unspecified.attacker.example": "0.0.0.0",
  };

  it.each(Object.keys(answers))("a name resolving to a refused address is never connected to: %s", async (host) => {
    const before = tcp.connections;
    const c = client([], { lookup: hostileDns(answers), timeoutInMs: 2000 });
    await expect(c.request({ method: "GET", url: `https://${host}:${tcp.port}/x`, maxRetries: 0 })).rejects.toMatchObject({
      code: "HTTP_ADDRESS_REFUSED",
      retryable: false,
    });
    expect(tcp.connections).toBe(before);
  });

  it("the written NAT64, 6to4 and IPv4-translated forms of the metadata address are refused", () => {
    for (const url of [
      "https://[64:ff9b::a9fe:a9fe]/",
      "https://[64:ff9b::169.254.169.254]/",
      "https://[2002:a9fe:a9fe::]/",
      "https://[::ffff:0:a9fe:a9fe]/",
      "https://[::ffff:0:169.254.169.254]/",
      "https://[2002:a83f:8110::]/",
    ]) {
      expect(outboundUrlProblem(url, { example: "https://api.example.com" }), url).toMatch(/link-local|metadata/);
    }
  });

  it("loopback stays allowed where the rule allows it: localhost and 127.0.0.1 (the emulators)", async () => {
    const emulatorPort = new URL(server.url).port;
    expect((await client().request({ method: "GET", url: `${server.url}/ok` })).status).toBe(200);
    expect((await client().request({ method: "GET", url: `${new URL(server.url).protocol}//localhost:${emulatorPort}/ok` })).status).toBe(200);
  });

  // A real /etc/hosts entry: this machine's host name resolves to 127.0.0.1 without being "localhost".
  const aliasOfLoopback = systemLoopbackAlias() ?? "";
  const resolvesToLoopback = aliasOfLoopback !== "";

  it.runIf(resolvesToLoopback)(
    "the system resolver too: a host name resolving to loopback is refused by our HTTP layer, Key Vault and the token endpoint",
    async () => {
      const before = tcp.connections;
      await expect(client().request({ method: "GET", url: `https://${aliasOfLoopback}:${tcp.port}/x`, maxRetries: 0 })).rejects.toMatchObject({
        code: "HTTP_ADDRESS_REFUSED",
      });
      const credential = createAzureCredential({
        tenantId: "00000000-0000-0000-0000-000000000001",
        clientId: "00000000-0000-0000-0000-000000000002",
        clientSecret: SECRET,
        authorityHost: `https://${aliasOfLoopback}:${tcp.port}`,
        retryOptions: { maxRetries: 0 },
      });
      await expect(credential.getToken("https://vault.azure.net/.default")).rejects.toThrow();
      const store = createKeyVaultStore({ vaultUrl: `https://${aliasOfLoopback}:${tcp.port}`, credential, retryOptions: { maxRetries: 0 }, timeoutInMs: 2000 });
      await expect(store.getLatest("some-secret")).rejects.toThrow(/loopback/);
      expect(tcp.connections).toBe(before);
    },
  );
});

describe("issue 26, defect 6: a hex echo in an HttpClient error body", () => {
  it("hex (both cases), \\u-escaped and lower-case percent-encoded echoes are redacted from errors", async () => {
    const secret = "Zq8Q~http-hex-echo-secret-0123456789ab";
    const redactor = new Redactor();
    redactor.add(secret);
    const http = client([], { redactor });
    const hex = Buffer.from(secret).toString("hex");
    const shapes: [string, number][] = [
      [hex, 2],
      [hex.toUpperCase(), 2],
      [hex.replace(/(..)/g, "%$1"), 3],
      [[...secret].map((c) => `\\\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""), 7],
    ];
    for (const [shape, width] of shapes) {
      server.faults.add({ route: "^GET /ok$", status: 400, body: `{"error":{"code":"Invalid","message":"bad value ${shape}"}}`, times: 1 });
      const err = await http.request({ method: "GET", url: `${server.url}/ok`, maxRetries: 0 }).catch((e: unknown) => e as Error);
      expect(err).toMatchObject({ code: "HTTP_400" });
      const text = JSON.stringify(err) + (err as Error).message;
      for (let i = 0; i + 8 * width <= shape.length; i += width) expect(text, shape).not.toContain(shape.slice(i, i + 8 * width));
    }
  });
});
