import { randomUUID } from "node:crypto";
import { afterEach, expect, inject } from "vitest";
import { DAY_MS } from "../../src/clock.js";
import { credentialSetSchema, type CredentialSet } from "../../src/config/schema.js";
import { memoryLogger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import type { BuiltRuntime, SetClients } from "../../src/runtime/createRuntime.js";
import { runProbe, type RunProbeOptions } from "../../src/probe/runProbe.js";
import type { ProbeDeps } from "../../src/probe/context.js";
import type { ProbeReport } from "../../src/probe/model.js";
import { freshContainer, GATEWAY_REDIRECT_URI, World } from "../harness/world.js";
import type { EmulatedServer } from "../../emulators/gateway/index.js";
import { SecretScanner } from "../helpers/secretScan.js";

/**
 * A world seeded exactly as the setup guide configures it (redirect URI on the Web platform, ID
 * tokens on, public client flows off, openid profile email User.Read admin-consented, the secret
 * in Key Vault and pasted into N MCP servers), plus a probe wired to the real clients.
 */
const SCOPES = ["email", "profile", "openid", "User.Read"];

export interface ProbeWorldOptions {
  name?: string;
  targets?: number;
  /** Days the app's secret has left. */
  secretDaysLeft?: number;
  /** Tag the Key Vault version with the credential's keyId and name it as this service would. */
  managed?: boolean;
  multiTenant?: boolean;
  /** Name the tenant by its verified domain in the gateway's URLs instead of its GUID. */
  tenantByDomain?: boolean;
  /** Override the set's authority host (the emulator's URL by default). */
  authorityHost?: string;
  replicationDelayMs?: number;
}

export interface ProbeWorld {
  world: World;
  set: CredentialSet;
  appObjectId: string;
  secret: { keyId: string; value: string };
  targets: EmulatedServer[];
  clients: SetClients;
  runtime: BuiltRuntime;
  logLines: string[];
  redactor: Redactor;
  reports: ProbeReport[];
  probe(options?: Omit<Partial<RunProbeOptions>, "deps"> & { deps?: Partial<ProbeDeps> }): Promise<ProbeReport>;
  /** Every secret any emulator issued, and every text the probe produced. */
  scanner(): SecretScanner;
  stop(): Promise<void>;
}

export const DOMAIN = "contoso.example";

export async function startProbeWorld(options: ProbeWorldOptions = {}): Promise<ProbeWorld> {
  const world = await World.start({ replicationDelayMs: options.replicationDelayMs ?? 0 });
  try {
    const name = options.name ?? "cequence-sso";
    const clientId = randomUUID();
    const app = world.seedGuideApp(clientId, { signInAudience: options.multiTenant ? "AzureADMultipleOrgs" : "AzureADMyOrg" });
    const now = world.clock.now().getTime();
    const created = world.entra.seedPassword(app.id, {
      displayName: options.managed ? `mcp-sso-rotator/${name}/seed-run` : "MCP Server Secret",
      startDateTime: new Date(now - 30 * DAY_MS).toISOString(),
      endDateTime: new Date(now + (options.secretDaysLeft ?? 150) * DAY_MS).toISOString(),
    });
    const secretName = `${name}-client-secret`;
    world.keyVault.seedSecret(
      secretName,
      created.secretText,
      options.managed ? { tags: { keyId: created.keyId, appId: clientId, runId: "seed-run" }, expiresOn: new Date(created.endDateTime) } : {},
    );

    const authority = world.authorityHost;
    const tenantSegment = options.tenantByDomain ? DOMAIN : world.tenantId;
    const tokenUrl = `${authority}/${tenantSegment}/oauth2/v2.0/token`;
    const authorizationUrl = `${authority}/${options.multiTenant ? "common" : tenantSegment}/oauth2/v2.0/authorize`;
    const targets: EmulatedServer[] = [];
    for (let i = 1; i <= (options.targets ?? 3); i++) {
      targets.push(
        world.gateway.seedServer({
          name: `${name}-mcp-${String(i).padStart(2, "0")}`,
          tokenName: "entra-sso",
          tokenUrl,
          clientId,
          clientSecret: created.secretText,
          scopes: SCOPES,
          additionalParameters: { tenantID: options.tenantByDomain ? DOMAIN : world.tenantId, authorizationUrl, redirectUri: GATEWAY_REDIRECT_URI },
        }),
      );
    }
    // Another app's MCP server: never a target of this set.
    world.gateway.seedServer({
      name: "other-app-mcp",
      tokenUrl,
      clientId: randomUUID(),
      clientSecret: `other-secret-${randomUUID()}`,
      scopes: ["openid"],
      additionalParameters: { tenantID: world.tenantId, authorizationUrl, redirectUri: "https://elsewhere.example/callback" },
    });

    const set = credentialSetSchema.parse({
      name,
      tenantId: world.tenantId,
      clientId,
      authorityHost: options.authorityHost ?? authority,
      graphBaseUrl: world.entra.server.url,
      multiTenant: options.multiTenant ?? false,
      keyVault: { url: world.keyVault.url, secretName },
      secret: { lifetimeDays: 180, renewBeforeDays: 30, renewAtFraction: 0.1, gracePeriodHours: 24 },
      verification: { consecutiveSuccesses: 2, budgetSeconds: 20, intervalMs: 50, minStableSeconds: 0 },
      gateway: { kind: "cequence", baseUrl: world.gateway.url, tenant: world.gatewayTenant, apiTokenSecretName: "gateway-api-token" },
    });

    const container = await freshContainer(inject("storageConnectionString"), "probe");
    const redactor = new Redactor();
    const runtime = world.runtime([set], container, { redactor, httpRetry: { maxRetries: 1, baseDelayInMs: 10, maxDelayInMs: 50 } });
    const clients = await runtime.clientsFor(set);
    const { logger, lines } = memoryLogger(redactor);
    const reports: ProbeReport[] = [];

    return {
      world,
      set,
      appObjectId: app.id,
      secret: { keyId: created.keyId, value: created.secretText },
      targets,
      clients,
      runtime,
      logLines: lines,
      redactor,
      reports,
      async probe(extra = {}) {
        const { deps: depsOverride, ...rest } = extra;
        const report = await runProbe({
          set,
          deps: { ...clients, journals: runtime.journals, clock: world.clock, logger, redactor, ...depsOverride },
          timeoutInMs: 15_000,
          replicationWindowMs: 0,
          ...rest,
        });
        reports.push(report);
        return report;
      },
      scanner() {
        return new SecretScanner().addSecrets(world.secrets()).addSecrets([created.secretText]).collectAll("report", reports).collectAll("log", lines);
      },
      stop: () => world.stop(),
    };
  } catch (e) {
    await world.stop();
    throw e;
  }
}

export function check(report: ProbeReport, id: ProbeReport["checks"][number]["id"]): ProbeReport["checks"][number] {
  const c = report.checks.find((x) => x.id === id);
  if (!c) throw new Error(`check ${id} missing from the report`);
  return c;
}

/** "id=status" for every check, for readable equality assertions. */
export function statuses(report: ProbeReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
}

/**
 * One probe world per test: registers an afterEach that proves the world's secrets appear in no
 * report, log or response (the scan must have seen at least one) and stops it. Call once at the
 * top of a test file and start each test's world with the function it returns.
 */
export function probeWorldPerTest(): (options?: ProbeWorldOptions) => Promise<ProbeWorld> {
  let current: ProbeWorld | undefined;
  afterEach(async () => {
    const w = current;
    current = undefined;
    if (!w) return;
    try {
      expect(w.scanner().assertClean()).toBeGreaterThan(0);
    } finally {
      await w.stop();
    }
  });
  return async (options) => (current = await startProbeWorld(options));
}
