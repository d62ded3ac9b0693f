/**
 * Malformed requests for every HTTP endpoint the function app registers (functions/*.ts with an
 * http trigger), as tables: each case is one request the host could hand a handler, and what a
 * clear refusal looks like (status, and the field the answer must name). Pure data: the test
 * (requests.test.ts) drives the real handlers with them, `npm run badinput:counts` counts them.
 *
 * `@SET@` in a body stands for the name of a real credential set, so a case is bad only in the
 * part it names; `@RUN@` for a well-formed run ID.
 */
export interface RequestCase {
  name: string;
  method?: string;
  /** Raw query string without the leading "?". */
  query?: string;
  headers?: Record<string, string>;
  body?: string | (() => string);
  /** The `runId` route parameter as the host passes it (already URL-decoded by the host). */
  runId?: string;
  expect: { status: number; field: string | RegExp };
}

export type Endpoint =
  "POST /api/rotations" | "GET /api/rotations/{runId}" | "POST /api/rotations/{runId}/confirm" | "GET /api/health" | "GET /api/status" | "GET /api/dashboard";

const MB = 1024 * 1024;
const jsonBody = (o: Record<string, unknown>): string => JSON.stringify(o);
/** A body of about `bytes` characters that is valid JSON with a real set name. */
const padded =
  (bytes: number, extra: Record<string, unknown> = {}) =>
  () =>
    `{"set":"@SET@",${Object.entries(extra)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
      .join("")}"pad":"${"x".repeat(bytes)}"}`;
const nested =
  (depth: number, open: string, close: string, inner = "1") =>
  () =>
    `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

const WRONG_TYPES: [string, unknown][] = [
  ["a number", 5],
  ["null", null],
  ["a list", ["x"]],
  ["an object", { a: 1 }],
  ["true", true],
  ["a float", 1.5],
];

/** Odd Unicode that must never be accepted as a name, nor come back unescaped. */
const ODD_UNICODE: [string, string][] = [
  ["a lone high surrogate", "abc\uD800def"],
  ["a lone low surrogate", "\uDC00abcdef"],
  ["a right-to-left override", "abc\u202Edef"],
  ["a NUL", "abc\u0000def"],
  ["a zero-width space", "abc\u200Bdef"],
  ["a zero-width joiner", "abc\u200Ddef"],
  ["a byte-order mark", "\uFEFFabcdef"],
  ["a Cyrillic homoglyph", "cequence-sso".replace("e", "\u0435")],
  ["fullwidth letters", "\uFF41\uFF42\uFF43def"],
  ["a combining mark", "abc\u0301def"],
  ["an emoji", "abc\u{1F510}def"],
  ["a line separator", "abc\u2028def"],
  ["CRLF", "abc\r\ndef"],
];

/** Names and IDs that try to leave their folder in Storage or the URL space. */
const PATH_TRICKS: [string, string][] = [
  ["../", "../state"],
  ["../../", "../../state/x"],
  ["%2e%2e", "%2e%2e%2fstate"],
  ["..%2f", "..%2f..%2fstate"],
  ["%00", "abc%00def"],
  ["a raw NUL", "abcdefgh\u0000.json"],
  ["runs/../state", "runs/../state"],
  ["a backslash traversal", "..\\..\\state"],
  ["an absolute path", "/etc/passwd"],
  ["a URL", "https://evil.example/x"],
  ["a dot", "."],
  ["a double dot", ".."],
  ["a trailing .json", "abcdefgh.json"],
  ["41 characters", "a".repeat(41)],
  ["65 characters", "a".repeat(65)],
  ["5,000 characters", "a".repeat(5000)],
  ["a query string", "abcdefgh?x=1"],
  ["a fragment", "abcdefgh#x"],
  ["spaces", "abc defgh"],
  ["markup", "<script>alert(1)</script>"],
];

/** A run ID may be up to 64 characters, so 41 is well-formed there (it gets a 404, counted apart). */
const RUN_ID_TRICKS = PATH_TRICKS.filter(([what]) => what !== "41 characters");

const METHODS_FOR_POST = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const METHODS_FOR_GET = ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

const JSON_TYPE = { "content-type": "application/json" };

function methodCases(methods: string[], bodies: [string, string | (() => string) | undefined][]): RequestCase[] {
  const out: RequestCase[] = [];
  for (const m of methods) {
    const withBody = m === "GET" || m === "HEAD" ? bodies.filter(([, b]) => b === undefined) : bodies;
    for (const [what, body] of withBody.length ? withBody : [["no body", undefined] as [string, undefined]]) {
      out.push({
        name: `${m} with ${what}`,
        method: m,
        headers: JSON_TYPE,
        ...(body !== undefined ? { body } : {}),
        expect: { status: 405, field: "(method)" },
      });
    }
  }
  return out;
}

const QUERY_FIELD = /^\?/;
/** Unknown query parameters: nothing but the function key (`code`) is read from the query string. */
function queryCases(): RequestCase[] {
  const q: [string, string][] = [
    ["?set=", "set=@SET@"],
    ["?mode=", "mode=force"],
    ["?dryRun=", "dryRun=true"],
    ["?runId=", "runId=abcdefgh"],
    ["?format=", "format=json"],
    ["?__proto__=", "__proto__=1"],
    ["?__proto__[x]=", "__proto__%5Bx%5D=1"],
    ["?constructor=", "constructor=x"],
    ["?prototype=", "prototype=1"],
    ["?constructor[prototype][x]=", "constructor%5Bprototype%5D%5Bx%5D=1"],
    ["a traversal as a name", "..%2F..%2Fstate=1"],
    ["%2e%2e as a name", "%2e%2e=1"],
    ["a NUL in the name", "a%00b=1"],
    ["a right-to-left override in the name", "a%E2%80%AEb=1"],
    ["a zero-width space in the name", "a%E2%80%8Bb=1"],
    ["a lone surrogate in the name (as UTF-8 bytes)", "a%ED%A0%80b=1"],
    ["a 5,000-character name", `${"n".repeat(5000)}=1`],
    ["1,000 parameters", Array.from({ length: 1000 }, (_, i) => `p${i}=1`).join("&")],
    ["an empty name", "=1"],
    ["the function key twice", "code=a&code=b"],
    ["a case variant of code", "Code=abc"],
    ["callback (JSONP)", "callback=alert"],
    ["debug", "debug=true"],
    ["a bare flag", "verbose"],
    ["markup as a name", "%3Cscript%3E=1"],
  ];
  return q.map(([name, query]) => ({
    name: `query ${name}`,
    query,
    expect: { status: 400, field: name === "the function key twice" ? "?code" : QUERY_FIELD },
  }));
}

function contentTypeCases(validBody: string): RequestCase[] {
  const types: [string, string, string?][] = [
    ["text/plain", "text/plain"],
    ["a form post", "application/x-www-form-urlencoded", "set=@SET@&mode=force"],
    ["multipart", "multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="set"\r\n\r\n@SET@\r\n--x--'],
    ["XML", "application/xml", "<rotation><set>@SET@</set></rotation>"],
    ["JSON in UTF-16", "application/json; charset=utf-16"],
    ["text/json", "text/json"],
    ["an empty Content-Type", " "],
    ["application/javascript", "application/javascript"],
    ["a Latin-1 byte after the type", "application/json\u00ff"],
  ];
  return types.map(([name, type, body]) => ({
    name: `Content-Type ${name}`,
    headers: { "content-type": type },
    body: body ?? validBody,
    expect: { status: 415, field: "Content-Type" },
  }));
}

function invalidJsonCases(): RequestCase[] {
  const bodies: [string, string][] = [
    ["an unquoted key", "{set:1}"],
    ["single quotes", "{'set':'@SET@'}"],
    ["a trailing comma", '{"set":"@SET@",}'],
    ["NaN", '{"set":"@SET@","dryRun":NaN}'],
    ["two objects", '{"set":"@SET@"}{"set":"@SET@"}'],
    ["truncated", '{"set":"@SET@","mode":"for'],
    // A leading BOM is stripped by the host's UTF-8 decoding (RFC 8259 §8.1 lets parsers ignore it); a trailing one is not JSON.
    ["a byte-order mark after the object", '{"set":"@SET@"}\uFEFF'],
    ["a comment", '{"set":"@SET@" /* force */}'],
    ["XML", "<set>@SET@</set>"],
    ["a lone NUL", "\u0000"],
    ["undefined", "undefined"],
    ["a JavaScript object", "({set:'x'})"],
  ];
  return bodies.map(([name, body]) => ({ name: `invalid JSON: ${name}`, headers: JSON_TYPE, body, expect: { status: 400, field: "(body)" } }));
}

function nonObjectCases(): RequestCase[] {
  return [
    ["a list", "[]"],
    ["a list of objects", '[{"set":"@SET@"}]'],
    ["a string", '"@SET@"'],
    ["a number", "42"],
    ["null", "null"],
    ["true", "true"],
  ].map(([name, body]) => ({ name: `body is ${name}`, headers: JSON_TYPE, body: body!, expect: { status: 400, field: "(body)" } }));
}

function hugeAndDeepCases(field: string, fieldValue: (inner: string) => string, validFields: string): RequestCase[] {
  return [
    { name: "a 1 MB body", headers: JSON_TYPE, body: padded(MB), expect: { status: 413, field: "(body)" } },
    { name: "a 5 MB body", headers: JSON_TYPE, body: padded(5 * MB), expect: { status: 413, field: "(body)" } },
    { name: "a 10 MB body", headers: JSON_TYPE, body: padded(10 * MB), expect: { status: 413, field: "(body)" } },
    { name: "a 10 MB body that is not JSON", headers: JSON_TYPE, body: () => "{".repeat(10 * MB), expect: { status: 413, field: "(body)" } },
    { name: "10,000 levels of lists", headers: JSON_TYPE, body: nested(10_000, "[", "]"), expect: { status: 413, field: "(body)" } },
    { name: "10,000 levels of objects", headers: JSON_TYPE, body: nested(10_000, '{"a":', "}"), expect: { status: 413, field: "(body)" } },
    { name: `5,000 levels of lists inside ${field}`, headers: JSON_TYPE, body: () => fieldValue(nested(5000, "[", "]")()), expect: { status: 400, field } },
    {
      name: "2,000 levels of objects under an unknown field",
      headers: JSON_TYPE,
      body: () => `{"a":${nested(2000, '{"a":', "}")()},${validFields}}`,
      expect: { status: 400, field: "a" },
    },
    { name: `${field} of 15,000 characters`, headers: JSON_TYPE, body: () => fieldValue(JSON.stringify("s".repeat(15_000))), expect: { status: 400, field } },
  ];
}

function unknownFieldCases(base: Record<string, unknown>): RequestCase[] {
  const raw = (k: string) => `{${JSON.stringify(k)}:{"polluted":true},${JSON.stringify(base).slice(1)}`;
  const keys: [string, string | RegExp][] = [
    ["__proto__", "__proto__"],
    ["constructor", "constructor"],
    ["prototype", "prototype"],
    ["mod", "mod"],
    ["Set", "Set"],
    ["runId", "runId"],
    ["a key with a trailing space", /"set |^set $/],
    ["an empty key", /.+/],
    ["a key with a right-to-left override", /\\u202e/],
    ["a key with a NUL", /\\u0000/],
    ["a 5,000-character key", /…/],
  ];
  // A Map, not an object literal: names["__proto__"] would be Object.prototype.
  const names = new Map([
    ["a key with a trailing space", "set "],
    ["an empty key", ""],
    ["a key with a right-to-left override", "se\u202Et"],
    ["a key with a NUL", "se\u0000t"],
    ["a 5,000-character key", "k".repeat(5000)],
  ]);
  return keys.map(([label, field]) => ({
    name: `unknown field ${label}`,
    headers: JSON_TYPE,
    body: raw(names.get(label) ?? label),
    expect: { status: 400, field },
  }));
}

// ── the endpoints ────────────────────────────────────────────────────────────

function startCases(): RequestCase[] {
  const cases: RequestCase[] = [];
  const body = (o: Record<string, unknown>): RequestCase["body"] => jsonBody(o);
  for (const [what, v] of WRONG_TYPES)
    cases.push({ name: `set as ${what}`, headers: JSON_TYPE, body: body({ set: v }), expect: { status: 400, field: "set" } });
  for (const [what, v] of WRONG_TYPES)
    cases.push({ name: `mode as ${what}`, headers: JSON_TYPE, body: body({ set: "@SET@", mode: v }), expect: { status: 400, field: "mode" } });
  for (const [what, v] of [...WRONG_TYPES.filter(([w]) => w !== "true"), ["a string", "true"] as [string, unknown], ["0", 0] as [string, unknown]]) {
    cases.push({ name: `dryRun as ${what}`, headers: JSON_TYPE, body: body({ set: "@SET@", dryRun: v }), expect: { status: 400, field: "dryRun" } });
  }
  cases.push(
    { name: "an empty object", headers: JSON_TYPE, body: "{}", expect: { status: 400, field: "set" } },
    { name: "missing set", headers: JSON_TYPE, body: body({ mode: "force" }), expect: { status: 400, field: "set" } },
    { name: "missing set in a dry run", headers: JSON_TYPE, body: body({ dryRun: true }), expect: { status: 400, field: "set" } },
    { name: "an empty set", headers: JSON_TYPE, body: body({ set: "" }), expect: { status: 400, field: "set" } },
  );
  for (const [what, v] of ODD_UNICODE)
    cases.push({ name: `set with ${what}`, headers: JSON_TYPE, body: body({ set: v }), expect: { status: 400, field: "set" } });
  for (const [what, v] of PATH_TRICKS)
    cases.push({ name: `set with ${what}`, headers: JSON_TYPE, body: body({ set: v }), expect: { status: 400, field: "set" } });
  for (const v of ["FORCE", "force ", "emergency\u0000", "", "rotate", "scheduled\u202E"])
    cases.push({ name: `mode ${JSON.stringify(v)}`, headers: JSON_TYPE, body: body({ set: "@SET@", mode: v }), expect: { status: 400, field: "mode" } });
  cases.push({
    name: "a set name that exists nowhere",
    headers: JSON_TYPE,
    body: body({ set: "no-such-set", mode: "force" }),
    expect: { status: 404, field: "set" },
  });
  cases.push(...unknownFieldCases({ set: "@SET@", mode: "force" }));
  cases.push({
    name: "a confirm field on the start endpoint",
    headers: JSON_TYPE,
    body: body({ set: "@SET@", confirmedBy: "alice" }),
    expect: { status: 400, field: "confirmedBy" },
  });
  cases.push(...nonObjectCases(), ...invalidJsonCases());
  cases.push(...hugeAndDeepCases("set", (inner) => `{"set":${inner}}`, '"set":"@SET@","mode":"force"'));
  cases.push(...methodCases(METHODS_FOR_POST, [["a valid body", '{"set":"@SET@","mode":"force"}']]));
  cases.push(...contentTypeCases('{"set":"@SET@","mode":"force"}'));
  cases.push(...queryCases().map((c) => ({ ...c, headers: JSON_TYPE, body: '{"set":"@SET@","mode":"force","dryRun":true}' })));
  return cases;
}

function confirmCases(): RequestCase[] {
  const cases: RequestCase[] = [];
  const run = { runId: "@RUN@" };
  for (const [what, v] of WRONG_TYPES)
    cases.push({
      name: `confirmedBy as ${what}`,
      ...run,
      headers: JSON_TYPE,
      body: jsonBody({ confirmedBy: v }),
      expect: { status: 400, field: "confirmedBy" },
    });
  cases.push({ name: "confirmedBy missing", ...run, headers: JSON_TYPE, body: "{}", expect: { status: 400, field: "confirmedBy" } });
  cases.push({
    name: "confirmedBy whitespace",
    ...run,
    headers: JSON_TYPE,
    body: jsonBody({ confirmedBy: "   " }),
    expect: { status: 400, field: "confirmedBy" },
  });
  cases.push({
    name: "confirmedBy pinging a Slack channel",
    ...run,
    headers: JSON_TYPE,
    body: jsonBody({ confirmedBy: "<!channel>" }),
    expect: { status: 400, field: "confirmedBy" },
  });
  cases.push({
    name: "confirmedBy of 129 characters",
    ...run,
    headers: JSON_TYPE,
    body: jsonBody({ confirmedBy: "a".repeat(129) }),
    expect: { status: 400, field: "confirmedBy" },
  });
  for (const [what, v] of ODD_UNICODE.filter(([w]) => !["a Cyrillic homoglyph", "fullwidth letters", "a combining mark"].includes(w))) {
    cases.push({
      name: `confirmedBy with ${what}`,
      ...run,
      headers: JSON_TYPE,
      body: jsonBody({ confirmedBy: v }),
      expect: { status: 400, field: "confirmedBy" },
    });
  }
  for (const [what, v] of RUN_ID_TRICKS)
    cases.push({ name: `runId with ${what}`, runId: v, headers: JSON_TYPE, body: jsonBody({ confirmedBy: "alice" }), expect: { status: 400, field: "runId" } });
  for (const [what, v] of ODD_UNICODE)
    cases.push({
      name: `runId with ${what}`,
      runId: `${v}-00000000`,
      headers: JSON_TYPE,
      body: jsonBody({ confirmedBy: "alice" }),
      expect: { status: 400, field: "runId" },
    });
  cases.push({
    name: "a run that does not exist",
    runId: "20260101T000000Z-deadbeef",
    headers: JSON_TYPE,
    body: jsonBody({ confirmedBy: "alice" }),
    expect: { status: 404, field: "runId" },
  });
  cases.push(...unknownFieldCases({ confirmedBy: "alice" }).map((c) => ({ ...c, ...run })));
  cases.push({
    name: "a start field on /confirm",
    ...run,
    headers: JSON_TYPE,
    body: jsonBody({ confirmedBy: "alice", mode: "force" }),
    expect: { status: 400, field: "mode" },
  });
  cases.push(...nonObjectCases().map((c) => ({ ...c, ...run })), ...invalidJsonCases().map((c) => ({ ...c, ...run })));
  cases.push(...hugeAndDeepCases("confirmedBy", (inner) => `{"confirmedBy":${inner}}`, '"confirmedBy":"alice"').map((c) => ({ ...c, ...run })));
  cases.push(...methodCases(METHODS_FOR_POST, [["a valid body", '{"confirmedBy":"alice"}']]).map((c) => ({ ...c, ...run })));
  cases.push(...contentTypeCases('{"confirmedBy":"alice"}').map((c) => ({ ...c, ...run })));
  cases.push(...queryCases().map((c) => ({ ...c, ...run, headers: JSON_TYPE, body: '{"confirmedBy":"alice"}' })));
  return cases;
}

function getRunCases(): RequestCase[] {
  const cases: RequestCase[] = [];
  for (const [what, v] of RUN_ID_TRICKS) cases.push({ name: `runId with ${what}`, runId: v, expect: { status: 400, field: "runId" } });
  for (const [what, v] of ODD_UNICODE) cases.push({ name: `runId with ${what}`, runId: `${v}-00000000`, expect: { status: 400, field: "runId" } });
  for (const [what, v] of [
    ["an empty ID", ""],
    ["7 characters", "abcdefg"],
    ["a state blob name", "state/@SET@"],
    ["a lease blob name", "leases/@SET@"],
    ["a run-index path", "run-index/abcdefgh"],
    ["a trailing slash", "abcdefgh/"],
    ["an encoded slash", "abcdefgh%2Fx"],
    ["double-encoded dots", "%252e%252e%252fstate"],
  ] as [string, string][]) {
    cases.push({ name: `runId ${what}`, runId: v, expect: { status: 400, field: "runId" } });
  }
  for (const v of ["20260101T000000Z-deadbeef", "--------", "0".repeat(64)])
    cases.push({ name: `well-formed runId ${v.slice(0, 12)} that does not exist`, runId: v, expect: { status: 404, field: "runId" } });
  cases.push(
    ...methodCases(METHODS_FOR_GET, [
      ["no body", undefined],
      ["a JSON body", '{"confirmedBy":"alice"}'],
      ["a 1 MB body", padded(MB)],
    ]).map((c) => ({ ...c, runId: "@RUN@" })),
  );
  cases.push(...queryCases().map((c) => ({ ...c, runId: "@RUN@" })));
  return cases;
}

/** GET endpoints that read no input: any method but GET and any query parameter but the key are refused. */
function readOnlyCases(): RequestCase[] {
  return [
    ...methodCases(METHODS_FOR_GET, [
      ["no body", undefined],
      ["an empty JSON object", "{}"],
      ["a start body", '{"set":"@SET@","mode":"emergency"}'],
      ["invalid JSON", "{set:"],
      ["a 1 MB body", padded(MB)],
      ["a 10 MB body", padded(10 * MB)],
    ]),
    ...queryCases(),
  ];
}

export const REQUEST_CASES: Record<Endpoint, RequestCase[]> = {
  "POST /api/rotations": startCases(),
  "GET /api/rotations/{runId}": getRunCases(),
  "POST /api/rotations/{runId}/confirm": confirmCases(),
  "GET /api/health": readOnlyCases(),
  "GET /api/status": readOnlyCases(),
  "GET /api/dashboard": readOnlyCases(),
};

export const REQUEST_CASE_COUNTS: Record<Endpoint, number> = Object.fromEntries(Object.entries(REQUEST_CASES).map(([k, v]) => [k, v.length])) as Record<
  Endpoint,
  number
>;
