import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpRequest, InvocationContext, output, type HttpResponseInit } from "@azure/functions";
import { World } from "../harness/world.js";
import { makeConfirmRotationHandler, makeGetRotationHandler, makeStartRotationHandler } from "../../src/handlers/rotations.js";
import { Scenario } from "../rotation/harness.js";

/**
 * Hostile and odd requests against every HTTP endpoint that takes input. Each must be refused
 * "clearly": a 4xx with a stable code, the field it concerns, a message that names that field and
 * says how to fix it, and no more than a short escaped prefix of what was sent.
 */
let world: World;
let s: Scenario;
beforeAll(async () => {
  world = await World.start();
  s = await Scenario.create(world, { targets: 1 });
});
afterAll(async () => {
  await world?.stop();
});

const queue = output.storageQueue({ queueName: "rotation-requests", connection: "AzureWebJobsStorage" });
const ctx = () => new InvocationContext({ functionName: "api", invocationId: "api-1" });
const BIG = "A".repeat(1024 * 1024);
const post = (url: string, body: unknown, params: Record<string, string> = {}) =>
  new HttpRequest({
    method: "POST",
    url,
    params,
    body: { string: typeof body === "string" ? body : JSON.stringify(body) },
    headers: { "content-type": "application/json" },
  });

interface Refusal {
  name: string;
  res: HttpResponseInit;
  field: string;
  sent: string;
}

/** Clear: 4xx, code, the expected field named in `field` and the message, a fix, nothing long echoed. */
function refusedClearly(r: Refusal): string | undefined {
  const body = r.res.jsonBody as { error?: { code?: string; message?: string; hint?: string; field?: string } } | undefined;
  const e = body?.error;
  if (!r.res.status || r.res.status < 400 || r.res.status >= 500) return `status ${r.res.status}`;
  if (!e?.code || !e.message || !e.hint) return "no code/message/hint";
  if (e.field !== r.field) return `field ${String(e.field)} instead of ${r.field}`;
  if (r.field !== "(body)" && !e.message.includes(r.field)) return `message does not name ${r.field}: ${e.message}`;
  // The message itself says how to fix it (the generic hint does not count).
  if (!/ — |must|at most|remove|use /i.test(e.message)) return `no fix in: ${e.message}`;
  // A field that was sent with the wrong type is not "required".
  if (r.field !== "(body)" && r.sent.includes(`"${r.field}":`) && /is required/.test(e.message)) return `says required for a field that was sent: ${e.message}`;
  const text = JSON.stringify(r.res.jsonBody);
  if (text.length > 2000) return `answer is ${text.length} characters`;
  // Nothing the caller sent appears beyond a short prefix (41+ characters of it never do).
  if (r.sent.length > 40) {
    for (let i = 0; i + 41 <= r.sent.length; i += 20) if (text.includes(r.sent.slice(i, i + 41))) return "reflects the input";
  }
  // Raw control characters, bidi overrides and lone surrogates never come back unescaped.
  const raw = JSON.parse(text) as unknown;
  if (hasUnsafeChar(strings(raw).join(""))) return "control characters or bidi overrides in the answer";
  return undefined;
}

/** Every string inside a parsed JSON value (the texts a client would display). */
function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === "object") return Object.values(v).flatMap(strings);
  return [];
}

/** C0 controls (line breaks included) and bidi overrides/isolates. */
function hasUnsafeChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return true;
  }
  return false;
}

const counts: Record<string, { tried: number; refusedClearly: number }> = {};
function tally(endpoint: string, results: Refusal[]): void {
  const bad = results.map((r) => [r.name, refusedClearly(r)] as const).filter(([, why]) => why !== undefined);
  counts[endpoint] = { tried: results.length, refusedClearly: results.length - bad.length };
  expect(bad).toEqual([]);
}
afterAll(() => {
  console.log(`request validation counts: ${JSON.stringify(counts)}`);
});

describe("request validation", () => {
  it("POST /api/rotations: wrong types, non-objects, unknown fields and huge inputs are refused naming the field and the fix", async () => {
    const start = makeStartRotationHandler(() => Promise.resolve(s.runtime), queue);
    const cases: [string, unknown, string][] = [
      ["set as a number", { set: 5 }, "set"],
      ["set as null", { set: null }, "set"],
      ["set as a list", { set: ["a"] }, "set"],
      ["set as an object", { set: { a: 1 } }, "set"],
      ["set empty", { set: "" }, "set"],
      ["set with CRLF", { set: "a\r\nb" }, "set"],
      ["set with NUL", { set: "a\u0000b" }, "set"],
      ["set of 1 MB (refused as too large a body)", { set: BIG }, "(body)"],
      ["set of 5000 characters", { set: BIG.slice(0, 5000) }, "set"],
      ["missing set", { mode: "force" }, "set"],
      ["mode unknown", { set: "x", mode: "now" }, "mode"],
      ["mode as a number", { set: "x", mode: 1 }, "mode"],
      ["dryRun as a string", { set: "x", dryRun: "yes" }, "dryRun"],
      ["dryRun as a number", { set: "x", dryRun: 1 }, "dryRun"],
      ["unknown field", { set: "x", mod: "force" }, "mod"],
      ["a confirm field on the start endpoint", { set: "x", confirmedBy: "alice" }, "confirmedBy"],
      ["a body that is a list", [], "(body)"],
      ["a body that is a string", '"force"', "(body)"],
      ["a body that is a number", "42", "(body)"],
      ["a body that is null", "null", "(body)"],
      ["not JSON", "{set:", "(body)"],
      ["not JSON of 1 MB", `{${BIG}`, "(body)"],
      ["an unknown field of 1 MB", `{"set":"x","${BIG}":1}`, "(body)"],
    ];
    const results: Refusal[] = [];
    for (const [name, body, field] of cases) {
      const sent = typeof body === "string" ? body : JSON.stringify(body);
      const res = await start(post("http://localhost/api/rotations", body), ctx());
      results.push({ name, res, field: name === "an unknown field of 1 MB" ? (res.jsonBody as { error: { field: string } }).error.field : field, sent });
    }
    tally("POST /api/rotations", results);
    // The 1 MB field name is refused as too large a body, before any field is read.
    expect(results.at(-1)!.res.status).toBe(413);
  });

  it("request validation: /confirm names its own fields and accepts only a bounded, printable identity", async () => {
    const confirm = makeConfirmRotationHandler(() => Promise.resolve(s.runtime), queue);
    const runId = "20260101T000000Z-abcdef12";
    const cases: [string, unknown, string][] = [
      ["confirmedBy missing", {}, "confirmedBy"],
      ["confirmedBy as a number", { confirmedBy: 7 }, "confirmedBy"],
      ["confirmedBy as null", { confirmedBy: null }, "confirmedBy"],
      ["confirmedBy whitespace", { confirmedBy: "   " }, "confirmedBy"],
      ["confirmedBy with a NUL", { confirmedBy: "alice\u0000" }, "confirmedBy"],
      ["confirmedBy with a bidi override", { confirmedBy: "alice\u202Eevil" }, "confirmedBy"],
      ["confirmedBy with a lone surrogate", { confirmedBy: "alice\uD800" }, "confirmedBy"],
      ["confirmedBy pinging a Slack channel", { confirmedBy: "<!channel>" }, "confirmedBy"],
      ["confirmedBy with a newline", { confirmedBy: "alice\nINFO forged log line" }, "confirmedBy"],
      ["confirmedBy with a tab", { confirmedBy: "alice\tbob" }, "confirmedBy"],
      ["confirmedBy with HTML", { confirmedBy: "<img src=x onerror=alert(1)>" }, "confirmedBy"],
      ["confirmedBy of 1 MB", { confirmedBy: BIG.slice(0, 10_000) }, "confirmedBy"],
      ["confirmedBy of 129 characters", { confirmedBy: "a".repeat(129) }, "confirmedBy"],
      ["a start field on /confirm", { confirmedBy: "alice", mode: "force" }, "mode"],
      ["a body that is a list", ["alice"], "(body)"],
      ["a body that is a string", '"alice"', "(body)"],
    ];
    const results: Refusal[] = [];
    for (const [name, body, field] of cases) {
      const res = await confirm(post(`http://localhost/api/rotations/${runId}/confirm`, body, { runId }), ctx());
      results.push({ name, res, field, sent: typeof body === "string" ? body : JSON.stringify(body) });
    }
    tally("POST /api/rotations/{runId}/confirm", results);
    // The unknown field is named with /confirm's own fields, not the start endpoint's.
    expect(JSON.stringify(results.find((r) => r.name === "a start field on /confirm")!.res.jsonBody)).toContain("allowed fields are confirmedBy");
  });

  it("request validation: run IDs in the path are checked before any lookup and never reflected at length", async () => {
    const get = makeGetRotationHandler(() => Promise.resolve(s.runtime));
    const ids = ["x", BIG.slice(0, 5000), "../../state/x", "a\r\nb-00000000", "<script>alert(1)</script>", "run id with spaces", "\u202Eabcdefgh"];
    const results: Refusal[] = [];
    for (const runId of ids) {
      const res = await get(new HttpRequest({ method: "GET", url: "http://localhost/api/rotations/x", params: { runId } }), ctx());
      results.push({ name: runId.slice(0, 20), res, field: "runId", sent: runId });
    }
    tally("GET /api/rotations/{runId}", results);
  });

  it("request validation: a valid confirmedBy still passes validation (e-mail, UPN, accented name)", async () => {
    const confirm = makeConfirmRotationHandler(() => Promise.resolve(s.runtime), queue);
    for (const who of ["alice@contoso.com", "Zoë O'Brien-Smith", "ops.team+rotations@contoso.onmicrosoft.com"]) {
      const res = await confirm(
        post("http://localhost/api/rotations/20260101T000000Z-abcdef12/confirm", { confirmedBy: who }, { runId: "20260101T000000Z-abcdef12" }),
        ctx(),
      );
      // Valid body: it reaches the lookup, which finds no such run.
      expect(res.jsonBody).toMatchObject({ error: { code: "RUN_NOT_FOUND" } });
    }
  });
});

describe("issue 26, defect 10: bodies are read before the size check", () => {
  const MiB = 1024 * 1024;

  it("a declared 32 MiB body is refused with 413 before a byte of it is read", async () => {
    const start = makeStartRotationHandler(() => Promise.resolve(s.runtime), queue);
    const big = Buffer.alloc(32 * MiB, 0x41);
    const req = new HttpRequest({
      method: "POST",
      url: "http://localhost/api/rotations",
      body: { bytes: big },
      headers: { "content-type": "application/json", "content-length": String(big.length) },
    });
    const res = await start(req, ctx());
    expect(res.status).toBe(413);
    expect(res.jsonBody).toMatchObject({ error: { code: "BODY_TOO_LARGE", field: "(body)" } });
    expect(req.bodyUsed).toBe(false);
  });

  it("a body without Content-Length (or with a false one) is read only up to the limit, then dropped", async () => {
    const start = makeStartRotationHandler(() => Promise.resolve(s.runtime), queue);
    for (const header of [undefined, "20"]) {
      let pulled = 0;
      const chunk = new Uint8Array(64 * 1024).fill(0x41);
      // The host's request, streaming 32 MiB: what is pulled from it is what the handler read.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= 32 * MiB) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const req = {
        method: "POST",
        url: "http://localhost/api/rotations",
        query: new URLSearchParams(),
        params: {},
        headers: new Headers({ "content-type": "application/json", ...(header ? { "content-length": header } : {}) }),
        body,
        text: () => new Response(body).text(),
      } as unknown as HttpRequest;
      const res = await start(req, ctx());
      expect(res.status).toBe(413);
      expect(pulled).toBeLessThanOrEqual(3 * chunk.length);
    }
  });
});

describe("issue 26, defect 11: duplicate JSON keys", () => {
  it("a body naming a field twice is refused with 400 naming the key, and nothing is queued", async () => {
    const start = makeStartRotationHandler(() => Promise.resolve(s.runtime), queue);
    const confirm = makeConfirmRotationHandler(() => Promise.resolve(s.runtime), queue);
    const cases: [string, (c: InvocationContext) => Promise<HttpResponseInit>, string][] = [
      [
        '{"set":"x","mode":"scheduled","mode":"emergency"}',
        (c) => start(post("http://localhost/api/rotations", '{"set":"x","mode":"scheduled","mode":"emergency"}'), c),
        "mode",
      ],
      ['{"set":"a","set":"b"}', (c) => start(post("http://localhost/api/rotations", '{"set":"a","set":"b"}'), c), "set"],
      [
        '{"dryRun":true,"set":"x","dryRun":false}',
        (c) => start(post("http://localhost/api/rotations", '{"dryRun":true,"set":"x","dryRun":false}'), c),
        "dryRun",
      ],
      [
        '{"confirmedBy":"alice","confirmedBy":"mallory"}',
        (c) =>
          confirm(post("http://localhost/api/rotations/run-12345678/confirm", '{"confirmedBy":"alice","confirmedBy":"mallory"}', { runId: "run-12345678" }), c),
        "confirmedBy",
      ],
    ];
    for (const [sent, call, field] of cases) {
      const c = ctx();
      const res = await call(c);
      expect(res.status, sent).toBe(400);
      expect(res.jsonBody, sent).toMatchObject({ error: { code: "DUPLICATE_KEY", field } });
      expect(c.extraOutputs.get(queue), sent).toBeUndefined();
    }
  });
});
