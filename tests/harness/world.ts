import { randomUUID } from "node:crypto";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { DAY_MS } from "../../src/clock.js";
import { OffsetClock } from "../../emulators/common/clock.js";
import { credentialSetSchema, type CredentialSet, alertChannelSchema, type AlertChannelConfig, type Severity } from "../../src/config/schema.js";
import { createAzureCredential } from "../../src/entra/credential.js";
import type { HttpClient } from "../../src/http/client.js";
import { createRuntime, type BuiltRuntime, type RuntimeOptions } from "../../src/runtime/createRuntime.js";
import { EntraEmulator, OPERATOR_GRAPH_ROLES, type SeededApplication } from "../../emulators/entra/index.js";
import { KeyVaultEmulator } from "../../emulators/keyvault/index.js";
import { GatewayEmulator } from "../../emulators/gateway/index.js";
import { ArmEmulator } from "../../emulators/arm/index.js";
import { keyVaultReader } from "../../emulators/arm/fixture.js";
import { sharedCertificateAuthority } from "../../emulators/common/tls.js";
import { startAllReceivers, type AllReceivers } from "../../emulators/receivers/index.js";

/** The gateway's OAuth callback, registered on the app as the setup guide says. */
export const GATEWAY_REDIRECT_URI = "https://auth.aigateway.cequence.ai/v1/outbound/oauth/callback";

/**
 * One local "world": Entra + Graph, Key Vault and the gateway emulators sharing one clock, an
 * operator identity for the rotator, and helpers to seed the scenario our users live in — one app
 * registration whose hand-made secret sits in Key Vault and is pasted into many MCP servers.
 * Tests, benchmarks and `npm run demo` all start from here.
 */
export interface WorldOptions {
  clock?: OffsetClock;
  replicationDelayMs?: number;
  verbose?: boolean;
  gatewayRateLimit?: { capacity: number; refillPerSecond: number };
  gatewayLatencyMs?: number;
  /** The gateway offers the optional numbered-pages extension of its listing (docs/gateway-contract.md). */
  gatewayNumberedPages?: boolean;
  /** Start the five alert-channel receivers (Teams, Slack, PagerDuty, Opsgenie, webhook). */
  receivers?: boolean;
  /** The Entra directory's cloud, by its Graph resource (`https://graph.microsoft.us`: US Government). */
  graphResource?: string;
}

export interface SeedSetOptions {
  name?: string;
  /** Days until the hand-made secret expires. */
  secretExpiresInDays?: number;
  /** MCP servers using this set's client ID. */
  targets?: number;
  /** MCP servers using some other client ID (must stay untouched). */
  otherTargets?: number;
  /** Put the hand-made secret in Key Vault (the setup guide's step); false = Key Vault empty. */
  handMadeSecretInVault?: boolean;
  gatewayKind?: "cequence" | "manual";
  overrides?: Record<string, unknown>;
  /** Alert channels (needs `receivers`), each with its minimum severity; their URLs/keys go into Key Vault. */
  alerts?: Partial<Record<AlertChannelConfig["kind"], Severity>>;
}

export interface SeededSet {
  set: CredentialSet;
  appObjectId: string;
  handMade: { keyId: string; secretText: string };
  otherClientId: string;
}

export class World {
  readonly clock: OffsetClock;
  readonly entra: EntraEmulator;
  readonly keyVault: KeyVaultEmulator;
  readonly gateway: GatewayEmulator;
  readonly tenantId = randomUUID();
  readonly operator = { clientId: randomUUID(), secret: "" };
  readonly gatewayApiToken = `gw_${randomUUID().replace(/-/g, "")}`;
  readonly gatewayTenant = "acme";
  readonly caCertPem: string;
  receivers?: AllReceivers;
  /** Channel URLs and keys stored in Key Vault (secret-scan material). */
  readonly channelSecrets: string[] = [];

  private constructor(private readonly options: WorldOptions) {
    this.clock = options.clock ?? new OffsetClock();
    this.caCertPem = sharedCertificateAuthority().caCertPem;
    this.entra = new EntraEmulator({
      clock: this.clock,
      replicationDelayMs: options.replicationDelayMs ?? 0,
      verbose: options.verbose,
      ...(options.graphResource ? { graphResource: options.graphResource } : {}),
    });
    this.keyVault = new KeyVaultEmulator({
      authorityUrl: () => `${this.entra.server.url}/${this.tenantId}`,
      validateToken: (t) => this.entra.validateAccessToken(t),
      clock: this.clock,
      verbose: options.verbose,
    });
    this.gateway = new GatewayEmulator({
      apiToken: this.gatewayApiToken,
      tenant: this.gatewayTenant,
      ca: this.caCertPem,
      tokenAcceptance: (tokenUrl, clientId, secret) => this.acceptsAt(tokenUrl, clientId, secret),
      rateLimit: options.gatewayRateLimit,
      latencyMs: options.gatewayLatencyMs,
      numberedPages: options.gatewayNumberedPages,
      verbose: options.verbose,
    });
  }

  static async start(options: WorldOptions = {}): Promise<World> {
    return World.create(options).start();
  }

  /**
   * The emulators built but not yet listening, so a test file can hold the world in a `const` from
   * the start (see useWorld) and open it in beforeAll.
   */
  static create(options: WorldOptions = {}): World {
    return new World(options);
  }

  async start(): Promise<this> {
    await this.entra.start();
    await this.keyVault.start();
    await this.gateway.start();
    this.entra.seedTenant({ tenantId: this.tenantId, customDomain: "contoso.example" });
    const op = this.entra.seedApplication({ tenantId: this.tenantId, displayName: "mcp-sso-rotator (operator identity)", appId: this.operator.clientId });
    // DESIGN.md, Security: Application.ReadWrite.OwnedBy (+ policy reads); seedSet makes it an owner of each app.
    this.entra.setGraphAppRoles(this.operator.clientId, [...OPERATOR_GRAPH_ROLES]);
    this.operator.secret = this.entra.seedPassword(op.id, {
      displayName: "operator",
      endDateTime: new Date(Date.now() + 3650 * DAY_MS).toISOString(),
    }).secretText;
    this.seedWorldSecrets();
    if (this.options.receivers) this.receivers = await startAllReceivers({ clock: this.clock, verbose: this.options.verbose });
    return this;
  }

  /**
   * Forgets every seeded set's MCP servers, Key Vault secrets and delivered alerts; the world's own
   * identity and gateway token stay, and so do the Entra apps and the logs of issued secrets. A
   * long simulation calls it between estates: the product lists every server the gateway holds on
   * every pass, so without it a worker's hundredth schedule cost four times its first.
   */
  forgetSets(): void {
    this.gateway.reset();
    this.keyVault.state.reset();
    this.seedWorldSecrets();
    this.receivers?.reset();
  }

  /** What Key Vault holds for the world itself rather than for a set: the gateway's API token. */
  private seedWorldSecrets(): void {
    this.keyVault.seedSecret("gateway-api-token", this.gatewayApiToken);
  }

  /**
   * The sandbox (`npm run emulators`): every emulator of this world answers the clock routes of
   * its one shared clock, so a control call to any of them moves all of them.
   */
  shareSandboxClock(): void {
    for (const server of [this.entra.server, this.keyVault.server, this.gateway.server]) server.routeClock(this.clock);
  }

  get authorityHost(): string {
    return this.entra.server.url;
  }

  /**
   * An ARM emulator (not started) beside this world, for target groups reached through Resource
   * Manager: tokens from this world's Entra (register the Resource Manager audience there once it
   * runs: `entra.registerResource("https://management.azure.com")`), resources that read this
   * world's Key Vault as their identity would, connection status from Entra's ground truth, and
   * this world's clock.
   */
  armEmulator(): ArmEmulator {
    return new ArmEmulator({
      clock: this.clock,
      tenantId: this.tenantId,
      validateToken: (t) => this.entra.validateAccessToken(t),
      keyVault: keyVaultReader(this.keyVault),
      acceptsSecret: (clientId, secret) => this.entra.isSecretAccepted(this.tenantId, clientId, secret),
    });
  }

  /**
   * A real user going through the gateway's sign-in (the authorize endpoint, with the emulator's
   * `x_emulator_user` standing in for the login page): the HTTP status the authorize endpoint answered.
   */
  async userSignsIn(http: HttpClient, clientId: string, user: string): Promise<number> {
    const u = new URL(`${this.authorityHost}/${this.tenantId}/oauth2/v2.0/authorize`);
    const q = {
      client_id: clientId,
      redirect_uri: "https://auth.aigateway.cequence.ai/v1/outbound/oauth/callback",
      response_type: "code",
      scope: "openid profile email User.Read",
      x_emulator_user: user,
    };
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    const res = await http.request({ method: "GET", url: u.href, throwOnHttpError: false });
    return res.status;
  }

  /** Ground truth: does Entra accept this secret for this client at the tenant named in the token URL? */
  acceptsAt(tokenUrl: string, clientId: string, secret: string): boolean {
    return this.entra.isSecretAccepted(this.tenantId, clientId, secret) && tokenUrl.includes(this.entra.server.url.replace(/^https?:\/\//, ""));
  }

  /**
   * The gateway's app registration as the setup guide configures it — redirect URI on the Web
   * platform, ID tokens on, public client flows off, openid profile email User.Read admin-consented —
   * owned by the rotator's identity, which is what Application.ReadWrite.OwnedBy needs.
   */
  seedGuideApp(clientId: string, options: { signInAudience?: string } = {}): SeededApplication {
    const app = this.entra.seedApplication({
      tenantId: this.tenantId,
      appId: clientId,
      displayName: "Cequence AI Gateway",
      redirectUris: [GATEWAY_REDIRECT_URI],
      enableIdTokenIssuance: true,
      isFallbackPublicClient: false,
      ...(options.signInAudience ? { signInAudience: options.signInAudience } : {}),
      owners: [this.operator.clientId],
    });
    this.entra.seedServicePrincipal(clientId, { appRoleAssignmentRequired: false });
    this.entra.seedConsent(clientId, ["openid", "profile", "email", "User.Read"]);
    return app;
  }

  /** The cequence target group of this world's gateway emulator, as a credential set lists it. */
  cequenceGroup() {
    return {
      kind: "cequence" as const,
      baseUrl: this.gateway.url,
      tenant: this.gatewayTenant,
      apiTokenSecretName: "gateway-api-token",
      maxConcurrency: 8,
      maxRequestsPerSecond: 200,
    };
  }

  /** Seeds the setup guide's world: an app, a hand-made secret in Key Vault, and N MCP servers using it. */
  seedSet(options: SeedSetOptions = {}): SeededSet {
    const name = options.name ?? "cequence-sso";
    const clientId = randomUUID();
    const app = this.seedGuideApp(clientId);
    const now = this.clock.now().getTime();
    const handMade = this.entra.seedPassword(app.id, {
      displayName: "MCP Server Secret",
      startDateTime: new Date(now - 355 * DAY_MS).toISOString(),
      endDateTime: new Date(now + (options.secretExpiresInDays ?? 10) * DAY_MS).toISOString(),
    });
    const secretName = `${name}-client-secret`;
    if (options.handMadeSecretInVault !== false) this.keyVault.seedSecret(secretName, handMade.secretText);

    const tokenUrl = `${this.authorityHost}/${this.tenantId}/oauth2/v2.0/token`;
    const authorizationUrl = `${this.authorityHost}/${this.tenantId}/oauth2/v2.0/authorize`;
    const params = { tenantID: this.tenantId, authorizationUrl, redirectUri: GATEWAY_REDIRECT_URI };
    for (let i = 1; i <= (options.targets ?? 25); i++) {
      this.gateway.seedServer({
        name: `${name}-mcp-${String(i).padStart(2, "0")}`,
        tokenName: "entra-sso",
        tokenUrl,
        clientId,
        clientSecret: handMade.secretText,
        scopes: ["email", "profile", "openid", "User.Read"],
        additionalParameters: params,
      });
    }
    const otherClientId = randomUUID();
    for (let i = 1; i <= (options.otherTargets ?? 3); i++) {
      this.gateway.seedServer({
        name: `other-app-mcp-${i}`,
        tokenName: "other",
        tokenUrl,
        clientId: otherClientId,
        clientSecret: `other-secret-${randomUUID()}`,
        scopes: ["openid"],
        additionalParameters: params,
      });
    }

    const alerts = options.alerts ? this.seedAlertChannels(name, options.alerts) : [];
    const raw = {
      name,
      alerts,
      tenantId: this.tenantId,
      clientId,
      authorityHost: this.authorityHost,
      graphBaseUrl: this.entra.server.url,
      keyVault: { url: this.keyVault.url, secretName },
      secret: { lifetimeDays: 180, renewBeforeDays: 30, renewAtFraction: 0.1, gracePeriodHours: 24 },
      verification: { consecutiveSuccesses: 2, budgetSeconds: 20, intervalMs: 50, minStableSeconds: 0 },
      gateway: options.gatewayKind === "manual" ? { kind: "manual", targets: [] } : this.cequenceGroup(),
      ...options.overrides,
    };
    const set = credentialSetSchema.parse(raw);
    return { set, appObjectId: app.id, handMade: { keyId: handMade.keyId, secretText: handMade.secretText }, otherClientId };
  }

  /** Creates one destination per channel kind on the receivers and stores its URL/key in Key Vault. */
  seedAlertChannels(prefix: string, wanted: Partial<Record<AlertChannelConfig["kind"], Severity>>): AlertChannelConfig[] {
    const rx = this.receivers;
    if (!rx) throw new Error("start the world with { receivers: true } to configure alert channels");
    const put = (name: string, value: string): string => {
      this.keyVault.seedSecret(name, value);
      this.channelSecrets.push(value);
      return name;
    };
    const out: AlertChannelConfig[] = [];
    for (const [kind, minSeverity] of Object.entries(wanted) as [AlertChannelConfig["kind"], Severity][]) {
      const n = (s: string): string => `${prefix}-alert-${s}`;
      if (kind === "teams") out.push(alertChannelSchema.parse({ kind, urlSecretName: put(n("teams-url"), rx.teams.createWorkflow()), minSeverity }));
      if (kind === "slack")
        out.push(alertChannelSchema.parse({ kind, urlSecretName: put(n("slack-url"), rx.slack.createWebhook({ channel: "#sso-oncall" })), minSeverity }));
      if (kind === "pagerduty")
        out.push(
          alertChannelSchema.parse({
            kind,
            routingKeySecretName: put(n("pagerduty-key"), rx.pagerduty.createIntegration()),
            eventsUrl: rx.pagerduty.eventsUrl,
            minSeverity,
          }),
        );
      if (kind === "opsgenie")
        out.push(
          alertChannelSchema.parse({ kind, apiKeySecretName: put(n("opsgenie-key"), rx.opsgenie.createIntegration()), apiUrl: rx.opsgenie.url, minSeverity }),
        );
      if (kind === "webhook") {
        const ep = rx.webhook.createEndpoint();
        out.push(
          alertChannelSchema.parse({
            kind,
            urlSecretName: put(n("webhook-url"), ep.url),
            signingKeySecretName: put(n("webhook-key"), ep.signingKey),
            minSeverity,
          }),
        );
      }
    }
    return out;
  }

  runtime(sets: CredentialSet[], container: ContainerClient, extra: Partial<RuntimeOptions> = {}): BuiltRuntime {
    const credential = createAzureCredential({
      tenantId: this.tenantId,
      clientId: this.operator.clientId,
      clientSecret: this.operator.secret,
      authorityHost: this.authorityHost,
      ca: this.caCertPem,
    });
    return createRuntime({
      sets,
      credential,
      container,
      ca: this.caCertPem,
      clock: this.clock,
      httpRetry: { baseDelayInMs: 10, maxDelayInMs: 100 },
      vaultRetry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 100 },
      lease: { durationSeconds: 15 },
      ...extra,
    });
  }

  /** Every secret value any emulator issued or holds: the secret scan's list. */
  secrets(): string[] {
    return [...this.entra.issuedSecrets(), ...this.gateway.issuedSecrets(), this.operator.secret, this.gatewayApiToken, ...this.channelSecrets];
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.entra.close(), this.keyVault.close(), this.gateway.close(), ...(this.receivers ? [this.receivers.close()] : [])]);
  }
}

/** A fresh container per test/demo so runs never see each other's leases or journals. */
export async function freshContainer(connectionString: string, prefix = "rotator"): Promise<ContainerClient> {
  const svc = BlobServiceClient.fromConnectionString(connectionString);
  const c = svc.getContainerClient(`${prefix}-${randomUUID().slice(0, 8)}`);
  await c.createIfNotExists();
  return c;
}
