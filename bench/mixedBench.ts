import { randomUUID } from "node:crypto";
import os from "node:os";
import type { ArmEmulator } from "../emulators/arm/index.js";
import type { LoggedRequest } from "../emulators/common/server.js";
import { KongEmulator } from "../emulators/kong/index.js";
import { World, freshContainer } from "../tests/harness/world.js";
import { silentLogger } from "../src/logging.js";
import type { CredentialSet } from "../src/config/schema.js";
import type { PassResult } from "../src/rotation/model.js";
import { groupFigures, round2, type BucketSpec, type GroupFigures, type GroupSpec, type PassWindow } from "./groupBound.js";
import { seedOtherServers } from "./otherServers.js";

/**
 * Issue 27's mixed estate: one set whose secret lives in 2,000 gateway targets (among 10,000 MCP
 * servers), 50 Key Vault-backed API Management named values, 50 App Service Key Vault references
 * (one per site) and 200 Kong `openid-connect` plugins. Each group sits behind its own emulator with
 * its own latency and token bucket answering 429 + Retry-After (the two Resource Manager groups each
 * behind their own ARM emulator, so each has its own subscription budget and its
 * `x-ms-ratelimit-remaining-*` headers). One pass propagates to all four at once.
 *
 * Per group: its time (from the start of propagate to its last answered call, read from its
 * emulator's log) against the least time its limits allow (groupBound.ts). For the pass: the wall
 * time of propagate + verify-targets against the slowest group's bound (goal ≤ 1.2: a group's
 * slowness never delays another's proof, and the groups together cost about what the slowest costs
 * alone). Beside it, the gateway group of a second set over the same gateway, rotated alone just
 * before: what running beside the other groups cost the slowest one. Ground truth: every consumer
 * holds (or resolved) the new secret.
 */
export interface MixedBenchOptions {
  gatewayServers?: number;
  gatewayTargets?: number;
  apimValues?: number;
  appServiceReferences?: number;
  kongPlugins?: number;
  /** The Retry-After (s) ARM's long-running operations answer; the emulator's default is 0, real ARM sends several. */
  operationRetryAfterSeconds?: number;
}

interface GroupLimits {
  latencyMs: number;
  bucketPerSecond: number;
  bucketCapacity: number;
  maxConcurrency: number;
}

export interface MixedBenchResult {
  groups: Record<"cequence" | "kong-openid-connect" | "apim-named-value" | "appservice-keyvault-reference", GroupFigures & { limits: GroupLimits }>;
  /** ARM's operation polls: polls per refreshSecret, and the Retry-After each waits. */
  operationPolls: { polls: number; retryAfterSeconds: number };
  /** propagate + verify-targets, from the journal. */
  passMs: number;
  /** The whole runPass (plan, new credential, Key Vault, promote, propagate, verify-targets, retire's check). */
  wholePassMs: number;
  slowestGroup: string;
  slowestBoundMs: number;
  /** passMs ÷ slowestBoundMs (goal ≤ 1.2). */
  passToSlowestBound: number;
  /**
   * The gateway group of another set over the same gateway, rotated alone just before (its own
   * 2,000 targets): its time and ratio without the other groups beside it.
   */
  gatewayAlone: { measuredMs: number; ratio: number; failedTargets: number };
  /** passMs ÷ gatewayAlone.measuredMs: what running beside the other groups cost the slowest one. */
  passToGatewayAlone: number;
  status: string;
  failedTargets: number;
  /** Ground truth per kind: consumers on the new secret, of all. */
  onNewSecret: Record<string, { on: number; of: number }>;
  allHoldNewSecret: boolean;
  loadAverage: number[];
}

const SUB_APIM = "/subscriptions/00000000-0000-0000-0000-0000000be701/resourceGroups/rg-bench/providers";
const SUB_WEB = "/subscriptions/00000000-0000-0000-0000-0000000be702/resourceGroups/rg-bench/providers";
const APIM = `${SUB_APIM}/Microsoft.ApiManagement/service/apim-bench`;
const SETTING = "SSO_CLIENT_SECRET";
const KONG_TOKEN = `kong-admin-${randomUUID()}`;

/** Every group's latency and bucket: the gateway's as the propagation bench has it, the others smaller, as their estates are. */
const LIMITS = {
  cequence: { latencyMs: 40, bucketPerSecond: 200, bucketCapacity: 200, maxConcurrency: 64 },
  "kong-openid-connect": { latencyMs: 20, bucketPerSecond: 50, bucketCapacity: 50, maxConcurrency: 16 },
  // Resource Manager: the reads bucket; writes get half of it (ARM's writes refill slower than reads).
  "apim-named-value": { latencyMs: 30, bucketPerSecond: 20, bucketCapacity: 20, maxConcurrency: 16 },
  "appservice-keyvault-reference": { latencyMs: 30, bucketPerSecond: 20, bucketCapacity: 20, maxConcurrency: 16 },
} as const satisfies Record<string, GroupLimits>;

const failedIn = (res: PassResult): number => res.journal.targets.filter((t) => t.outcome === undefined && !t.verified).length;
const isRead = (c: LoggedRequest): boolean => c.method === "GET" || c.method === "HEAD";
const all = (): boolean => true;

export async function benchMixed(connectionString: string, options: MixedBenchOptions = {}): Promise<MixedBenchResult> {
  const n = {
    servers: options.gatewayServers ?? 10_000,
    gateway: options.gatewayTargets ?? 2_000,
    apim: options.apimValues ?? 50,
    web: options.appServiceReferences ?? 50,
    kong: options.kongPlugins ?? 200,
  };
  const retryAfterSeconds = options.operationRetryAfterSeconds ?? 1;
  const world = await World.start({ gatewayLatencyMs: LIMITS.cequence.latencyMs, gatewayNumberedPages: true });
  world.entra.registerResource("https://management.azure.com");
  const armApim = world.armEmulator();
  const armWeb = world.armEmulator();
  const kong = new KongEmulator({ adminToken: KONG_TOKEN, clock: world.clock });
  await Promise.all([armApim.start(), armWeb.start(), kong.start()]);
  try {
    world.keyVault.seedSecret("kong-admin-token", KONG_TOKEN);
    seedOtherServers(world, n.servers - 2 * n.gateway);
    armApim.apim.seedService(APIM);
    const sites = Array.from({ length: n.web }, (_, i) => `${SUB_WEB}/Microsoft.Web/sites/bench-func-${i}`);
    const groups = [
      { ...world.cequenceGroup(), maxConcurrency: LIMITS.cequence.maxConcurrency, maxRequestsPerSecond: LIMITS.cequence.bucketPerSecond, testConnection: true },
      {
        kind: "kong-openid-connect",
        adminUrl: kong.url,
        adminTokenSecretName: "kong-admin-token",
        maxConcurrency: LIMITS["kong-openid-connect"].maxConcurrency,
        maxRequestsPerSecond: LIMITS["kong-openid-connect"].bucketPerSecond,
      },
      { kind: "apim-named-value", services: [APIM], armEndpoint: armApim.url, maxConcurrency: LIMITS["apim-named-value"].maxConcurrency },
      { kind: "appservice-keyvault-reference", sites, armEndpoint: armWeb.url, maxConcurrency: LIMITS["appservice-keyvault-reference"].maxConcurrency },
    ];
    const seeded = world.seedSet({
      name: "bench-mixed",
      secretExpiresInDays: 5,
      targets: n.gateway,
      otherTargets: 0,
      overrides: { gateway: undefined, groups },
    });
    const { set } = seeded;
    // The same gateway group of another set, rotated alone first: what the slowest group takes without the others.
    const aloneSet = world.seedSet({ name: "bench-alone", secretExpiresInDays: 5, targets: n.gateway, otherTargets: 0, overrides: { gateway: groups[0] } }).set;
    const old = seeded.handMade.secretText;
    const uri = `${world.keyVault.url}/secrets/${set.keyVault.secretName}`;
    for (let i = 0; i < n.kong; i++) {
      kong.seedPlugin({ issuer: `${world.authorityHost}/${world.tenantId}/v2.0`, clientIds: [set.clientId], clientSecrets: [old], instanceName: `oidc-${i}` });
    }
    for (let i = 0; i < n.apim; i++) armApim.apim.seedNamedValue(APIM, { name: `sso-secret-${i}`, keyVault: { secretIdentifier: uri } });
    for (const site of sites) armWeb.appService.seedSite(site, { settings: { [SETTING]: `@Microsoft.KeyVault(SecretUri=${uri})` } });

    // Each group behind its own limits.
    const limit = (arm: ArmEmulator, l: GroupLimits): void => {
      arm.server.faults.add({ route: "^[A-Z]+ /subscriptions/", latencyMs: l.latencyMs });
      arm.core.setLimits("reads", l.bucketCapacity, l.bucketPerSecond);
      arm.core.setLimits("writes", l.bucketCapacity / 2, l.bucketPerSecond / 2);
    };
    world.gateway.setRateLimit({ capacity: LIMITS.cequence.bucketCapacity, refillPerSecond: LIMITS.cequence.bucketPerSecond });
    kong.server.faults.add({ route: "^[A-Z]+ /plugins", latencyMs: LIMITS["kong-openid-connect"].latencyMs });
    kong.setRateLimit({ capacity: LIMITS["kong-openid-connect"].bucketCapacity, refillPerSecond: LIMITS["kong-openid-connect"].bucketPerSecond });
    limit(armApim, LIMITS["apim-named-value"]);
    limit(armWeb, LIMITS["appservice-keyvault-reference"]);
    armApim.core.operationRetryAfterSeconds = retryAfterSeconds;
    const operationPolls = armApim.core.operationPolls;

    const logs = [world.gateway.server.requests, kong.server.requests, armApim.server.requests, armWeb.server.requests];
    /** One pass of `set` on a fresh journal container, the emulators' logs kept from a moment every bucket is full. */
    const measuredPass = async (set: CredentialSet) => {
      const container = await freshContainer(connectionString, "bench");
      try {
        const runner = await world.runtime([set], container).createRunner(set, silentLogger);
        // Let every bucket fill again after seeding, setup or the previous pass; then keep only this pass's calls.
        await new Promise((r) => setTimeout(r, 1_100));
        for (const log of logs) log.splice(0);
        const fullAtMs = Date.now();
        const p0 = performance.now();
        const res = await runner.runPass({ mode: "scheduled", trigger: "queue" });
        const wholePassMs = performance.now() - p0;
        if (world.gateway.server.requests.length >= 10_000)
          throw new Error("the gateway's request log overflowed (10,000 entries): the figures would be wrong");
        const step = (name: string) => res.journal.steps.find((st) => st.name === name);
        const propagate = step("propagate");
        const verify = step("verify-targets");
        if (!propagate || !verify) throw new Error(`the pass did not reach verify-targets: ${res.status} ${res.journal.steps.at(-1)?.detail ?? ""}`);
        return { res, wholePassMs, window: { fullAtMs, startMs: Date.parse(propagate.startedAt), endMs: Date.parse(verify.endedAt) } };
      } finally {
        await container.deleteIfExists();
      }
    };
    // Resource Manager charges reads and writes to separate buckets; the gateway and Kong one bucket for every call.
    const arm = (l: GroupLimits): BucketSpec[] => [
      { name: "reads", capacity: l.bucketCapacity, refillPerSecond: l.bucketPerSecond, charges: isRead },
      { name: "writes", capacity: l.bucketCapacity / 2, refillPerSecond: l.bucketPerSecond / 2, charges: (c) => !isRead(c) },
    ];
    const one = (l: GroupLimits): BucketSpec[] => [{ name: "all", capacity: l.bucketCapacity, refillPerSecond: l.bucketPerSecond, charges: all }];
    const measure = (window: PassWindow, kind: keyof typeof LIMITS, targets: number, log: readonly LoggedRequest[], listing: RegExp, waitMsPerTarget = 0) => {
      const l = LIMITS[kind];
      const buckets = kind === "cequence" || kind === "kong-openid-connect" ? one(l) : arm(l);
      const spec: GroupSpec = {
        kind,
        targets,
        latencyMs: l.latencyMs,
        maxConcurrency: l.maxConcurrency,
        buckets,
        waitMsPerTarget,
        isListing: (c) => isRead(c) && listing.test(c.path),
      };
      return { ...groupFigures(spec, log, window), limits: l };
    };
    const gatewayListing = /\/mcp-servers$/;
    const alone = await measuredPass(aloneSet);
    const gatewayAlone = measure(alone.window, "cequence", n.gateway, world.gateway.server.requests, gatewayListing);
    const { res, wholePassMs, window } = await measuredPass(set);
    const { startMs, endMs } = window;
    const groupsOut: MixedBenchResult["groups"] = {
      cequence: measure(window, "cequence", n.gateway, world.gateway.server.requests, gatewayListing),
      "kong-openid-connect": measure(window, "kong-openid-connect", n.kong, kong.server.requests, /\/plugins$/),
      // refreshSecret answers 202; its operation answers InProgress `operationPolls` times, then Succeeded, each poll after its Retry-After.
      "apim-named-value": measure(
        window,
        "apim-named-value",
        n.apim,
        armApim.server.requests,
        /\/namedValues$/,
        (operationPolls + 1) * retryAfterSeconds * 1000,
      ),
      "appservice-keyvault-reference": measure(window, "appservice-keyvault-reference", n.web, armWeb.server.requests, /\/appsettings$/),
    };
    const slowest = Object.values(groupsOut).reduce((a, b) => (b.boundMs > a.boundMs ? b : a));
    const passMs = endMs - startMs;

    // Ground truth: the secret Key Vault now holds as current, and what each consumer really uses.
    const current = world.keyVault
      .versions(set.keyVault.secretName)
      .filter((v) => v.enabled)
      .at(-1)!.value;
    const accepted = new Map(world.gateway.secretsAcceptedNow().map((s) => [s.id, s.accepted]));
    const ours = world.gateway.servers().filter((s) => s.clientId === set.clientId);
    const count = (xs: boolean[]) => ({ on: xs.filter(Boolean).length, of: xs.length });
    const onNewSecret = {
      cequence: count(ours.map((s) => s.clientSecret === current && accepted.get(s.id) === true)),
      "kong-openid-connect": count(kong.plugins().map((p) => p.config.client_secret?.[0] === current)),
      "apim-named-value": count(
        Array.from({ length: n.apim }, (_, i) => armApim.apim.namedValue(APIM, `sso-secret-${i}`)).map(
          (nv) => nv?.value === current && nv.keyVault?.lastStatus?.code === "Success",
        ),
      ),
      "appservice-keyvault-reference": count(sites.map((s) => armWeb.appService.appSees(s, SETTING) === current)),
    };
    const expected: Record<string, number> = {
      cequence: n.gateway,
      "kong-openid-connect": n.kong,
      "apim-named-value": n.apim,
      "appservice-keyvault-reference": n.web,
    };
    return {
      groups: groupsOut,
      operationPolls: { polls: operationPolls + 1, retryAfterSeconds },
      passMs,
      wholePassMs: Math.round(wholePassMs),
      slowestGroup: slowest.kind,
      slowestBoundMs: slowest.boundMs,
      passToSlowestBound: round2(passMs / slowest.boundMs),
      gatewayAlone: { measuredMs: gatewayAlone.measuredMs, ratio: gatewayAlone.ratio, failedTargets: failedIn(alone.res) },
      passToGatewayAlone: round2(passMs / gatewayAlone.measuredMs),
      status: res.status,
      failedTargets: failedIn(res),
      onNewSecret,
      allHoldNewSecret: Object.entries(onNewSecret).every(([k, v]) => v.on === v.of && v.of === expected[k]),
      loadAverage: os.loadavg().map(round2),
    };
  } finally {
    await Promise.allSettled([armApim.close(), armWeb.close(), kong.close()]);
    await world.stop();
  }
}
