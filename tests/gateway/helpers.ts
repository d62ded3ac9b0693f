import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { fingerprintMatches } from "../../src/gateway/fingerprint.js";
import type { GatewayAdapter } from "../../src/gateway/types.js";
import { gatewaySchema } from "../../src/config/schema.js";
import { abortableDelay } from "../../src/clock.js";
import { HttpClient } from "../../src/http/client.js";
import { memoryLogger, type Logger } from "../../src/logging.js";
import { Redactor } from "../../src/redact.js";
import { SecretScanner } from "../helpers/secretScan.js";
import type { CequenceGatewayConfig } from "../../src/gateway/cequence/index.js";
import { startEntraFixture, type EntraFixture } from "../../emulators/entra/index.js";
import { startGatewayFixture, type GatewayFixture } from "../../emulators/gateway/fixture.js";
import type { KongPlugin, SeedPluginInput } from "../../emulators/kong/index.js";
import type { EmulatedServer } from "../../emulators/gateway/state.js";

/** A validated `cequence` gateway block pointing at the fixture (through the real config schema). */
export function cequenceConfig(f: GatewayFixture, overrides: Record<string, unknown> = {}): CequenceGatewayConfig {
  const parsed = gatewaySchema.parse({
    kind: "cequence",
    baseUrl: f.url,
    tenant: f.tenant,
    apiTokenSecretName: "gateway-api-token",
    maxRequestsPerSecond: 1000,
    ...overrides,
  });
  if (parsed.kind !== "cequence") throw new Error("expected a cequence config");
  return parsed;
}

/**
 * Our real HttpClient trusting the emulator CA, with waits shortened: Retry-After is whole seconds
 * by contract, so every wait is capped at `capMs` of real time (the emulator's bucket still refills
 * in real time, so throttling stays real). `waits` collects every wait asked for, uncapped.
 */
export function fastHttp(f: { ca?: string | undefined }, options: { capMs?: number; maxRetries?: number; waits?: number[] } = {}): HttpClient {
  const cap = options.capMs ?? 30;
  return new HttpClient({
    ...(f.ca ? { ca: f.ca } : {}),
    retry: { maxRetries: options.maxRetries ?? 3, baseDelayInMs: 5, maxDelayInMs: 20 },
    sleep: (ms, signal) => {
      // The wait the client asked for, before the cap: what a test of Retry-After checks.
      options.waits?.push(ms);
      return abortableDelay(Math.min(ms, cap), signal);
    },
  });
}

export const fastSleep = (ms: number, signal?: AbortSignal): Promise<void> => abortableDelay(Math.min(ms, 20), signal);

export interface PropagationWorld {
  entra: EntraFixture;
  f: GatewayFixture;
  tokenUrl: string;
  clientId: string;
  oldSecret: string;
  newSecret: string;
}

/** One of our MCP servers as the setup guide configures it: the world's client, its current secret, the tenant's token URL. */
export function seedOurServer(w: PropagationWorld, name: string, scopes: string[] = ["openid", "profile"]): void {
  w.f.emulator.seedServer({
    name,
    tokenName: "entra-sso",
    tokenUrl: w.tokenUrl,
    clientId: w.clientId,
    clientSecret: w.oldSecret,
    scopes,
    additionalParameters: { tenantID: w.entra.tenantId },
  });
}

/**
 * The Entra emulator with the target app's current secret and a newer one, and a gateway emulator
 * whose servers authenticate there. onlyTenantTokenUrl: a server's secret works only through the
 * tenant's own token URL (as Entra's client-credentials grant requires).
 */
async function startPropagationWorld(options: { pageSizeMax: number; onlyTenantTokenUrl: boolean }): Promise<PropagationWorld> {
  const entra = await startEntraFixture();
  const tokenUrl = `${entra.url}/${entra.tenantId}/oauth2/v2.0/token`;
  const newSecret = entra.emulator.seedPassword(entra.target.app.id, {
    displayName: "rotated",
    endDateTime: new Date(Date.now() + 90 * 86_400_000).toISOString(),
  }).secretText;
  const f = await startGatewayFixture({
    ca: entra.emulator.caCertPem,
    pageSizeMax: options.pageSizeMax,
    tokenAcceptance: (url, cid, secret) => (!options.onlyTenantTokenUrl || url === tokenUrl) && entra.emulator.isSecretAccepted(entra.tenantId, cid, secret),
  });
  return { entra, f, tokenUrl, clientId: entra.target.app.appId, oldSecret: entra.target.secret.secretText, newSecret };
}

/**
 * One propagation world per describe block: started before its tests, reset (faults, rate limit,
 * latency, traffic) before each, and closed after, with every secret either emulator issued
 * scanned for in the block's log (at least `minScanned` lines must have been read).
 */
export function usePropagationWorld(options: {
  pageSizeMax: number;
  onlyTenantTokenUrl: boolean;
  minScanned: number;
}): PropagationWorld & { logger: Logger; scanner: SecretScanner } {
  const { logger, lines } = memoryLogger(new Redactor());
  const scanner = new SecretScanner();
  const world = { logger, scanner } as PropagationWorld & { logger: Logger; scanner: SecretScanner };
  beforeAll(async () => {
    Object.assign(world, await startPropagationWorld(options));
  });
  afterAll(async () => {
    scanner.addSecrets([...world.f.emulator.issuedSecrets(), ...world.entra.emulator.issuedSecrets(), world.newSecret]);
    scanner.collectAll("log", lines);
    expect(scanner.assertClean()).toBeGreaterThan(options.minScanned);
    await world.f?.close();
    await world.entra?.close();
  });
  beforeEach(() => {
    world.f.emulator.reset();
    world.f.emulator.setRateLimit(undefined);
    world.f.emulator.setLatency(0);
    world.f.emulator.traffic.clear();
    world.f.emulator.server.faults.clear();
  });
  return world;
}

/**
 * A Kong estate for adapter tests: `count` openid-connect plugins, every `every`-th one the client's,
 * interleaved with other apps' so every page mixes both; then one plugin serving two clients with
 * ours second (written as `multiClientId`), whose first client's secret must stay as it is.
 */
export function seedKongEstate(
  seed: (input: SeedPluginInput) => KongPlugin,
  o: { issuer: string; clientId: string; count: number; every: number; multiClientId?: string; tags?: string[] },
): { ours: string[]; multi: string } {
  const ours: string[] = [];
  for (let i = 0; i < o.count; i++) {
    const mine = i % o.every === 0;
    const p = seed({
      issuer: o.issuer,
      clientIds: [mine ? o.clientId : randomUUID()],
      clientSecrets: [`seeded-${i}-${randomUUID()}`],
      instanceName: `oidc-${i}`,
    });
    if (mine) ours.push(p.id);
  }
  const multi = seed({
    issuer: o.issuer,
    clientIds: [randomUUID(), o.multiClientId ?? o.clientId],
    clientSecrets: [`first-client-${randomUUID()}`, `ours-${randomUUID()}`],
    instanceName: "oidc-multi",
    ...(o.tags ? { tags: o.tags } : {}),
  });
  return { ours: [...ours, multi.id], multi: multi.id };
}

/** Lists the client's targets, then writes a fresh secret (the scanner learns it first) to `id`; the write's re-read proves it by salted hash. */
export async function writeFreshSecret(adapter: GatewayAdapter, clientId: string, id: string, scanner: SecretScanner): Promise<string> {
  await adapter.listTargets({ clientId });
  const secret = `new-${randomUUID()}`;
  scanner.addSecrets([secret]);
  const after = await adapter.updateClientSecret(id, secret);
  expect(fingerprintMatches(after, secret)).toBe(true);
  return secret;
}

/**
 * One OAuth 2.0 MCP server as the list route shows it, for listing answers a test writes by hand
 * (a fault's body, a stub gateway): the server's identity and fingerprint, our client and token URL.
 */
export function listedServer(
  s: Pick<EmulatedServer, "id" | "name" | "etag" | "secretFingerprint" | "fingerprintSalt"> & { secretUpdatedAt?: string },
  auth: { clientId: string; tokenUrl: string },
): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    etag: s.etag,
    authentication: {
      type: "oauth2",
      tokenName: "t",
      tokenUrl: auth.tokenUrl,
      clientId: auth.clientId,
      scopes: [],
      additionalParameters: {},
      ...(s.secretUpdatedAt !== undefined ? { secretUpdatedAt: s.secretUpdatedAt } : {}),
      secretFingerprint: s.secretFingerprint,
      fingerprintSalt: s.fingerprintSalt,
    },
  };
}
