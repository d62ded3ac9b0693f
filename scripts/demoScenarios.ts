/**
 * `npm run demo -- --scenario <name> [--json]` scenarios of Entra's sign-in evidence (issue 15),
 * run against the same local emulators as the demo. Each prints what happened, and with `--json`
 * a last line of JSON; it passes (exit 0) only when the condition was detected, read back from the
 * emulators' ground truth.
 *   old-secret-still-used — a consumer outside the gateway keeps signing in with the previous
 *     secret: retirement is held and a retire-held incident says when and what to do.
 *   users-failing — "Assignment required" is turned on: real users fail with AADSTS50105 and the
 *     sign-in monitor raises the incident with the setup guide's remedy.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import functions, { type Timer } from "@azure/functions";
const { InvocationContext } = functions;
import { startAzurite } from "../emulators/azurite.js";
import { World, freshContainer } from "../tests/harness/world.js";
import { makeHealthTimerHandler } from "../src/handlers/health.js";
import { HttpClient } from "../src/http/client.js";
import { memoryLogger } from "../src/logging.js";
import { RETIRE_HELD_CHECK } from "../src/rotation/retirementEvidence.js";
import type { BuiltRuntime } from "../src/runtime/createRuntime.js";
import { SecretScanner } from "../tests/helpers/secretScan.js";

export const EVIDENCE_SCENARIOS = ["old-secret-still-used", "users-failing"] as const;
export type EvidenceScenario = (typeof EVIDENCE_SCENARIOS)[number];

const HOUR = 3_600_000;

export async function runEvidenceScenario(name: EvidenceScenario, json: boolean): Promise<number> {
  const out: string[] = [];
  const say = (line = ""): void => void out.push(line);
  const location = mkdtempSync(path.join(os.tmpdir(), "rotator-scenario-"));
  const azurite = await startAzurite({ location });
  const world = await World.start({ receivers: true });
  // A consumer and a user outside the rotator, over the same HTTP layer (no retries: one attempt is one sign-in).
  const http = new HttpClient({ ca: world.caCertPem, retry: { maxRetries: 0 } });
  try {
    const seeded = world.seedSet({ name: "cequence-sso", secretExpiresInDays: 10, targets: 5, otherTargets: 0, alerts: { webhook: "info" } });
    const { set } = seeded;
    const container = await freshContainer(azurite.connectionString, "scenario");
    const holder: { runtime?: BuiltRuntime } = {};
    const runtime = world.runtime([set], container, { onRotationEvent: (e, l) => holder.runtime!.alerting.onRotationEvent(e, l) });
    holder.runtime = runtime;
    const mem = memoryLogger(runtime.redactor);
    const scan = new SecretScanner().addSecrets(world.secrets());
    say(`scenario ${name} — local emulators only (no Azure); app ${set.clientId}, 5 MCP servers`);

    let report: Record<string, unknown>;
    let detected: boolean;
    if (name === "old-secret-still-used") {
      const runner = await runtime.createRunner(set, mem.logger);
      const first = await runner.runPass({ mode: "scheduled", trigger: "demo" });
      say(`pass 1 → ${first.status}: ${first.journal.steps.at(-1)?.name} ${first.journal.steps.at(-1)?.detail ?? ""}`);
      // A script outside the gateway copied the old secret and keeps using it.
      for (const gap of [2, 12, 10]) {
        world.clock.advance(gap * HOUR);
        const status = await clientCredentials(world, http, set.clientId, seeded.handMade.secretText);
        say(`  +${gap} h: an outside consumer signs in with the previous secret → ${status}`);
      }
      world.clock.advance(HOUR);
      const held = await runner.runPass({ mode: "scheduled", trigger: "demo" });
      const step = held.journal.steps.at(-1);
      say(`grace period over; pass 2 → ${held.status}: ${step?.name} ${step?.status} — ${step?.detail ?? ""}`);
      const incident = (await runtime.alerting.manager.listOpen(set.name)).find((i) => i.check === RETIRE_HELD_CHECK);
      const stillLive = world.entra.passwordCredentials(seeded.appObjectId).some((p) => p.keyId === seeded.handMade.keyId);
      if (incident) {
        say(`open incident [${incident.severity}] ${incident.check}: ${incident.title}`);
        say(`  what to do: ${incident.hint}`);
      }
      say(`ground truth: the previous credential ${seeded.handMade.keyId} is ${stillLive ? "still live at Entra" : "GONE"}`);
      const retireHeld = held.status === "waiting" && step?.name === "retire" && stillLive;
      detected = retireHeld && incident !== undefined;
      report = {
        scenario: name,
        retireHeld,
        previousKeyId: seeded.handMade.keyId,
        previousStillLive: stillLive,
        incident: incident
          ? { check: incident.check, severity: incident.severity, title: incident.title, hint: incident.hint, evidence: incident.evidence }
          : null,
      };
      scan.collect("incident", incident ?? {});
      for (const runId of await runtime.journals.listRuns(set.name)) scan.collect(`journal ${runId}`, await runtime.journals.readRun(set.name, runId));
    } else {
      world.entra.seedServicePrincipal(set.clientId, {
        appRoleAssignmentRequired: true,
        assignments: [{ principalType: "User", principalDisplayName: "alice@contoso.example" }],
      });
      say(`an admin turned on "Assignment required?" for the enterprise application and assigned only one user`);
      for (const user of ["alice@contoso.example", "bob@contoso.example", "carol@contoso.example", "bob@contoso.example", "dave@contoso.example"]) {
        const status = await world.userSignsIn(http, set.clientId, user);
        say(`  a user signs in through the gateway → ${status === 302 ? "signed in" : "error page"}`);
      }
      const logLines: string[] = [];
      const ctx = new InvocationContext({
        functionName: "healthTimer",
        invocationId: "healthTimer",
        logHandler: (l, ...a) => logLines.push(`${l} ${a.join(" ")}`),
      });
      const [probe] = await makeHealthTimerHandler(() => Promise.resolve(runtime))({ isPastDue: false } as unknown as Timer, ctx);
      const check = probe!.checks.find((c) => c.id === "sign-ins")!;
      say(`health probe, check sign-ins → ${check.status}/${check.severity}: ${check.summary}`);
      say(`  remedy: ${check.hint}`);
      const incident = (await runtime.alerting.manager.listOpen(set.name)).find((i) => i.check === "sign-ins");
      if (incident) say(`open incident [${incident.severity}] ${incident.check}: ${incident.title}`);
      detected = check.status === "fail" && check.aadsts === 50105 && incident !== undefined;
      report = {
        scenario: name,
        signInMonitor: {
          check: check.id,
          status: check.status,
          severity: check.severity,
          aadsts: check.aadsts ?? null,
          summary: check.summary,
          remedy: check.hint,
          evidence: check.evidence,
        },
        incident: incident ? { check: incident.check, severity: incident.severity, title: incident.title } : null,
      };
      scan.collectAll("log", logLines).collect("probe", probe);
    }
    scan.collectAll("log", mem.lines).collectAll("output", out).collect("report", report).collectAll("alerts", world.receivers!.webhook.accepted());
    const leaks = scan.leaks().length;
    say(`${detected ? "DETECTED" : "NOT DETECTED"}; secret scan: ${leaks === 0 ? "no secret values found" : `${leaks} LEAK(S)`}`);
    console.log(out.join("\n"));
    if (json) console.log(JSON.stringify({ ...report, detected, secretLeaks: leaks }));
    return detected && leaks === 0 ? 0 : 1;
  } finally {
    await world.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
}

async function clientCredentials(world: World, http: HttpClient, clientId: string, secret: string): Promise<number> {
  const form = { grant_type: "client_credentials", client_id: clientId, client_secret: secret, scope: "https://graph.microsoft.com/.default" };
  const res = await http.request({ method: "POST", url: `${world.authorityHost}/${world.tenantId}/oauth2/v2.0/token`, form, throwOnHttpError: false });
  return res.status;
}
