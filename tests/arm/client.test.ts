import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ArmClient, armScope } from "../../src/arm/index.js";
import { abortableDelay } from "../../src/clock.js";
import { RotatorError } from "../../src/errors.js";
import { HttpClient } from "../../src/http/client.js";
import { startArmFixture, type ArmFixture } from "../../emulators/arm/fixture.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * The ARM core (src/arm) against the ARM emulator, with a real ClientSecretCredential from the
 * Entra emulator: token audience, ARM error bodies, 429 + Retry-After, the remaining-calls headers,
 * long-running operations, paging, ETags, the per-call deadline and cancellation.
 */
const SERVICE = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim1";
const API = "2024-05-01";
const PLAIN_SECRET = "plain-named-value-secret-0123456789";

let fx: ArmFixture;
let waits: number[];
let httpWaits: number[];
const errors: unknown[] = [];
const scanner = new SecretScanner();

function client(extra: Partial<ConstructorParameters<typeof ArmClient>[0]> = {}): ArmClient {
  const http = new HttpClient({
    ca: fx.caCertPem,
    retry: { maxRetries: 2, baseDelayInMs: 5, maxDelayInMs: 20 },
    sleep: (ms, signal) => {
      httpWaits.push(ms);
      return abortableDelay(Math.min(ms, 20), signal);
    },
  });
  return new ArmClient({
    http,
    credential: fx.credential(),
    endpoint: fx.url,
    sleep: (ms, signal) => {
      waits.push(ms);
      return abortableDelay(Math.min(ms, 20), signal);
    },
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<RotatorError> {
  try {
    await p;
  } catch (e) {
    errors.push(e);
    expect(e).toBeInstanceOf(RotatorError);
    return e as RotatorError;
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  fx = await startArmFixture();
});
beforeEach(() => {
  fx.arm.reset();
  fx.arm.apim.seedService(SERVICE);
  fx.arm.apim.seedNamedValue(SERVICE, { name: "plain", value: PLAIN_SECRET, secret: true });
  waits = [];
  httpWaits = [];
});
afterAll(async () => {
  scanner.addSecrets([...fx.arm.issuedSecrets(), fx.entra.operator.secret]);
  scanner.collectAll(
    "error",
    errors.map((e) => ({ message: (e as Error).message, json: (e as RotatorError).toJSON?.() })),
  );
  expect(scanner.leaks()).toEqual([]);
  await fx.close();
});

describe("token audience", () => {
  it("asks the credential for the Resource Manager audience of the endpoint's cloud", () => {
    expect(armScope({ endpoint: "https://management.azure.com" })).toBe("https://management.azure.com/.default");
    expect(armScope({ endpoint: "https://management.usgovcloudapi.net/" })).toBe("https://management.usgovcloudapi.net/.default");
    expect(armScope({ endpoint: "https://management.chinacloudapi.cn" })).toBe("https://management.chinacloudapi.cn/.default");
    // An emulator or a proxy names no cloud: the authority's cloud decides, else the global one.
    expect(armScope({ endpoint: "https://127.0.0.1:8443", authorityHost: "https://login.microsoftonline.us" })).toBe(
      "https://management.usgovcloudapi.net/.default",
    );
    expect(armScope({ endpoint: "https://127.0.0.1:8443" })).toBe("https://management.azure.com/.default");
  });

  it("a real token for management.azure.com is accepted; one for another audience gets ARM_UNAUTHORIZED naming InvalidAuthenticationTokenAudience", async () => {
    const ok = await client().send<{ name: string }>({ method: "GET", path: `${SERVICE}/namedValues/plain`, apiVersion: API });
    expect(ok.data.name).toBe("plain");
    expect(ok.etag).toMatch(/^".+"$/);

    const wrong = client({ audience: "https://vault.azure.net" });
    const e = await failure(wrong.send({ method: "GET", path: `${SERVICE}/namedValues/plain`, apiVersion: API }));
    expect(e.code).toBe("ARM_UNAUTHORIZED");
    expect(e.upstreamCode).toBe("InvalidAuthenticationTokenAudience");
    expect(e.hint).toMatch(/armEndpoint/);
  });

  it("a national cloud's Resource Manager refuses a global token, and accepts its own audience", async () => {
    const gov = await startArmFixture({ entra: fx.entra, audiences: ["https://management.usgovcloudapi.net", "https://management.usgovcloudapi.net/"] });
    try {
      fx.entra.emulator.registerResource("https://management.usgovcloudapi.net");
      gov.arm.apim.seedService(SERVICE);
      const http = new HttpClient({ ca: gov.caCertPem, retry: { maxRetries: 0 } });
      const global = new ArmClient({ http, credential: fx.credential(), endpoint: gov.url });
      expect((await failure(global.list(`${SERVICE}/namedValues`, API))).upstreamCode).toBe("InvalidAuthenticationTokenAudience");
      const usgov = new ArmClient({ http, credential: fx.credential(), endpoint: gov.url, authorityHost: "https://login.microsoftonline.us" });
      expect(usgov.tokenScope).toBe("https://management.usgovcloudapi.net/.default");
      expect(await usgov.list(`${SERVICE}/namedValues`, API)).toEqual([]);
    } finally {
      await gov.arm.close();
    }
  });
});

describe("ARM error bodies become typed errors", () => {
  it("404, 403, 412 and a missing api-version each map to their code with ARM's code as upstreamCode", async () => {
    const arm = client();
    const nf = await failure(arm.send({ method: "GET", path: `${SERVICE}/namedValues/nope`, apiVersion: API }));
    expect([nf.code, nf.upstreamCode, nf.status]).toEqual(["ARM_NOT_FOUND", "ResourceNotFound", 404]);

    fx.arm.core.deny("Microsoft.ApiManagement/service/namedValues/listValue/action");
    const fb = await failure(arm.send({ method: "POST", path: `${SERVICE}/namedValues/plain/listValue`, apiVersion: API, idempotent: true }));
    expect([fb.code, fb.upstreamCode]).toEqual(["ARM_FORBIDDEN", "AuthorizationFailed"]);
    expect(fb.message).toContain("Microsoft.ApiManagement/service/namedValues/listValue/action");

    const pf = await failure(
      arm.sendAndWait({
        method: "PATCH",
        path: `${SERVICE}/namedValues/plain`,
        apiVersion: API,
        ifMatch: '"stale"',
        json: { properties: { value: "x-new-value-1" } },
        secrets: ["x-new-value-1"],
      }),
    );
    expect([pf.code, pf.retryable]).toEqual(["ARM_PRECONDITION_FAILED", true]);

    const nv = await failure(arm.send({ method: "GET", path: `${SERVICE}/namedValues/plain` }));
    expect([nv.code, nv.upstreamCode]).toEqual(["ARM_REJECTED", "MissingApiVersionParameter"]);
  });

  it("an error body that echoes the request never carries the secret into the error", async () => {
    fx.arm.server.faults.add({ route: "^PATCH ", echo: true, status: 400, times: 1 });
    const secret = "echoed-secret-value-abcdefghij";
    scanner.addSecrets([secret]);
    const e = await failure(
      client().send({
        method: "PATCH",
        path: `${SERVICE}/namedValues/plain`,
        apiVersion: API,
        ifMatch: "*",
        json: { properties: { value: secret } },
        secrets: [secret],
      }),
    );
    expect(e.code).toBe("ARM_REJECTED");
    expect(e.message).not.toContain(secret);
  });
});

describe("throttling", () => {
  /** The pacing gates' clock, moved only by what they wait: their waits are counted exactly, in no real time. */
  function pacedClock(): { now: () => number; sleep: (ms: number) => Promise<void>; waits: number[] } {
    let t = 0;
    const pacingWaits: number[] = [];
    return {
      now: () => t,
      sleep: (ms) => {
        pacingWaits.push(ms);
        t += ms;
        return Promise.resolve();
      },
      waits: pacingWaits,
    };
  }

  /** The emulator's 429s since `from` (its request log is the ground truth of what ARM was sent). */
  const throttledSince = (from: number): number => fx.arm.server.requests.slice(from).filter((r) => r.status === 429).length;

  it("429 + Retry-After is waited out and the call succeeds; the call's gate holds it exactly Retry-After", async () => {
    fx.arm.server.faults.add({ route: "^GET .*/namedValues/plain$", status: 429, retryAfterSeconds: 1, times: 1 });
    const pacing = pacedClock();
    const res = await client({ pacing }).send({ method: "GET", path: `${SERVICE}/namedValues/plain`, apiVersion: API });
    expect(res.status).toBe(200);
    expect(httpWaits).toEqual([1000]);
    expect(pacing.waits).toEqual([1000]);
  });

  it("an empty bucket answers 429 SubscriptionRequestsThrottled with the remaining header at 0; after every retry it is ARM_THROTTLED", async () => {
    fx.arm.core.setLimits("reads", 2, 0);
    const path = `${SERVICE}/namedValues/plain`;
    const raw = await fx.raw("GET", `${path}?api-version=${API}`, { token: (await fx.credential().getToken("https://management.azure.com/.default"))!.token });
    expect(raw.headers["x-ms-ratelimit-remaining-subscription-reads"]).toBe("1");
    const pacing = pacedClock();
    const arm = client({ pacing });
    await arm.send({ method: "GET", path, apiVersion: API }); // takes the last token
    const from = fx.arm.server.requests.length;
    const e = await failure(arm.send({ method: "GET", path, apiVersion: API }));
    expect([e.code, e.upstreamCode, e.retryable]).toEqual(["ARM_THROTTLED", "SubscriptionRequestsThrottled", true]);
    // No refill: the emulator asks for 60 s each time; the gate held each retry that long first.
    expect(throttledSince(from)).toBe(3);
    expect(pacing.waits.filter((ms) => ms === 60_000)).toHaveLength(2);
  });

  it("a burst of 60 reads against a bucket of 10 + 20/s: the client holds calls back by x-ms-ratelimit-remaining-subscription-reads, so ARM answers few 429s, and every call succeeds", async () => {
    fx.arm.core.setLimits("reads", 10, 20);
    const arm = client();
    const from = fx.arm.server.requests.length;
    const path = `${SERVICE}/namedValues/plain`;
    // 16 at a time, as an ARM group's concurrency; the first answer tells the client the count.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 60) {
        next++;
        await arm.send({ method: "GET", path, apiVersion: API });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const log = fx.arm.server.requests.slice(from);
    expect(log.filter((r) => r.status === 200)).toHaveLength(60);
    // Without pacing 16 calls meet an empty bucket at once, and again after every Retry-After: dozens of 429s.
    expect(throttledSince(from)).toBeLessThanOrEqual(3);
  });

  it("until ARM has told the count, one call goes alone: 16 writes at once, the first of the client, against a bucket of 5 + 10/s all succeed, with at most one 429", async () => {
    fx.arm.core.setLimits("writes", 5, 10);
    const arm = client();
    // A read first: the token is cached and the connection open, so the writes leave together; their count is still unknown.
    await arm.send({ method: "GET", path: `${SERVICE}/namedValues/plain`, apiVersion: API });
    const from = fx.arm.server.requests.length;
    const path = `${SERVICE}/namedValues/plain/listValue`;
    await Promise.all(Array.from({ length: 16 }, () => arm.send({ method: "POST", path, apiVersion: API, idempotent: true })));
    expect(fx.arm.server.requests.slice(from).filter((r) => r.status === 200)).toHaveLength(16);
    // Sent together, 11 of them would find the bucket empty.
    expect(throttledSince(from)).toBeLessThanOrEqual(1);
  });

  it("writes are paced by their own count: a read budget spent does not hold writes back", async () => {
    fx.arm.core.setLimits("reads", 1, 0);
    const pacing = pacedClock();
    const arm = client({ pacing });
    await arm.send({ method: "GET", path: `${SERVICE}/namedValues/plain`, apiVersion: API }); // reads left: 0
    const from = fx.arm.server.requests.length;
    const res = await arm.send({ method: "POST", path: `${SERVICE}/namedValues/plain/listValue`, apiVersion: API, idempotent: true });
    expect(res.status).toBe(200);
    expect(pacing.waits).toEqual([]);
    expect(throttledSince(from)).toBe(0);
  });

  it("a call held back for the budget ends ABORTED when cancelled, and is never sent", async () => {
    fx.arm.core.setLimits("reads", 1, 0);
    const arm = client({ pacing: { probeIntervalInMs: 60_000 } });
    const path = `${SERVICE}/namedValues/plain`;
    await arm.send({ method: "GET", path, apiVersion: API }); // reads left: 0, nothing in flight
    const sentBefore = fx.arm.server.count("GET", /\/namedValues\/plain$/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const e = await failure(arm.send({ method: "GET", path, apiVersion: API, abortSignal: ac.signal }));
    expect(e.code).toBe("ABORTED");
    expect(e.message).toMatch(/request budget/);
    expect(fx.arm.server.count("GET", /\/namedValues\/plain$/)).toBe(sentBefore);
  });
});

describe("long-running operations", () => {
  it("PATCH polls Azure-AsyncOperation with each Retry-After, then GETs location; the change exists only once the operation completed", async () => {
    fx.arm.core.operationPolls = 2;
    fx.arm.core.operationRetryAfterSeconds = 3;
    const before = fx.arm.apim.namedValue(SERVICE, "plain")!.etag;
    const polledBefore = fx.arm.server.count("GET", /operationResults/);
    const value = "patched-secret-value-0123456789";
    scanner.addSecrets([value]);
    const res = await client().sendAndWait<{ name: string; properties: { value?: string } }>({
      method: "PATCH",
      path: `${SERVICE}/namedValues/plain`,
      apiVersion: API,
      ifMatch: before,
      json: { properties: { value } },
      secrets: [value],
    });
    expect(waits).toEqual([3000, 3000, 3000]);
    expect(res.status).toBe(200);
    expect(res.data.name).toBe("plain");
    expect(res.data.properties.value).toBeUndefined(); // secret: never on GET
    expect(res.etag).not.toBe(before);
    expect(fx.arm.apim.namedValue(SERVICE, "plain")!.value).toBe(value);
    expect(fx.arm.server.count("GET", /operationResults/) - polledBefore).toBe(3);
  });

  it("a client that does not poll leaves the change undone (the emulator completes an operation only when polled)", async () => {
    const res = await client().send({
      method: "PATCH",
      path: `${SERVICE}/namedValues/plain`,
      apiVersion: API,
      ifMatch: "*",
      json: { properties: { value: "never-applied-value-01" } },
    });
    expect(res.status).toBe(202);
    expect(res.headers["azure-asyncoperation"]).toMatch(/\/tenant\/operationResults\/[0-9a-f]+\?api-version=2024-05-01$/);
    expect(fx.arm.apim.namedValue(SERVICE, "plain")!.value).toBe(PLAIN_SECRET);
    expect(fx.arm.core.pendingOperations()).toBe(1);
  });

  it("an operation that ends Failed raises ARM_OPERATION_FAILED with the provider's error", async () => {
    fx.arm.apim.seedNamedValue(SERVICE, { name: "kv", keyVault: { secretIdentifier: "https://nowhere.example/secrets/x" } });
    const e = await failure(client().sendAndWait({ method: "POST", path: `${SERVICE}/namedValues/kv/refreshSecret`, apiVersion: API, idempotent: true }));
    expect([e.code, e.upstreamCode]).toEqual(["ARM_OPERATION_FAILED", "KeyVaultSecretRetrievalFailed"]);
  });

  it("an operation that outlasts its budget raises ARM_OPERATION_TIMEOUT without waiting it out", async () => {
    fx.arm.core.operationPolls = 100;
    fx.arm.core.operationRetryAfterSeconds = 30;
    const polledBefore = fx.arm.server.count("GET", /operationResults/);
    // A clock that moves by what the client waits: the budget is counted in ARM's Retry-After, not in test time.
    let t = 0;
    const timed = client({
      operationTimeoutInMs: 60_000,
      now: () => t,
      sleep: (ms) => {
        waits.push(ms);
        t += ms;
        return Promise.resolve();
      },
    });
    const e = await failure(
      timed.sendAndWait({ method: "PATCH", path: `${SERVICE}/namedValues/plain`, apiVersion: API, ifMatch: "*", json: { properties: { tags: ["a"] } } }),
    );
    expect(e.code).toBe("ARM_OPERATION_TIMEOUT");
    expect(waits).toEqual([30_000, 30_000]);
    expect(fx.arm.server.count("GET", /operationResults/) - polledBefore).toBe(2);
  });

  it("a location polled alone answers 202 until done; a location on another origin is never called", async () => {
    fx.arm.core.operationPolls = 0;
    const arm = client();
    const started = await arm.send({ method: "POST", path: `${SERVICE}/namedValues/plain/listValue`, apiVersion: API, idempotent: true });
    expect(started.status).toBe(200);
    fx.arm.server.faults.add({
      route: "^PATCH ",
      status: 202,
      headers: { Location: "https://evil.example/steal?api-version=1", "Retry-After": "0" },
      body: "",
      times: 1,
    });
    const e = await failure(
      arm.sendAndWait({ method: "PATCH", path: `${SERVICE}/namedValues/plain`, apiVersion: API, ifMatch: "*", json: { properties: { tags: [] } } }),
    );
    expect(e.code).toBe("ARM_BAD_RESPONSE");
    expect(e.message).toContain("https://evil.example");
  });
});

describe("paging, deadlines and cancellation", () => {
  it("follows nextLink across pages", async () => {
    fx.arm.apim.setPageSize(2);
    for (let i = 0; i < 4; i++) fx.arm.apim.seedNamedValue(SERVICE, { name: `nv${i}`, value: `v${i}` });
    const listedBefore = fx.arm.server.count("GET", /\/namedValues$/);
    const all = await client().list<{ name: string }>(`${SERVICE}/namedValues`, API);
    expect(all.map((n) => n.name).sort()).toEqual(["nv0", "nv1", "nv2", "nv3", "plain"]);
    expect(fx.arm.server.count("GET", /\/namedValues$/) - listedBefore).toBe(3);
  });

  it("a list answer without `value` (malformed) is ARM_BAD_RESPONSE", async () => {
    fx.arm.server.faults.add({ route: "^GET .*/namedValues$", status: 200, body: "<html>proxy</html>", raw: true, times: 1 });
    expect((await failure(client().list(`${SERVICE}/namedValues`, API))).code).toBe("ARM_BAD_RESPONSE");
  });

  it("a hanging Resource Manager ends at the per-call deadline (I8) as ARM_UNREACHABLE", async () => {
    fx.arm.server.faults.add({ route: "^GET .*/namedValues/plain$", hang: true });
    const started = Date.now();
    const e = await failure(client({ timeoutInMs: 300 }).send({ method: "GET", path: `${SERVICE}/namedValues/plain`, apiVersion: API }));
    expect([e.code, e.upstreamCode]).toEqual(["ARM_UNREACHABLE", "HTTP_TIMEOUT"]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("an abort during a call and during an operation's wait ends with ABORTED", async () => {
    fx.arm.server.faults.add({ route: "^GET .*/namedValues/plain$", hang: true, times: 1 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect((await failure(client().send({ method: "GET", path: `${SERVICE}/namedValues/plain`, apiVersion: API, abortSignal: ac.signal }))).code).toBe(
      "ABORTED",
    );

    fx.arm.core.operationRetryAfterSeconds = 60;
    const slow = new ArmClient({
      http: new HttpClient({ ca: fx.caCertPem }),
      credential: fx.credential(),
      endpoint: fx.url,
    });
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 200);
    const started = Date.now();
    const e = await failure(
      slow.sendAndWait({
        method: "PATCH",
        path: `${SERVICE}/namedValues/plain`,
        apiVersion: API,
        ifMatch: "*",
        json: { properties: { tags: [] } },
        abortSignal: ac2.signal,
      }),
    );
    expect(e.code).toBe("ABORTED");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
