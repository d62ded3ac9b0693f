/**
 * `npm run demo -- --scenario mixed-estate [--json] [--stuck <kind>]` — issue 24's acceptance: one
 * credential set whose secret lives in five kinds of consumer at once, every one on a local
 * emulator: the gateway (cequence contract), an API Management credential provider and a
 * client-credentials connection, a Key Vault-backed named value, a Function app's Key Vault
 * reference, and a Kong `openid-connect` plugin. It rotates, each group proves pickup, and the old
 * secret is retired. Each kind's figures come from the run journal (how pickup was proven) and are
 * checked against the emulators' ground truth (the secret each consumer really uses). Exit 0 only
 * when every kind is proven and the estate converged.
 *
 * `--stuck <kind>` makes one consumer of that kind never pick up the new secret: the run must hold
 * retirement and name it, so the scenario exits 1 (the demo of what on-call would see).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAzurite, type AzuriteHandle } from "../emulators/azurite.js";
import { ArmEmulator } from "../emulators/arm/index.js";
import { KongEmulator } from "../emulators/kong/index.js";
import { World, freshContainer } from "../tests/harness/world.js";
import { SecretScanner } from "../tests/helpers/secretScan.js";
import { RUN_FAILURE_CHECK } from "../src/alerts/model.js";
import { targetGroupsOf } from "../src/config/groups.js";
import { memoryLogger } from "../src/logging.js";
import type { PassResult, RunJournal, TargetRecord } from "../src/rotation/model.js";
import type { BuiltRuntime } from "../src/runtime/createRuntime.js";

export const MIXED_ESTATE_KINDS = ["cequence", "apim-credential-manager", "apim-named-value", "appservice-keyvault-reference", "kong-openid-connect"] as const;
export type MixedEstateKind = (typeof MIXED_ESTATE_KINDS)[number];
/** The kinds `--stuck` can hold back: each has an emulator fault that keeps one consumer on the old secret. */
export const STUCK_KINDS = MIXED_ESTATE_KINDS.filter((k): k is Exclude<MixedEstateKind, "cequence"> => k !== "cequence");
type StuckKind = (typeof STUCK_KINDS)[number];

/** Per kind: what the journal says (targets written, how many proven, by which proof) and what the emulators show. */
export interface KindReport {
  targets: number;
  proven: number;
  proof: string[];
  /** Consumers that really use the new secret now (ground truth), of `consumers`. */
  onNewSecret: number;
  consumers: number;
  /** Consumers not on the new secret, by name. */
  stale: string[];
  ok: boolean;
}

export interface MixedEstateOptions {
  /** One consumer of this kind never picks up the new secret. */
  stuck?: StuckKind;
  /** An Azurite already running (tests); otherwise one is started for the run. */
  storageConnectionString?: string;
}

export interface MixedEstateResult {
  code: number;
  lines: string[];
  report: Record<string, unknown>;
}

const HOUR = 3_600_000;
const SUB = "/subscriptions/00000000-0000-0000-0000-0000000d3e01/resourceGroups/rg-demo/providers";
const APIM = `${SUB}/Microsoft.ApiManagement/service/apim-demo`;
const FUNC = `${SUB}/Microsoft.Web/sites/orders-func`;
const SETTING = "SSO_CLIENT_SECRET";
const KONG_ADMIN_TOKEN = `kong-admin-${randomUUID()}`;

/** Runs the scenario and returns its exit code, printed lines and report; the CLI prints them. */
export async function runMixedEstate(options: MixedEstateOptions = {}): Promise<MixedEstateResult> {
  const started = Date.now();
  const lines: string[] = [];
  const say = (line = ""): void => void lines.push(line);
  let azurite: AzuriteHandle | undefined;
  let location: string | undefined;
  let connection = options.storageConnectionString;
  if (!connection) {
    location = mkdtempSync(path.join(os.tmpdir(), "rotator-mixed-"));
    azurite = await startAzurite({ location });
    connection = azurite.connectionString;
  }
  const world = await World.start({ receivers: true });
  world.entra.registerResource("https://management.azure.com");
  const arm = world.armEmulator();
  const kong = new KongEmulator({ adminToken: KONG_ADMIN_TOKEN, clock: world.clock });
  await Promise.all([arm.start(), kong.start()]);
  try {
    world.keyVault.seedSecret("kong-admin-token", KONG_ADMIN_TOKEN);
    arm.apim.seedService(APIM);
    const groups = [
      world.cequenceGroup(),
      { kind: "apim-credential-manager", services: [APIM], armEndpoint: arm.url },
      { kind: "apim-named-value", services: [APIM], armEndpoint: arm.url },
      { kind: "appservice-keyvault-reference", sites: [FUNC], armEndpoint: arm.url },
      { kind: "kong-openid-connect", adminUrl: kong.url, adminTokenSecretName: "kong-admin-token", maxRequestsPerSecond: 500 },
    ];
    const seeded = world.seedSet({
      name: "mixed-estate",
      secretExpiresInDays: 5,
      targets: 3,
      otherTargets: 2,
      overrides: { gateway: undefined, groups },
      alerts: { webhook: "info" },
    });
    const { set } = seeded;
    const othersBefore = new Map(world.gateway.servers().map((s) => [s.id, s.clientSecret]));
    const old = seeded.handMade.secretText;
    const clientId = set.clientId;
    const secretId = `${world.keyVault.url}/secrets/${set.keyVault.secretName}`;

    // The estate: each consumer holds the hand-made secret (or a reference to it) before the run.
    arm.apim.seedProvider(APIM, { name: "aad-cc", grantType: "clientCredentials", tenantId: world.tenantId });
    arm.apim.seedConnection(APIM, "aad-cc", { name: "orders-backend", clientId, clientSecret: old });
    arm.apim.seedProvider(APIM, { name: "aad-authcode", grantType: "authorizationCode", clientId, clientSecret: old });
    arm.apim.seedConnection(APIM, "aad-authcode", { name: "user-1" });
    arm.apim.seedNamedValue(APIM, { name: "sso-client-secret", keyVault: { secretIdentifier: secretId } });
    arm.appService.seedSite(FUNC, { settings: { [SETTING]: `@Microsoft.KeyVault(SecretUri=${secretId})`, PLAIN: "x" } });
    const plugin = kong.seedPlugin({
      issuer: `${world.authorityHost}/${world.tenantId}/v2.0`,
      clientIds: [clientId],
      clientSecrets: [old],
      instanceName: "oidc-orders",
    });

    const stuckName = options.stuck ? makeStuck(options.stuck, { arm, kong, pluginId: plugin.id }) : undefined;

    const container = await freshContainer(connection, "mixed");
    const holder: { runtime?: BuiltRuntime } = {};
    const runtime = world.runtime([set], container, { onRotationEvent: (e, l) => holder.runtime!.alerting.onRotationEvent(e, l) });
    holder.runtime = runtime;
    const mem = memoryLogger(runtime.redactor);

    say(`mcp-sso-rotator demo — scenario "mixed-estate" against local emulators (no Azure)`);
    say(`  one set (app ${clientId}), its secret in five kinds of consumer:`);
    say(`    cequence                       3 MCP servers on the gateway ${world.gateway.url} (+2 of another app, untouched)`);
    say(`    apim-credential-manager        provider aad-authcode (authorization code) and connection aad-cc/orders-backend (client credentials)`);
    say(`    apim-named-value               named value sso-client-secret backed by Key Vault ${set.keyVault.secretName}`);
    say(`    appservice-keyvault-reference  Function app orders-func, setting ${SETTING} = @Microsoft.KeyVault(SecretUri=…)`);
    say(`    kong-openid-connect            plugin oidc-orders on the Kong Admin API ${kong.url}`);
    if (stuckName) say(`  --stuck ${options.stuck}: ${stuckName} will not pick up the new secret`);
    say();

    // Passes as the worker would run them; past the grace period the clock jumps (simulated).
    const runner = await runtime.createRunner(set, mem.logger);
    const passes: PassResult[] = [];
    let res = await runner.runPass({ mode: "scheduled", trigger: "demo" });
    passes.push(res);
    for (let i = 0; i < 6 && !["succeeded", "noop", "failed", "needs_attention"].includes(res.status); i++) {
      if (res.journal.steps.at(-1)?.name === "retire") world.clock.advance((set.secret.gracePeriodHours + 1) * HOUR);
      res = await runner.runPass({ mode: "scheduled", trigger: "demo" });
      passes.push(res);
    }
    if (stuckName && res.status === "failed") {
      // Past the grace period a stuck consumer must still hold retirement.
      world.clock.advance((set.secret.gracePeriodHours + 1) * HOUR);
      res = await runner.runPass({ mode: "scheduled", trigger: "demo" });
      passes.push(res);
    }
    const journal = res.journal;
    passes.forEach((p, i) => say(`pass ${i + 1} → ${p.status}: ${p.journal.steps.at(-1)?.name ?? ""} ${p.journal.steps.at(-1)?.detail ?? ""}`));
    if (journal.error) say(`  error [${journal.error.code}] ${journal.error.message}`);

    // Ground truth: what each consumer really uses, against the secret now current in Key Vault.
    const current = world.keyVault
      .versions(set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1)!;
    const truth = groundTruth({ world, arm, kong, clientId, pluginId: plugin.id }, current.value);
    const journals = (await Promise.all((await runtime.journals.listRuns(set.name)).map((r) => runtime.journals.readRun(set.name, r)))).filter(
      (j): j is RunJournal => j !== undefined,
    );
    const kinds = kindReports(latestRecords(journals), targetGroupsOf(set), truth);
    const creds = world.entra.passwordCredentials(seeded.appObjectId);
    const previousRetired = !creds.some((c) => c.keyId === seeded.handMade.keyId);
    const rotated = current.tags["keyId"] !== seeded.handMade.keyId && creds.length === 1 && creds[0]!.keyId === current.tags["keyId"];
    const othersUntouched = world.gateway.servers().filter((s) => s.clientId === seeded.otherClientId && othersBefore.get(s.id) === s.clientSecret).length;
    const incidents = await runtime.alerting.manager.listOpen(set.name);
    const runIncident = incidents.find((i) => i.check === RUN_FAILURE_CHECK);
    const allProven = MIXED_ESTATE_KINDS.every((k) => kinds[k]?.ok === true);
    const converged = res.status === "succeeded" && rotated && previousRetired && allProven;

    say();
    say("Per kind (journal: targets proven and how; ground truth: consumers on the new secret)");
    for (const k of MIXED_ESTATE_KINDS) {
      const r = kinds[k]!;
      say(
        `  ${r.ok ? "PROVEN " : "HELD   "} ${k.padEnd(30)} ${r.proven}/${r.targets} proven by ${r.proof.join("+") || "—"}; ${r.onNewSecret}/${r.consumers} on the new secret${r.stale.length ? ` — stale: ${r.stale.join(", ")}` : ""}`,
      );
    }
    say();
    say(`Old secret ${seeded.handMade.keyId}: ${previousRetired ? "retired at Entra" : "NOT retired (held)"}; app credentials now: ${creds.length}`);
    say(`Other app's gateway servers untouched: ${othersUntouched}/2`);
    if (runIncident) say(`Open incident [${runIncident.severity}] ${runIncident.check}: ${runIncident.title}`);
    if (stuckName)
      say(`Retirement held by ${stuckName}: ${JSON.stringify(runIncident ?? {}).includes(stuckName) ? "named in the incident" : "NOT named in the incident"}`);

    const scan = new SecretScanner().addSecrets([...world.secrets(), ...arm.issuedSecrets(), ...kong.issuedSecrets(), KONG_ADMIN_TOKEN]);
    scan.collectAll("log", mem.lines).collectAll("journal", journals).collectAll("incident", incidents).collectAll("output", lines);
    scan.collectAll("alerts", world.receivers!.webhook.accepted());
    const leaks = scan.leaks().length;
    const seconds = (Date.now() - started) / 1000;
    say(
      `${converged ? "CONVERGED" : "NOT CONVERGED"}: every kind ${allProven ? "proven" : "NOT proven"} in ${seconds.toFixed(1)} s; secret scan: ${leaks === 0 ? "no secret values found" : `${leaks} LEAK(S)`}`,
    );

    const report: Record<string, unknown> = {
      scenario: "mixed-estate",
      set: set.name,
      runId: res.runId,
      status: res.status,
      converged,
      previousRetired,
      kinds: Object.fromEntries(MIXED_ESTATE_KINDS.map((k) => [k, kinds[k]])),
      othersUntouched,
      ...(options.stuck ? { stuck: { kind: options.stuck, consumer: stuckName, named: JSON.stringify(runIncident ?? {}).includes(stuckName!) } } : {}),
      error: journal.error ? { code: journal.error.code, message: journal.error.message } : null,
      incident: runIncident ? { check: runIncident.check, severity: runIncident.severity, title: runIncident.title } : null,
      passes: passes.length,
      wallSeconds: Number(seconds.toFixed(1)),
      secretLeaks: leaks,
    };
    scan.collect("report", report);
    return { code: converged && leaks === 0 && scan.leaks().length === 0 ? 0 : 1, lines, report };
  } finally {
    await Promise.allSettled([arm.close(), kong.close()]);
    await world.stop();
    if (azurite) await azurite.stop();
    if (location) rmSync(location, { recursive: true, force: true });
  }
}

interface Estate {
  world: World;
  arm: ArmEmulator;
  kong: KongEmulator;
  clientId: string;
  pluginId: string;
}

/** Makes one consumer of `kind` keep the old secret; returns its target name as the journal shows it. */
function makeStuck(kind: StuckKind, e: Omit<Estate, "clientId" | "world">): string {
  switch (kind) {
    case "apim-credential-manager":
      e.arm.apim.mangleSecretWrites(APIM, "aad-cc", "orders-backend");
      return "apim-demo/aad-cc/orders-backend";
    case "apim-named-value":
      e.arm.apim.breakKeyVaultAccess(APIM);
      return "apim-demo/sso-client-secret";
    case "appservice-keyvault-reference":
      e.arm.appService.denyKeyVault(FUNC);
      return `orders-func/${SETTING}`;
    case "kong-openid-connect":
      e.kong.revertSecretWrites(e.pluginId);
      return "oidc-orders";
  }
}

/** Per kind, each consumer's name and whether it really uses `secret` now, read from the emulators. */
function groundTruth(e: Estate, secret: string): Record<MixedEstateKind, { name: string; current: boolean }[]> {
  const cc = e.arm.apim.provider(APIM, "aad-cc")!.connections.get("orders-backend")!;
  const authCode = e.arm.apim.provider(APIM, "aad-authcode")!;
  const nv = e.arm.apim.namedValue(APIM, "sso-client-secret")!;
  const accepted = new Map(e.world.gateway.secretsAcceptedNow().map((s) => [s.id, s.accepted]));
  return {
    cequence: e.world.gateway
      .servers()
      .filter((s) => s.clientId === e.clientId)
      .map((s) => ({ name: s.name, current: s.clientSecret === secret && accepted.get(s.id) === true })),
    "apim-credential-manager": [
      { name: "apim-demo/aad-authcode", current: authCode.authCodeSecret === secret },
      { name: "apim-demo/aad-cc/orders-backend", current: cc.secret === secret && e.world.entra.isSecretAccepted(e.world.tenantId, e.clientId, secret) },
    ],
    "apim-named-value": [{ name: "apim-demo/sso-client-secret", current: nv.value === secret && nv.keyVault?.lastStatus?.code === "Success" }],
    "appservice-keyvault-reference": [{ name: `orders-func/${SETTING}`, current: e.arm.appService.appSees(FUNC, SETTING) === secret }],
    "kong-openid-connect": e.kong
      .plugins()
      .filter((p) => p.config.client_id?.includes(e.clientId))
      .map((p) => ({ name: p.instance_name ?? p.id, current: p.config.client_secret?.includes(secret) === true })),
  };
}

/**
 * Each target's latest record over the set's runs, oldest run first: a reconcile run after a failed
 * one lists only what it had to repair, so the run that wrote the others still speaks for them.
 */
function latestRecords(journals: RunJournal[]): TargetRecord[] {
  const byId = new Map<string, TargetRecord>();
  for (const j of [...journals].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) for (const t of j.targets) byId.set(t.id, t);
  return [...byId.values()];
}

/** The journal's targets by kind (a dropped target is not a consumer to prove), judged with the ground truth. */
function kindReports(
  targets: readonly TargetRecord[],
  groups: readonly { kind: string }[],
  truth: Record<MixedEstateKind, { name: string; current: boolean }[]>,
): Partial<Record<MixedEstateKind, KindReport>> {
  const out: Partial<Record<MixedEstateKind, KindReport>> = {};
  for (const kind of MIXED_ESTATE_KINDS) {
    const records = targets.filter((t) => t.outcome === undefined && groups[t.group ?? 0]?.kind === kind);
    const proven = records.filter((t) => t.verified && t.proof !== undefined);
    const consumers = truth[kind];
    const stale = consumers.filter((c) => !c.current).map((c) => c.name);
    out[kind] = {
      targets: records.length,
      proven: proven.length,
      proof: [...new Set(proven.map((t) => t.proof!))].sort(),
      onNewSecret: consumers.length - stale.length,
      consumers: consumers.length,
      stale,
      ok: records.length > 0 && proven.length === records.length && consumers.length > 0 && stale.length === 0,
    };
  }
  return out;
}
