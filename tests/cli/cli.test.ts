import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Timer } from "@azure/functions";
import functions from "@azure/functions";
import type { ContainerClient } from "@azure/storage-blob";
import { World, freshContainer, type SeededSet } from "../harness/world.js";
import { BREAK_RECIPES } from "../harness/breakRecipes.js";
import { makeHealthTimerHandler } from "../../src/handlers/health.js";
import { acquireSetLease } from "../../src/rotation/lease.js";
import type { BuiltRuntime } from "../../src/runtime/createRuntime.js";
import { cliLeaks, exportOperatorIdentity, operatorSettings, runInProcess, runProcess, type CliRun } from "./harness.js";

const { InvocationContext } = functions;

/**
 * The operator CLI against the emulators, configured as an operator would be (app settings in the
 * environment, DefaultAzureCredential with the operator's service principal). Ground truth comes
 * from the emulators, not from what the CLI prints.
 */
let world: World;
let container: ContainerClient;
let cequence: SeededSet;
let manual: SeededSet;
let env: Record<string, string>;
/** A runtime on the same Storage, standing in for the Function App's timers. */
let host: BuiltRuntime;
const outputs: CliRun[] = [];

async function cli(args: string[]): Promise<CliRun> {
  const r = await runInProcess(args, env);
  outputs.push(r);
  return r;
}

beforeAll(async () => {
  world = await World.start({ replicationDelayMs: 0, receivers: true });
  cequence = world.seedSet({ name: "cli-gw", secretExpiresInDays: 10, targets: 5, otherTargets: 1, alerts: { webhook: "info" } });
  manual = world.seedSet({ name: "cli-manual", secretExpiresInDays: 10, targets: 0, otherTargets: 0, gatewayKind: "manual" });
  container = await freshContainer(inject("storageConnectionString"));
  env = operatorSettings(world, container, inject("storageConnectionString"), [cequence, manual]);
  // DefaultAzureCredential reads the service principal from the process environment (this test
  // file's own worker process), exactly as it would in an operator's shell.
  exportOperatorIdentity(env);
  host = world.runtime([cequence.set, manual.set], container);
});

afterAll(async () => {
  await world?.stop();
  expect(cliLeaks(world, outputs)).toEqual([]);
});

describe("mcp-sso-rotator CLI", () => {
  it("--help works through the bin (tsx shim) and every command has help with examples", async () => {
    const help = await runProcess(["--help"], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: mcp-sso-rotator");
    for (const c of ["plan", "rotate", "confirm", "probe", "status", "incidents", "check-config"]) expect(help.stdout).toContain(c);
    for (const c of ["plan", "rotate", "confirm", "probe", "status", "incidents", "check-config"]) {
      const r = await cli([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/Examples:\n {2}\$ npx mcp-sso-rotator/);
      expect(r.stdout, c).toContain("Exit codes: 0 ok");
    }
  });

  it("bad usage exits 2: no command, an unknown command or option, --force with --emergency, an unknown set", async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(["rotaet"])).code).toBe(2);
    expect((await cli(["plan", "--bogus"])).code).toBe(2);
    const both = await cli(["rotate", "--force", "--emergency"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot be used with/);
    const unknown = await cli(["plan", "--set", "nope", "--json"]);
    expect(unknown.code).toBe(2);
    expect(unknown.json).toMatchObject({ ok: false, exitCode: 2, error: { code: "SET_NOT_FOUND" } });
    expect(unknown.stderr).toMatch(/Use one of: cli-gw, cli-manual/);
  });

  it("check-config: valid settings exit 0 and list the sets; a broken credential-set file exits 2 naming the field", async () => {
    const ok = await cli(["check-config"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/app settings OK, 2 credential sets OK/);
    const okJson = await cli(["check-config", "--json"]);
    expect(okJson.json).toMatchObject({ command: "check-config", ok: true, exitCode: 0, sets: ["cli-gw", "cli-manual"] });

    const bad = path.join(os.tmpdir(), `bad-sets-${process.pid}.json`);
    writeFileSync(bad, JSON.stringify({ sets: [{ ...cequence.set, secret: { ...cequence.set.secret, lifetimeDays: 5000 } }] }));
    const r = await cli(["check-config", "--sets-file", bad, "--json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/secret\.lifetimeDays/);
    expect(r.json).toMatchObject({ ok: false, exitCode: 2 });
    expect((r.json["issues"] as string[]).some((i) => i.includes("lifetimeDays"))).toBe(true);
  });

  it("--settings reads the app settings from a Functions local.settings.json instead of the environment", async () => {
    const file = path.join(os.tmpdir(), `local.settings.${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: { ...env, FUNCTIONS_WORKER_RUNTIME: "node" } }));
    const r = await runInProcess(["plan", "--settings", file, "--set", "cli-gw", "--json"], {});
    outputs.push(r);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ sets: [{ set: "cli-gw", action: "rotate" }] });
    const none = await runInProcess(["plan", "--json"], {});
    expect(none.code).toBe(2);
    expect(none.json).toMatchObject({ error: { code: "CONFIG_INVALID" } });
    expect(none.stderr).toMatch(/AzureWebJobsStorage: is not set/);
  });

  it("settings identity overridden by the shell's: the service principal a --settings file names is the one used, even when the shell exports another principal of another tenant", async () => {
    const file = path.join(os.tmpdir(), `local.settings.identity.${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: { ...env, FUNCTIONS_WORKER_RUNTIME: "node" } }));
    const keys = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"] as const;
    const shell = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    Object.assign(process.env, { AZURE_TENANT_ID: randomUUID(), AZURE_CLIENT_ID: randomUUID(), AZURE_CLIENT_SECRET: "a-shell-principal-of-another-tenant" });
    try {
      const r = await runInProcess(["plan", "--settings", file, "--set", "cli-gw", "--json"], {});
      outputs.push(r);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ sets: [{ set: "cli-gw", action: "rotate" }] });
    } finally {
      for (const k of keys) {
        if (shell[k] === undefined) delete process.env[k];
        else process.env[k] = shell[k];
      }
    }
  });

  it("plan: human lines and --json; reads only (Entra and Key Vault unchanged)", async () => {
    const credsBefore = world.entra.passwordCredentials(cequence.appObjectId).length;
    const human = await cli(["plan", "--set", "cli-gw"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/cli-gw: ROTATE \(scheduled\) — current secret expires in 10 days/);
    expect(human.stdout).toMatch(/targets {10}5: cli-gw-mcp-01/);

    const json = await cli(["plan", "--json"]);
    expect(json.code).toBe(0);
    expect(json.json).toMatchObject({ command: "plan", ok: true, exitCode: 0 });
    const sets = json.json["sets"] as { set: string; action: string }[];
    expect(sets.map((s) => [s.set, s.action])).toEqual([
      ["cli-gw", "rotate"],
      ["cli-manual", "rotate"],
    ]);
    // stdout holds nothing but the one JSON object; the human lines went to stderr.
    expect(json.stdout.trim().split("\n")).toHaveLength(1);
    expect(json.stderr).toContain("cli-gw: ROTATE");
    expect(world.entra.passwordCredentials(cequence.appObjectId)).toHaveLength(credsBefore);
  });

  it("lease conflict: while a pass holds the set's lease, rotate exits 3 with ROTATION_IN_PROGRESS (real process)", async () => {
    const lease = await acquireSetLease(container, "cli-gw", { durationSeconds: 30 });
    try {
      const r = await runProcess(["rotate", "--set", "cli-gw", "--force", "--json"], env);
      outputs.push(r);
      expect(r.code, r.stderr).toBe(3);
      expect(r.json).toMatchObject({ command: "rotate", ok: false, exitCode: 3, sets: [{ set: "cli-gw", code: 3, error: { code: "ROTATION_IN_PROGRESS" } }] });
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/another pass holds the lease/);
    } finally {
      await lease.release();
    }
    // Nothing was created while the lease was held.
    expect(world.entra.passwordCredentials(cequence.appObjectId).filter((c) => c.displayName?.startsWith("mcp-sso-rotator/"))).toHaveLength(0);
  });

  it("rotate --force --wait (plain output): rotates, propagates with plain progress lines, stops at the grace period; exit 0", async () => {
    const r = await cli(["rotate", "--set", "cli-gw", "--force", "--wait", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/propagating the new secret to 5 target\(s\)…/);
    expect(r.stderr).toMatch(/propagating: 5\/5 targets updated/);
    expect(r.stderr).toMatch(/step verify-targets done: 5\/5 targets hold the new secret/);
    expect(r.stderr).toMatch(/rotate --emergency` retires it now/);
    expect(r.json).toMatchObject({
      command: "rotate",
      ok: true,
      exitCode: 0,
      sets: [{ set: "cli-gw", status: "waiting", step: "retire", targets: { verified: 5, total: 5 }, code: 0 }],
    });
    // Ground truth: every server of the app holds Key Vault's new current value.
    const current = world.keyVault
      .versions(cequence.set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1)!;
    const servers = world.gateway.servers().filter((s) => s.clientId === cequence.set.clientId);
    expect(servers.every((s) => s.clientSecret === current.value)).toBe(true);
  });

  it("rotate --emergency finishes the waiting run at once: the previous secret is retired; exit 0", async () => {
    const r = await cli(["rotate", "--set", "cli-gw", "--emergency"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/→ SUCCEEDED \(emergency, pass 2\)/);
    expect(r.stdout).toMatch(/retire {10}done/);
    expect(world.entra.passwordCredentials(cequence.appObjectId).some((c) => c.keyId === cequence.handMade.keyId)).toBe(false);
  });

  it("probe: all checks pass → exit 0; after a redirect URI breaks (AADSTS50011) → exit 1 with the failing check and its hint", async () => {
    const good = await cli(["probe", "--set", "cli-gw"]);
    expect(good.code, good.stdout).toBe(0);
    expect(good.stdout).toMatch(/cli-gw: all checks pass \(9 checks/);

    const clients = await host.clientsFor(cequence.set);
    await BREAK_RECIPES["50011"]!.apply({ world, set: cequence.set, appObjectId: cequence.appObjectId, clients });
    const bad = await cli(["probe", "--set", "cli-gw", "--json"]);
    expect(bad.code).toBe(1);
    const checks = (bad.json["sets"] as { checks: { id: string; status: string; aadsts?: number; hint: string }[] }[])[0]!.checks;
    expect(checks.find((c) => c.id === "authorize")).toMatchObject({ status: "fail", aadsts: 50011 });
    expect(bad.stderr).toMatch(/FAIL {2}authorize .*AADSTS50011/);
    expect(bad.stderr).toMatch(/→ Add https:\/\/auth\.aigateway\.cequence\.ai/);
  });

  it("status and incidents: the failing set shows FAILING with its open incidents (exit 1); --resolve closes one and tells the channel", async () => {
    // The Function App's health timer (same Storage) turns the failing probe into incidents.
    await makeHealthTimerHandler(() => Promise.resolve(host))(
      { isPastDue: false } as unknown as Timer,
      new InvocationContext({ functionName: "healthTimer", logHandler: () => undefined }),
    );

    const status = await cli(["status", "--set", "cli-gw"]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^cli-gw {2}FAILING/m);
    expect(status.stdout).toMatch(/targets {9}5\/5 verified/);
    expect(status.stdout).toMatch(/current {9}\S+ hint .* ends \d{4}-\d\d-\d\d \(180 d left\)/);
    expect(status.stdout).toMatch(/FAIL authorize \[critical\] AADSTS50011/);
    expect(status.stdout).toMatch(/\[critical\] mcp-sso-rotator\.cli-gw\.authorize/);
    const statusJson = await cli(["status", "--set", "cli-gw", "--json"]);
    expect(statusJson.json).toMatchObject({
      command: "status",
      ok: false,
      exitCode: 1,
      sets: [{ set: "cli-gw", verdict: "failing", targets: { verified: 5, total: 5 } }],
    });

    const list = await cli(["incidents", "--json"]);
    expect(list.code).toBe(0);
    const open = list.json["open"] as { dedupKey: string }[];
    expect(open.map((i) => i.dedupKey)).toContain("mcp-sso-rotator.cli-gw.authorize");

    const before = world.receivers!.webhook.accepted().length;
    const resolved = await cli(["incidents", "--resolve", "mcp-sso-rotator.cli-gw.authorize"]);
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toMatch(/resolved mcp-sso-rotator\.cli-gw\.authorize; resolve sent to webhook/);
    expect((await host.alerting.manager.listOpen("cli-gw")).map((i) => i.dedupKey)).not.toContain("mcp-sso-rotator.cli-gw.authorize");
    const sent = world
      .receivers!.webhook.accepted()
      .slice(before)
      .map((a) => a.body as unknown as { type: string; incident: { dedupKey: string } });
    expect(sent).toContainEqual(
      expect.objectContaining({ type: "resolved", incident: expect.objectContaining({ dedupKey: "mcp-sso-rotator.cli-gw.authorize" }) }),
    );

    const again = await cli(["incidents", "--resolve", "mcp-sso-rotator.cli-gw.authorize", "--json"]);
    expect(again.code).toBe(2);
    expect(again.json).toMatchObject({ ok: false, error: { code: "INCIDENT_NOT_FOUND" } });
  });

  it("confirm: a manual gateway's run waits for an operator; confirm resumes it; wrong run IDs exit 1 or 2", async () => {
    const rotate = await cli(["rotate", "--set", "cli-manual", "--json"]);
    expect(rotate.code, rotate.stderr).toBe(0);
    const [outcome] = rotate.json["sets"] as { runId: string; status: string }[];
    expect(outcome!.status).toBe("awaiting_confirmation");
    expect(rotate.stderr).toMatch(new RegExp(`next: update the MCP servers by hand, then \`mcp-sso-rotator confirm ${outcome!.runId}\``));

    const missing = await cli(["confirm", "20990101T000000Z-deadbeef", "--json"]);
    expect(missing.code).toBe(2);
    expect(missing.json).toMatchObject({ error: { code: "RUN_NOT_FOUND" } });

    const confirmed = await cli(["confirm", outcome!.runId, "--by", "alice", "--json"]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.json).toMatchObject({ command: "confirm", ok: true, confirmedBy: "alice", runId: outcome!.runId, status: "waiting", step: "retire" });
    expect((await host.journals.findRun(outcome!.runId))!.confirmedBy).toBe("alice");

    const twice = await cli(["confirm", outcome!.runId]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/RUN_NOT_AWAITING_CONFIRMATION/);
  });
});

describe("issue 26, defect 2: terminal escapes in the CLI", () => {
  /** What a Graph display name or a gateway server name can carry to a terminal. */
  const HOSTILE = [
    "srv-\u001b]8;;https://evil.example/login\u0007Re-authenticate\u001b]8;;\u0007",
    "title-\u001b]0;owned\u0007",
    "clear-\u001b[2J\u001b[H",
    "cr-ok\rFAILING",
    "bs-abc\b\b\bxyz",
    "c1-\u009b31mred",
    "bidi-\u202egnp.exe",
  ];
  /** Control characters a terminal acts on: all but the line break. */
  const CONTROLS = /(?!\n)[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;

  it("plan and status print no control character from Graph or the gateway, human or --json; JSON carries \\u009b escaped", async () => {
    const hostile = world.seedSet({ name: "cli-hostile", secretExpiresInDays: 10, targets: 1, otherTargets: 0 });
    const tokenUrl = `${world.authorityHost}/${world.tenantId}/oauth2/v2.0/token`;
    for (const name of HOSTILE) {
      world.gateway.seedServer({
        name,
        tokenName: "entra-sso",
        tokenUrl,
        clientId: hostile.set.clientId,
        clientSecret: hostile.handMade.secretText,
        scopes: ["openid"],
        additionalParameters: { tenantID: world.tenantId },
      });
      world.entra.seedPassword(hostile.appObjectId, { displayName: name, endDateTime: new Date(Date.now() + 30 * 86_400_000).toISOString() });
    }
    const hostileEnv = operatorSettings(world, container, inject("storageConnectionString"), [hostile]);
    const runs = [];
    for (const args of [["plan"], ["plan", "--json"], ["status"], ["status", "--json"]]) {
      const r = await runInProcess([...args, "--set", "cli-hostile"], hostileEnv);
      outputs.push(r);
      runs.push(r);
    }
    const printed = runs.map((r) => r.stdout + r.stderr).join("");
    // The hostile names did reach the output (escaped), so the check below is not vacuous.
    expect(printed).toContain("srv-\\u001b]8;;https://evil.example/login\\u0007Re-authenticate");
    expect(printed.match(CONTROLS) ?? []).toEqual([]);
    for (const r of runs.filter((_r, i) => i % 2 === 1)) {
      expect(r.stdout).not.toContain("\u009b");
      expect(r.stdout).toContain("c1-\\u009b31mred");
      expect(() => JSON.parse(r.stdout.trim()) as unknown).not.toThrow();
    }
  });
});

describe("issue 26, defect 8: the settings file is echoed", () => {
  it("a local.settings.json that does not parse is named by line and column, and none of its content is printed", async () => {
    const secret = "Zq8Q~hidden-value-kept-0123456789abcdxy";
    const broken: [string, string][] = [
      ["an unquoted value", `{\n  "IsEncrypted": false,\n  "Values": {\n    "AZURE_CLIENT_SECRET": ${secret}\n  }\n}`],
      ["a missing comma after the secret", `{\n  "Values": {\n    "AZURE_CLIENT_SECRET": "${secret}"\n    "X": "1"\n  }\n}`],
      ["a line break inside the secret", `{\n  "Values": {\n    "AZURE_CLIENT_SECRET": "${secret.slice(0, 20)}\n${secret.slice(20)}"\n  }\n}`],
      ["a trailing comma", `{\n  "Values": {\n    "AZURE_CLIENT_SECRET": "${secret}",\n  }\n}`],
      ["a bad escape inside the secret", `{\n  "Values": {\n    "AZURE_CLIENT_SECRET": "${secret.slice(0, 20)}\\q${secret.slice(20)}"\n  }\n}`],
    ];
    for (const [what, text] of broken) {
      const file = path.join(os.tmpdir(), `local.settings.broken.${process.pid}.json`);
      writeFileSync(file, text);
      for (const args of [
        ["plan", "--settings", file, "--json"],
        ["check-config", "--settings", file],
      ]) {
        const r = await runInProcess(args, {});
        expect(r.code, what).toBe(2);
        const printed = r.stdout + r.stderr;
        expect(printed, what).toMatch(/not valid JSON at line \d+, column \d+/);
        const leaks = Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8)).filter((w) => printed.includes(w));
        expect(leaks, what).toEqual([]);
      }
    }
  });
});
