/**
 * `npm run demo` — a full unattended rotation against the embedded local emulators:
 * Azurite, Entra + Graph, Key Vault and the gateway, seeded with the setup guide's world (one app,
 * a hand-made secret in Key Vault expiring in 10 days, 25 MCP servers using it, 3 using another
 * app). Runs the rotation timer and the queue worker as the Functions host would, lets a simulated
 * grace period pass, and prints a report. `--json` prints the report as one JSON object last.
 * Exit code 0 only when the rotation really completed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import functions, { type Timer } from "@azure/functions";
// @azure/functions is CommonJS; Node's ESM loader only sees some of its named exports.
const { InvocationContext, output } = functions;
import { startAzurite } from "../emulators/azurite.js";
import { World, freshContainer } from "../tests/harness/world.js";
import { startDemoWorld } from "../tests/harness/demoWorld.js";
import { makeRotationTimerHandler, makeRotationWorkerHandler } from "../src/handlers/rotationWorker.js";
import type { RotationMessage } from "../src/handlers/rotationMessage.js";
import type { PassResult, RunJournal } from "../src/rotation/model.js";
import { SecretScanner } from "../tests/helpers/secretScan.js";
import { BREAK_RECIPES } from "../tests/harness/breakRecipes.js";
import { makeHealthTimerHandler } from "../src/handlers/health.js";
import { diagnose, type ProbeReport } from "../src/probe/index.js";
import { LIFECYCLE_SCENARIOS, Lifecycle } from "../tests/harness/lifecycle.js";
import { EVIDENCE_SCENARIOS, runEvidenceScenario, type EvidenceScenario } from "./demoScenarios.js";
import { STUCK_KINDS, runMixedEstate } from "./demoMixedEstate.js";

interface Args {
  json: boolean;
  breakCode?: string;
  scenario?: string;
  stuck?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") args.json = true;
    else if (a === "--break") args.breakCode = argv[++i];
    else if (a.startsWith("--break=")) args.breakCode = a.slice("--break=".length);
    else if (a === "--scenario") args.scenario = argv[++i];
    else if (a.startsWith("--scenario=")) args.scenario = a.slice("--scenario=".length);
    else if (a === "--stuck") args.stuck = argv[++i];
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: npm run demo [-- --json] [-- --break 50011|700016|7000215|50105|65001] [-- --scenario " +
          SCENARIO_NAMES.join("|") +
          "] [-- --stuck " +
          STUCK_KINDS.join("|") +
          " (mixed-estate only)]",
      );
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}; see --help`);
      process.exit(2);
    }
  }
  return args;
}

/** Lifecycle scenarios (issue 8), Entra-evidence scenarios (issue 15) and the mixed estate (issue 24). */
const SCENARIO_NAMES = [...Object.keys(LIFECYCLE_SCENARIOS), ...EVIDENCE_SCENARIOS, "mixed-estate"];

const out: string[] = [];
function say(line = ""): void {
  out.push(line);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.breakCode !== undefined && !BREAK_RECIPES[args.breakCode]) {
    console.error(`--break takes one of ${Object.keys(BREAK_RECIPES).join(", ")}; got "${args.breakCode}"`);
    return 2;
  }
  if (args.stuck !== undefined && (args.scenario !== "mixed-estate" || !(STUCK_KINDS as readonly string[]).includes(args.stuck))) {
    console.error(`--stuck goes with --scenario mixed-estate and takes one of ${STUCK_KINDS.join(", ")}; got "${args.stuck}"`);
    return 2;
  }
  if (args.scenario === "mixed-estate") {
    const { code, lines, report } = await runMixedEstate({ ...(args.stuck ? { stuck: args.stuck as (typeof STUCK_KINDS)[number] } : {}) });
    console.log(lines.join("\n"));
    if (args.json) console.log(JSON.stringify(report));
    return code;
  }
  if (args.scenario !== undefined) {
    if ((EVIDENCE_SCENARIOS as readonly string[]).includes(args.scenario)) return runEvidenceScenario(args.scenario as EvidenceScenario, args.json);
    if (!LIFECYCLE_SCENARIOS[args.scenario]) {
      console.error(`--scenario takes one of ${SCENARIO_NAMES.join(", ")}; got "${args.scenario}"`);
      return 2;
    }
    return runScenario(args.scenario, args.json);
  }
  const started = Date.now();
  const logLines: string[] = [];
  const location = mkdtempSync(path.join(os.tmpdir(), "rotator-demo-"));
  const { azurite, world, seeded } = await startDemoWorld({ azurite: { location }, world: { replicationDelayMs: 400 } });
  try {
    const { set } = seeded;
    const container = await freshContainer(azurite.connectionString, "demo");
    const runtime = world.runtime([set], container);
    const getRuntime = () => Promise.resolve(runtime);
    const othersBefore = new Map(
      world.gateway
        .servers()
        .filter((s) => s.clientId === seeded.otherClientId)
        .map((s) => [s.id, s.clientSecret]),
    );
    const queue = output.storageQueue({ queueName: runtime.queueName, connection: "AzureWebJobsStorage" });
    const context = (functionName: string, dequeueCount = 1) =>
      new InvocationContext({
        functionName,
        invocationId: `${functionName}-${Date.now()}`,
        triggerMetadata: { dequeueCount },
        logHandler: (level, ...a) => logLines.push(`${level} ${a.join(" ")}`),
      });

    say("mcp-sso-rotator demo — everything below ran against local emulators (no Azure)");
    say(`  tenant ${world.tenantId}  app ${set.clientId}`);
    say(`  Key Vault ${set.keyVault.url} secret "${set.keyVault.secretName}" holds a hand-made secret expiring in 10 days`);
    say(`  gateway ${world.gateway.url}: 25 MCP servers use this client ID, 3 use another app`);
    say();

    // 1. The timer enqueues one message per set; 2. the worker runs a pass per message.
    const timerCtx = context("rotationTimer");
    await makeRotationTimerHandler(getRuntime, queue)({ isPastDue: false, scheduleStatus: undefined } as unknown as Timer, timerCtx);
    const messages = (timerCtx.extraOutputs.get(queue) as RotationMessage[]) ?? [];
    say(`rotationTimer queued ${messages.length} message(s): ${messages.map((m) => `${m.set}/${m.mode}`).join(", ")}`);
    const worker = makeRotationWorkerHandler(getRuntime);
    const passes: PassResult[] = [];
    for (const m of messages) {
      const r = await worker(JSON.stringify(m), context("rotationWorker"));
      if (r) passes.push(r);
    }
    const first = passes[0];
    if (!first) throw new Error("the worker did not run a pass");
    const plan = first.journal.plan!;
    say();
    say("Plan");
    say(`  action: ${plan.action} — ${plan.reason}`);
    say(`  renewal window: ${plan.renewWindowDays} days; new lifetime ${plan.lifetimeDays} days; grace period ${plan.gracePeriodHours} h`);
    if (plan.adoption) say(`  adoption of the hand-made secret: ${plan.adoption.status} — ${plan.adoption.detail}`);
    say(`  targets discovered: ${plan.targets.total}`);
    say();
    say(`Pass 1 (run ${first.runId}) → ${first.status}`);
    printSteps(first.journal);

    // The grace period passes on a simulated clock; the next scheduled pass retires the old secret.
    world.clock.advance((set.secret.gracePeriodHours + 1) * 3_600_000);
    say();
    say(`…${set.secret.gracePeriodHours + 1} hours later (simulated clock), the next timer tick:`);
    const timerCtx2 = context("rotationTimer");
    await makeRotationTimerHandler(getRuntime, queue)({ isPastDue: false } as unknown as Timer, timerCtx2);
    let final: PassResult | undefined;
    for (const m of (timerCtx2.extraOutputs.get(queue) as RotationMessage[]) ?? []) {
      final = (await worker(JSON.stringify(m), context("rotationWorker"))) ?? final;
    }
    if (!final) throw new Error("the second pass did not run");
    say(`Pass 2 (run ${final.runId}) → ${final.status}`);
    printSteps({ ...final.journal, steps: final.journal.steps.slice(first.journal.steps.length) });

    // Ground truth from the emulators, not from our own journal.
    const current = world.keyVault
      .versions(set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1);
    const mine = world.gateway.servers().filter((s) => s.clientId === set.clientId);
    const others = world.gateway.servers().filter((s) => s.clientId === seeded.otherClientId);
    const updated = mine.filter((s) => s.clientSecret === current?.value).length;
    const accepted = world.gateway.secretsAcceptedNow().filter((s) => mine.some((m) => m.id === s.id) && s.accepted).length;
    const verified = final.journal.targets.filter((t) => t.verified).length;
    const untouched = others.filter((s) => othersBefore.get(s.id) === s.clientSecret).length;
    const creds = world.entra.passwordCredentials(seeded.appObjectId);
    const retired = !creds.some((c) => c.keyId === seeded.handMade.keyId);
    const newKeyId = final.journal.newCredential?.keyId;
    const rotated = final.status === "succeeded" && !!newKeyId && current?.tags["keyId"] === newKeyId && updated === mine.length && accepted === mine.length;

    const scan = new SecretScanner().addSecrets(world.secrets());
    scan.collectAll("log", logLines);
    for (const runId of await runtime.journals.listRuns(set.name)) scan.collect(`journal ${runId}`, await runtime.journals.readRun(set.name, runId));
    scan.collect(
      "vault tags",
      world.keyVault.versions(set.keyVault.secretName).map((v) => v.tags),
    );

    say();
    say("Result (read back from the emulators)");
    say(`  new credential ${newKeyId} is current in Key Vault (tags keyId/appId/runId/expiresOn/previousKeyId/retireAfter)`);
    say(
      `  targets: ${updated}/${mine.length} updated, ${verified}/${mine.length} verified (fingerprint + test connection), ${accepted}/${mine.length} accepted by Entra now`,
    );
    say(`  other app's servers untouched: ${untouched}/${others.length}`);
    say(`  old hand-made secret ${seeded.handMade.keyId} ${retired ? "retired (removePassword) and its Key Vault version disabled" : "NOT retired"}`);
    say(`  app credentials now: ${creds.map((c) => `${c.keyId} (${c.displayName})`).join(", ")}`);
    say(`  ${rotated && retired ? "ROTATION COMPLETE" : "ROTATION INCOMPLETE"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Health: the probe timer as the host runs it, optionally after breaking one seed-table row.
    let probeSet = set;
    let breakDetected: boolean | undefined;
    if (args.breakCode) {
      const recipe = BREAK_RECIPES[args.breakCode]!;
      say();
      say(`--break ${args.breakCode}: ${recipe.description}`);
      const clients = await runtime.clientsFor(set);
      probeSet = (await recipe.apply({ world, set, appObjectId: seeded.appObjectId, clients })).set;
    }
    const probeRuntime = probeSet === set ? runtime : world.runtime([probeSet], container);
    const reports = await makeHealthTimerHandler(() => Promise.resolve(probeRuntime))({ isPastDue: false } as unknown as Timer, context("healthTimer"));
    const probe: ProbeReport = reports[0]!;
    const failingChecks = probe.checks.filter((c) => c.status === "fail" || c.status === "warn" || c.status === "error");
    say();
    say(`Health probe (${probe.checks.length} checks in ${probe.durationMs} ms) → ${probe.ok ? "OK" : "FAILING"}`);
    for (const c of probe.checks) say(`  ${c.status.padEnd(5)} ${c.id.padEnd(17)} ${c.summary}${c.aadsts ? ` [AADSTS${c.aadsts}]` : ""}`);
    const hits = diagnose(probe);
    for (const h of hits) {
      say(`  seed table row "${h.row.problem}" detected by ${h.checks.map((c) => c.id).join(", ")}`);
      say(`    remedy: ${h.row.remedy}`);
    }
    if (args.breakCode) {
      const code = Number(args.breakCode);
      breakDetected = hits.some((h) => h.row.code === code || h.checks.some((c) => c.aadsts === code));
      say(`  ${breakDetected ? "DETECTED" : "NOT DETECTED"}: AADSTS${code}`);
    }
    const rx = world.receivers!;
    const alerts = rx.acceptedCounts();
    say();
    say("Alerts received by the local channel receivers (minimum severity: Teams warning, Slack warning, PagerDuty critical, Opsgenie error, webhook info)");
    for (const [k, v] of Object.entries(alerts)) say(`  ${k.padEnd(10)} ${v} notification(s)`);
    const incidents = await probeRuntime.alerting.manager.listOpen(probeSet.name);
    for (const i of incidents) say(`  open incident [${i.severity}] ${i.check}: ${i.title}`);
    scan.collectAll("receiver", [rx.teams.accepted(), rx.slack.accepted(), rx.opsgenie.accepted(), rx.webhook.accepted()]);
    scan.collectAll(
      "pagerduty",
      rx.pagerduty.accepted().map((a) => ({ ...a, body: { ...(a.body as object), routing_key: undefined } })),
    );
    scan.collectAll("probe", reports).collectAll("demo output", out).collectAll("late log", logLines);
    const allLeaks = scan.leaks();

    const report = {
      rotated: rotated && retired,
      set: set.name,
      runId: final.runId,
      newKeyId,
      plan: { action: plan.action, reason: plan.reason, adoption: plan.adoption?.status ?? null, lifetimeDays: plan.lifetimeDays },
      steps: final.journal.steps.map((s) => ({ name: s.name, status: s.status, durationMs: s.durationMs })),
      targets: { total: mine.length, updated, verified, untouched },
      retired,
      secretLeaks: allLeaks.length,
      health: {
        ok: probe.ok,
        failing: failingChecks.map((c) => ({ check: c.id, severity: c.severity, status: c.status, ...(c.aadsts !== undefined ? { aadsts: c.aadsts } : {}) })),
      },
      alerts,
      ...(args.breakCode ? { break: { code: Number(args.breakCode), detected: breakDetected } } : {}),
    };
    say();
    say(
      `Secret scan over logs, journals, Key Vault tags, probe results, alert payloads and this report: ${allLeaks.length === 0 ? "no secret values found" : `${allLeaks.length} LEAK(S): ${allLeaks.map((l) => l.where).join(", ")}`}`,
    );
    if (args.json) {
      console.log(out.join("\n"));
      console.log(JSON.stringify(report));
    } else {
      console.log(out.join("\n"));
    }
    const ok = report.rotated && allLeaks.length === 0 && (args.breakCode ? breakDetected === true : probe.ok);
    return ok ? 0 : 1;
  } finally {
    await world.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
}

/**
 * `--scenario <name>`: one of the lifecycle scenarios (a living estate: servers deleted, moved,
 * cloned from old copies, a token revoked after promote, an emergency mid-pass), narrated pass by
 * pass, then judged from the emulators' ground truth. Exit 0 only when the estate converged.
 */
async function runScenario(name: string, json: boolean): Promise<number> {
  const scenario = LIFECYCLE_SCENARIOS[name]!;
  const started = Date.now();
  const location = mkdtempSync(path.join(os.tmpdir(), "rotator-demo-"));
  const azurite = await startAzurite({ location });
  const world = await World.start({ replicationDelayMs: 200, receivers: true });
  try {
    const container = await freshContainer(azurite.connectionString, "demo");
    say(`mcp-sso-rotator demo — scenario "${name}" against local emulators (no Azure)`);
    say(`  ${scenario.description}`);
    say();
    const l = Lifecycle.start(
      world,
      container,
      { ...scenario.seed, name: "cequence-sso", alerts: { teams: "warning", slack: "warning", pagerduty: "critical", opsgenie: "error", webhook: "info" } },
      (line) => say(`  ${line}`),
    );
    say(`  ${l.targets().length} MCP servers use app ${l.set.clientId}; its hand-made secret expires in ${scenario.seed.secretExpiresInDays ?? 10} days`);
    await scenario.run(l);
    const result = await l.convergence();
    const runs = await l.runtime.journals.listRuns(l.set.name);
    const journals = (await Promise.all(runs.map((r) => l.runtime.journals.readRun(l.set.name, r)))).filter((j): j is RunJournal => j !== undefined);
    const incidents = await l.runtime.alerting.manager.listOpen(l.set.name);
    const rx = world.receivers!;
    const alerts = rx.acceptedCounts();

    say();
    say("Runs (from the journals in Storage)");
    for (const j of journals.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      say(
        `  ${j.runId} ${j.mode.padEnd(9)} ${j.status.padEnd(15)} passes ${j.passes}${j.requests?.length ? `  requests: ${j.requests.map((r) => `${r.mode} ${r.requestId.slice(0, 12)}…`).join(", ")}` : ""}`,
      );
      for (const t of j.targets.filter((x) => x.outcome)) say(`      target ${t.name}: ${t.outcome} — ${t.evidence ?? ""}`);
    }
    say();
    say("Result (read back from the emulators and Storage)");
    say(
      `  targets on the current secret: ${result.targets - result.staleTargets.length}/${result.targets}${result.staleTargets.length ? ` — stale: ${result.staleTargets.join(", ")}` : ""}`,
    );
    say(
      `  previous credential retired: ${result.previousRetired ? "yes" : "NO"}; app credentials now: ${world.entra.passwordCredentials(l.seeded.appObjectId).length}`,
    );
    say(`  runs left active: ${result.stuckRuns.length ? result.stuckRuns.join(", ") : "none"}`);
    say(
      `  alerts received: ${Object.entries(alerts)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}; open incidents: ${incidents.length ? incidents.map((i) => `[${i.severity}] ${i.title}`).join("; ") : "none"}`,
    );

    const scan = new SecretScanner().addSecrets(world.secrets());
    scan.collectAll("log", l.logLines).collectAll("event", l.events).collectAll("journal", journals).collectAll("incident", incidents);
    scan.collectAll("receiver", [rx.teams.accepted(), rx.slack.accepted(), rx.opsgenie.accepted(), rx.webhook.accepted()]);
    scan.collectAll("demo output", out);
    const leaks = scan.leaks();
    say(
      `  ${result.converged ? "CONVERGED" : "NOT CONVERGED"} in ${((Date.now() - started) / 1000).toFixed(1)} s; secret scan: ${leaks.length === 0 ? "no secret values found" : `${leaks.length} LEAK(S)`}`,
    );
    console.log(out.join("\n"));
    if (json) {
      console.log(
        JSON.stringify({
          scenario: name,
          set: l.set.name,
          converged: result.converged,
          staleTargets: result.staleTargets,
          previousRetired: result.previousRetired,
          stuckRuns: result.stuckRuns,
          targets: { total: result.targets, current: result.targets - result.staleTargets.length },
          currentKeyId: result.currentKeyId ?? null,
          runs: journals.map((j) => ({ runId: j.runId, mode: j.mode, status: j.status, passes: j.passes })),
          alerts,
          secretLeaks: leaks.length,
        }),
      );
    }
    return result.converged && leaks.length === 0 ? 0 : 1;
  } finally {
    await world.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
}

function printSteps(journal: RunJournal): void {
  for (const s of journal.steps) {
    say(`  ${s.name.padEnd(15)} ${s.status.padEnd(8)} ${String(s.durationMs).padStart(6)} ms  ${s.detail ?? ""}${s.error ? ` [${s.error.code}]` : ""}`);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.log(out.join("\n"));
    console.error(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
