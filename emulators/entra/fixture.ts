import { randomUUID } from "node:crypto";
import { ClientSecretCredential, type TokenCredential } from "@azure/identity";
import { OffsetClock } from "../common/clock.js";
import type { HttpsFetch } from "../common/httpsFetch.js";
import { EntraEmulator, type EntraEmulatorOptions, type SeededApplication } from "./emulator.js";
import type { CreatedPassword } from "./state.js";

/** What the rotator's identity is granted in Graph (DESIGN.md, Security): it manages only the apps it owns. */
export const OPERATOR_GRAPH_ROLES: readonly string[] = ["Application.ReadWrite.OwnedBy", "Policy.Read.ApplicationConfiguration"];

/**
 * A started Entra emulator with one tenant, an operator app (the rotator's identity, with a secret,
 * the Graph application permissions DESIGN.md gives it and ownership of the target app) and a
 * target app registration (the one whose secret is rotated, with one hand-made secret, a service
 * principal and admin consent for its delegated scopes). Shared by tests, benchmarks and the demo
 * so every part seeds the same realistic starting point.
 */
export interface EntraFixture {
  emulator: EntraEmulator;
  clock: OffsetClock;
  url: string;
  tenantId: string;
  customDomain: string;
  operator: { app: SeededApplication; secret: string };
  target: { app: SeededApplication; secret: CreatedPassword; redirectUri: string };
  /** A real ClientSecretCredential for the operator app, trusting the emulator CA. */
  operatorCredential(): TokenCredential;
  /** The real identity SDK signing in as `appId` with `secret` against this emulator, without retries (each refusal is seen). */
  appCredential(appId: string, secret: string): ClientSecretCredential;
  close(): Promise<void>;
}

export interface EntraFixtureOptions extends Omit<EntraEmulatorOptions, "clock"> {
  clock?: OffsetClock;
  redirectUri?: string;
  /** Graph application permissions of the operator app (default OPERATOR_GRAPH_ROLES). */
  operatorGraphRoles?: string[];
}

export async function startEntraFixture(options: EntraFixtureOptions = {}): Promise<EntraFixture> {
  const clock = options.clock ?? new OffsetClock();
  const emulator = new EntraEmulator({ ...options, clock });
  const url = await emulator.start();
  const tenantId = randomUUID();
  const customDomain = "contoso.example.com";
  emulator.seedTenant({ tenantId, customDomain, displayName: "Contoso" });

  const operatorApp = emulator.seedApplication({ tenantId, displayName: "mcp-sso-rotator operator", requiredScopes: [] });
  emulator.setGraphAppRoles(operatorApp.appId, [...(options.operatorGraphRoles ?? OPERATOR_GRAPH_ROLES)]);
  const operatorSecret = emulator.seedPassword(operatorApp.id, {
    displayName: "operator",
    endDateTime: new Date(clock.now().getTime() + 365 * 86_400_000).toISOString(),
  }).secretText;

  const redirectUri = options.redirectUri ?? "https://gateway.example.com/oauth/callback";
  const targetApp = emulator.seedApplication({
    tenantId,
    displayName: "MCP servers SSO",
    redirectUris: [redirectUri],
    enableIdTokenIssuance: true,
    owners: [operatorApp.appId],
  });
  const targetSecret = emulator.seedPassword(targetApp.id, {
    displayName: "initial (portal)",
    endDateTime: new Date(clock.now().getTime() + 180 * 86_400_000).toISOString(),
  });
  emulator.seedServicePrincipal(targetApp.appId, { appRoleAssignmentRequired: false });
  emulator.seedConsent(targetApp.appId, ["openid", "profile", "email", "User.Read"]);

  const appCredential = (appId: string, secret: string): ClientSecretCredential =>
    new ClientSecretCredential(tenantId, appId, secret, {
      authorityHost: url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: emulator.caCertPem },
      retryOptions: { maxRetries: 0 },
    });

  return {
    emulator,
    clock,
    url,
    tenantId,
    customDomain,
    operator: { app: operatorApp, secret: operatorSecret },
    target: { app: targetApp, secret: targetSecret, redirectUri },
    operatorCredential: () => appCredential(operatorApp.appId, operatorSecret),
    appCredential,
    close: () => emulator.close(),
  };
}

/**
 * A plain client-credentials POST for a Graph token at the fixture's tenant, as a gateway sends it
 * (`send` trusts the emulator CA); the target app's client ID unless another is given.
 */
export function postClientCredentials(fx: EntraFixture, send: HttpsFetch, secret: string, clientId = fx.target.app.appId): Promise<Response> {
  return send(`${fx.url}/${fx.tenantId}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: secret,
      scope: "https://graph.microsoft.com/.default",
    }).toString(),
  });
}
