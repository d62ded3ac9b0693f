import { describe, expect, it } from "vitest";
import { runInProcess, runProcess } from "./harness.js";

/**
 * `--emulators`: every invocation starts the local emulators seeded as in `npm run demo` (a
 * hand-made secret expiring in 10 days, 25 MCP servers) and runs against them.
 */
describe("mcp-sso-rotator --emulators", () => {
  it("`plan --emulators --json` (real process) prints one JSON object with each set's planned action", async () => {
    const r = await runProcess(["plan", "--emulators", "--json"], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.json).toMatchObject({
      command: "plan",
      ok: true,
      exitCode: 0,
      sets: [
        {
          set: "cequence-sso",
          action: "rotate",
          reason: expect.stringMatching(/^current secret expires in 10 days, inside the 30-day renewal window/),
          plan: { targets: { total: 25 } },
        },
      ],
    });
    expect(r.stderr).toMatch(/local emulators: Entra https:\/\/127\.0\.0\.1:\d+/);
  });

  it("on a TTY, rotate draws a progress bar during propagation and keeps every step's log line", async () => {
    const r = await runInProcess(["rotate", "--emulators", "--emergency"], {}, { tty: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/propagating \|[█░]+\| \d+\/25 targets updated/);
    expect(r.stdout).toMatch(/propagating \|█{40}\| 25\/25 targets updated/);
    // Lines logged while the bar was drawn are not lost when it stops.
    expect(r.stdout).toMatch(/step propagate done: 25 updated, 0 already held the new secret: 25 of 25 hold it/);
    expect(r.stdout).toMatch(/→ SUCCEEDED \(emergency, pass 1\)/);
    // No plain progress lines on a terminal: the bar replaces them.
    expect(r.stdout).not.toMatch(/propagating: \d+\/25 targets updated/);
  });

  it("the production entry (src/cli/index.ts, no emulators in src/) answers --emulators with a usage error naming the dev entry", async () => {
    const r = await runInProcess(["plan", "--emulators", "--json"], {}, { entry: "production" });
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({
      ok: false,
      error: { code: "CLI_USAGE", message: expect.stringMatching(/--emulators is a development tool/), hint: expect.stringMatching(/scripts\/cli\.ts/) },
    });
  });

  it("check-config --emulators validates the emulator world's sets", async () => {
    const r = await runInProcess(["check-config", "--emulators", "--json"], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ command: "check-config", ok: true, sets: ["cequence-sso"] });
  });
});
