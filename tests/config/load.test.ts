import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, loadCredentialSets } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { configErrorOf, issueAt, pathOf, validCequenceSet, validManualSet } from "./fixtures.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const EXAMPLE_SETS = path.join(REPO, "docs/examples/credential-sets.example.json");
const EXAMPLE_SETTINGS = path.join(REPO, "local.settings.example.json");
const FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "rotator-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("the shipped examples", () => {
  it("loads docs/examples/credential-sets.example.json: a cequence set with all five channel kinds and a manual set", () => {
    const sets = loadCredentialSets({ file: EXAMPLE_SETS });
    expect(sets.map((s) => [s.name, s.gateway.kind])).toEqual([
      ["cequence-sso", "cequence"],
      ["legacy-gateway-sso", "manual"],
    ]);
    expect(sets[0]!.alerts.map((a) => a.kind).sort()).toEqual(["opsgenie", "pagerduty", "slack", "teams", "webhook"]);
  });

  it("loads local.settings.example.json together with the example sets it names", () => {
    const doc = JSON.parse(readFileSync(EXAMPLE_SETTINGS, "utf8")) as { IsEncrypted: boolean; Values: Record<string, string> };
    expect(doc.IsEncrypted).toBe(false);
    expect(doc.Values.FUNCTIONS_WORKER_RUNTIME).toBe("node");
    expect(doc.Values.AzureWebJobsStorage).toBe("UseDevelopmentStorage=true");
    const config = loadConfig(doc.Values, { cwd: REPO });
    expect(config.sets).toHaveLength(2);
    expect(config.settings.storage).toMatchObject({ kind: "connectionString", development: true });
    expect(config.extraCaPem).toBeUndefined();
  });

  it("lists every app setting the loader reads in local.settings.example.json", async () => {
    const { APP_SETTING_NAMES } = await import("../../src/config/settings.js");
    const doc = JSON.parse(readFileSync(EXAMPLE_SETTINGS, "utf8")) as { Values: Record<string, string> };
    const hostOnly = new Set(["WEBSITE_INSTANCE_ID"]); // set by Azure, never by hand
    for (const name of APP_SETTING_NAMES) if (!hostOnly.has(name)) expect(Object.keys(doc.Values)).toContain(name);
  });

  it("documents every app setting in docs/configuration.md", async () => {
    const { APP_SETTING_NAMES } = await import("../../src/config/settings.js");
    const doc = readFileSync(path.join(REPO, "docs/configuration.md"), "utf8");
    for (const name of APP_SETTING_NAMES) expect(doc).toContain(`\`${name}\``);
  });
});

describe("invalid JSON is reported with line and column", () => {
  it.each([
    { name: "a trailing comma in an object", text: '{\n  "sets": [\n    { "name": "a", }\n  ]\n}', line: 3, column: 20, fix: "remove the last comma" },
    { name: "a trailing comma in a list", text: '{ "sets": [\n  {},\n] }', line: 3, column: 1, fix: "a trailing comma before ]" },
    { name: "single quotes", text: "{ 'sets': [] }", line: 1, column: 3, fix: "JSON needs double quotes" },
    { name: "a comment", text: '{\n  // our sets\n  "sets": []\n}', line: 2, column: 3, fix: "JSON allows no comments" },
    { name: "a missing comma between properties", text: '{\n  "sets": []\n  "x": 1\n}', line: 3, column: 3, fix: "add the comma between the two properties" },
    { name: "a truncated file", text: '{ "sets": [ { "name": "a"', line: 1, column: 26, fix: "add the missing closing bracket" },
    { name: "an unquoted word", text: '{ "sets": [ { "kind": manual } ] }', line: 1, column: 23, fix: "put text in double quotes" },
    { name: "a line break inside quotes", text: '{ "sets": [ { "name": "a\nb" } ] }', line: 1, column: 25, fix: "close the quote" },
    { name: "a missing colon", text: '{ "sets" [] }', line: 1, column: 10, fix: 'write "name": value' },
    { name: "a missing comma between list items", text: '{ "sets": [\n  {}\n  {}\n] }', line: 3, column: 3, fix: "add the comma between the two items" },
    { name: "a number with a leading zero", text: '{ "sets": [], "x": 01 }', line: 1, column: 21, fix: "no leading zeros" },
    { name: "an invalid escape", text: '{ "sets": [], "x": "C:\\qtemp" }', line: 1, column: 23, fix: "write \\\\ for a backslash" },
    { name: "text after the document", text: '{ "sets": [] }\n{}', line: 2, column: 1, fix: "extra text after the end" },
  ])("points at $name", ({ text, line, column, fix }) => {
    const err = configErrorOf(() => loadCredentialSets({ json: text }));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toContain(`CREDENTIAL_SETS_JSON: is not valid JSON at line ${line}, column ${column}:`);
    expect(err.issues[0]).toContain(fix);
  });

  it("names the file setting for a file with invalid JSON, and ignores a UTF-8 byte-order mark", () => {
    const file = write("bom.json", `\uFEFF${JSON.stringify({ sets: [validManualSet()] })}`);
    expect(loadCredentialSets({ file })).toHaveLength(1);
    const broken = write("broken.json", '{ "sets": [ }');
    const err = configErrorOf(() => loadCredentialSets({ file: broken }));
    expect(err.message).toContain(`credential-set file ${broken} is invalid`);
    expect(err.issues[0]).toMatch(/^CREDENTIAL_SETS_FILE: is not valid JSON at line 1, column 13: /);
  });
});

describe("file problems name the setting", () => {
  it("reports a missing file under CREDENTIAL_SETS_FILE with the resolved path", () => {
    const err = configErrorOf(() => loadCredentialSets({ file: "missing/sets.json" }, { cwd: dir }));
    expect(err.issues).toEqual([
      `CREDENTIAL_SETS_FILE: ${path.join(dir, "missing/sets.json")} does not exist — check the path in CREDENTIAL_SETS_FILE (relative paths resolve against ${dir}), or deploy the credential-set JSON file with the app`,
    ]);
  });

  it("reports a folder given as the file", () => {
    mkdirSync(path.join(dir, "a-folder"), { recursive: true });
    const err = configErrorOf(() => loadCredentialSets({ file: path.join(dir, "a-folder") }));
    expect(issueAt(err, "CREDENTIAL_SETS_FILE")).toContain("is a folder, not a file");
  });

  it("reports an empty file", () => {
    const err = configErrorOf(() => loadCredentialSets({ file: write("empty.json", "\n") }));
    expect(issueAt(err, "CREDENTIAL_SETS_FILE")).toContain('is empty — it must hold a JSON object like { "sets": [ … ] }');
  });

  it("refuses a source with both or neither of file and json", () => {
    expect(configErrorOf(() => loadCredentialSets({})).issues.map(pathOf)).toEqual(["CREDENTIAL_SETS_FILE"]);
    expect(configErrorOf(() => loadCredentialSets({ file: "a.json", json: "{}" })).issues.map(pathOf)).toEqual(["CREDENTIAL_SETS_JSON"]);
  });
});

describe("loadConfig", () => {
  const storage = { AzureWebJobsStorage: "UseDevelopmentStorage=true" };

  it("loads inline CREDENTIAL_SETS_JSON", () => {
    const config = loadConfig({ ...storage, CREDENTIAL_SETS_JSON: JSON.stringify({ sets: [validCequenceSet()] }) });
    expect(config.sets.map((s) => s.name)).toEqual(["cequence-sso"]);
    expect(config.settings.credentialSetsSource).toEqual({ json: JSON.stringify({ sets: [validCequenceSet()] }) });
  });

  it("resolves a relative CREDENTIAL_SETS_FILE against cwd", () => {
    write("sets.json", JSON.stringify({ sets: [validCequenceSet(), validManualSet()] }));
    expect(loadConfig({ ...storage, CREDENTIAL_SETS_FILE: "sets.json" }, { cwd: dir }).sets).toHaveLength(2);
  });

  it("reports bad app settings and bad credential sets in one ConfigError", () => {
    const set = validCequenceSet();
    set.gateway.pageSize = 5000;
    const file = write("bad-sets.json", JSON.stringify({ sets: [set] }));
    const err = configErrorOf(() => loadConfig({ CREDENTIAL_SETS_FILE: file, ROTATION_SCHEDULE: "0 3 * * *", PROBE_TIMEOUT_MS: "-1" }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues.map(pathOf).sort()).toEqual(["AzureWebJobsStorage", "PROBE_TIMEOUT_MS", "ROTATION_SCHEDULE", "sets[0].gateway.pageSize"].sort());
    expect(err.message).toContain(`configuration (app settings, credential-set file ${file}) is invalid (4 problems)`);
  });

  it("names CREDENTIAL_SETS_FILE when the file it points at is missing", () => {
    const err = configErrorOf(() => loadConfig({ ...storage, CREDENTIAL_SETS_FILE: "nowhere.json" }, { cwd: dir }));
    expect(err.issues.map(pathOf)).toEqual(["CREDENTIAL_SETS_FILE"]);
    expect(err.issues[0]).toContain("does not exist");
  });

  it("reads EXTRA_CA_FILE outside Production and refuses a file that is not a PEM certificate", () => {
    const ca = write("ca.pem", FAKE_CA);
    const env = { ...storage, CREDENTIAL_SETS_JSON: JSON.stringify({ sets: [validManualSet()] }), AZURE_FUNCTIONS_ENVIRONMENT: "Development" };
    expect(loadConfig({ ...env, EXTRA_CA_FILE: ca }).extraCaPem).toBe(FAKE_CA);

    const notPem = write("ca.der", "0\x82\x01binary");
    expect(
      issueAt(
        configErrorOf(() => loadConfig({ ...env, EXTRA_CA_FILE: notPem })),
        "EXTRA_CA_FILE",
      ),
    ).toContain("export the emulator CA as PEM");

    const withKey = write("ca-and-key.pem", `${FAKE_CA}-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n`);
    expect(
      issueAt(
        configErrorOf(() => loadConfig({ ...env, EXTRA_CA_FILE: withKey })),
        "EXTRA_CA_FILE",
      ),
    ).toContain("contains a private key");

    expect(
      issueAt(
        configErrorOf(() => loadConfig({ ...env, EXTRA_CA_FILE: "no-such-ca.pem" }, { cwd: dir })),
        "EXTRA_CA_FILE",
      ),
    ).toContain("does not exist");
  });
});

describe("the config loader must not crash or hang", () => {
  const sets = (source: { file?: string; json?: string }) => configErrorOf(() => loadCredentialSets(source));

  it("the config loader must not crash or hang: deeply nested JSON is a ConfigError, from a file or the setting", () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    expect(sets({ json: deep }).issues[0]).toMatch(/^CREDENTIAL_SETS_JSON: nests objects or arrays 200000 levels deep .* — /);
    expect(sets({ file: write("deep.json", `{"sets":${deep}}`) }).issues[0]).toMatch(/^CREDENTIAL_SETS_FILE: nests objects or arrays/);
    // Unbalanced, so a parser would give up anyway — but the locator must not recurse into it either.
    expect(sets({ json: "{".repeat(100_000) }).issues[0]).toMatch(/levels deep/);
  });

  it("the config loader must not crash or hang: a FIFO is refused without opening it", () => {
    const fifo = path.join(dir, "sets.fifo");
    execFileSync("mkfifo", [fifo]);
    expect(sets({ file: fifo }).issues[0]).toMatch(/is not a regular file \(a named pipe\) — give the path of the credential-set JSON file/);
  });

  it("the config loader must not crash or hang: /dev/zero is refused, not read without limit", () => {
    expect(sets({ file: "/dev/zero" }).issues[0]).toMatch(/is not a regular file \(a device\)/);
  });

  it("the config loader must not crash or hang: the byte cap is enforced on what is read, and a huge setting is refused", () => {
    expect(sets({ file: write("big.json", `{"sets":[],"pad":"${"x".repeat(1024 * 1024 + 10)}"}`) }).issues[0]).toMatch(/is more than 1048576 bytes/);
    expect(sets({ json: `{"sets":[],"pad":"${"x".repeat(1024 * 1024 + 10)}"}` }).issues[0]).toMatch(/far more than a credential-set file should be/);
  });

  it("the config loader must not crash or hang: loadConfig reports a FIFO as a ConfigError too", () => {
    const fifo = path.join(dir, "sets2.fifo");
    execFileSync("mkfifo", [fifo]);
    const err = configErrorOf(() => loadConfig({ AzureWebJobsStorage: "UseDevelopmentStorage=true", CREDENTIAL_SETS_FILE: fifo }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(issueAt(err, "CREDENTIAL_SETS_FILE")).toContain("named pipe");
  });
});
