import type { AppRegistration } from "../../entra/types.js";
import { settle } from "../deadline.js";
import { appOrFinding, maybe, oauthTargets, type CheckDefinition } from "../context.js";
import { paramOf } from "../endpoints.js";
import { Findings } from "../findings.js";
import type { Evidence } from "../model.js";

/**
 * The app registration as the setup guide configures it: the gateway's redirect URI registered
 * exactly on the Web platform, ID tokens on, public client flows off, delegated Microsoft Graph
 * `openid profile email User.Read` requested and admin-consented, and — when the enterprise
 * application requires assignment — someone assigned (otherwise every user meets AADSTS50105).
 */
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

/** Microsoft Graph delegated permission IDs, as published in the Graph permissions reference. */
const GRAPH_DELEGATED_SCOPE_IDS: Readonly<Record<string, string>> = {
  openid: "37f7f235-527c-4136-accd-4a02d197296e",
  profile: "14dad69e-099b-42c9-810b-d002981feec1",
  email: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
  offline_access: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
  "user.read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
};

/** Scopes a user never needs consent for on their own (`offline_access` comes with sign-in). */
const NO_CONSENT_NEEDED = new Set(["offline_access"]);

export const appRegistrationCheck: CheckDefinition = {
  id: "app-registration",
  title: "App registration settings from the setup guide",
  async run(ctx, f) {
    const { set, deps, abortSignal: signal } = ctx;
    const evidence: Evidence = { clientId: set.clientId };

    const app = await appOrFinding(ctx, f);
    if (!app) return f.outcome("", evidence);
    evidence.displayName = app.displayName;
    evidence.signInAudience = app.signInAudience;
    evidence.registeredRedirectUris = app.web.redirectUris;

    const targets = oauthTargets(maybe(await ctx.shared.targets(), evidence, "gatewayTargets"));
    checkRedirectUris(f, app, [set.redirectUri, ...targets.map((t) => paramOf(t.additionalParameters, "redirectUri")?.value)]);
    checkAuthenticationSettings(f, app, evidence);
    checkRequestedScopes(f, app, set.scopes, evidence);

    const sp = await settle(deps.graph.getServicePrincipal(set.clientId, { abortSignal: signal }));
    if (!sp.ok) {
      f.warn("warning", `the enterprise application could not be read (${sp.error.code}); consent and assignment were not checked`, sp.error.hint);
    } else if (!sp.value) {
      f.fail(
        "error",
        "the app has no enterprise application (service principal) in the tenant, so nobody can sign in to it",
        "Create the enterprise application (service principal) for the app, e.g. by granting admin consent on the API permissions page.",
      );
    } else {
      evidence.assignmentRequired = sp.value.appRoleAssignmentRequired;
      const spId = sp.value.id;
      const [grants, graphSp, assignments] = await Promise.all([
        settle(deps.graph.listOAuth2PermissionGrants(spId, { abortSignal: signal })),
        settle(deps.graph.getServicePrincipal(GRAPH_APP_ID, { abortSignal: signal })),
        sp.value.appRoleAssignmentRequired ? settle(deps.graph.listAppRoleAssignedTo(spId, { abortSignal: signal })) : undefined,
      ]);

      if (!grants.ok) {
        f.warn("warning", `the consent grants could not be read (${grants.error.code})`, grants.error.hint);
      } else {
        const graphId = graphSp.ok ? graphSp.value?.id : undefined;
        const admin = grants.value.filter((g) => g.consentType === "AllPrincipals" && (graphId === undefined || g.resourceId === graphId));
        const granted = new Set(
          admin
            .flatMap((g) => g.scope.split(/\s+/))
            .filter(Boolean)
            .map((s) => s.toLowerCase()),
        );
        evidence.adminConsentedScopes = [...granted];
        const userConsents = grants.value.filter((g) => g.consentType === "Principal").length;
        if (userConsents) evidence.userConsents = userConsents;
        const missing = set.scopes.filter((s) => !NO_CONSENT_NEEDED.has(s.toLowerCase()) && !granted.has(s.toLowerCase()));
        if (missing.length) {
          f.fail(
            "error",
            `admin consent is not granted for ${missing.join(", ")}: users are asked to consent, or refused where only admins may consent (AADSTS65001)`,
            "On the app registration's API permissions page, select 'Grant admin consent for <your organization>' and check every permission shows Granted.",
            65001,
          );
        }
      }

      if (assignments) {
        if (!assignments.ok) {
          f.warn("warning", `the enterprise application's assignments could not be read (${assignments.error.code})`, assignments.error.hint);
        } else {
          const people = assignments.value.filter((a) => a.principalType === "User" || a.principalType === "Group");
          evidence.assignedUsersAndGroups = people.length;
          if (people.length === 0) {
            f.warn(
              "warning",
              "'Assignment required' is on but no user or group is assigned: every sign-in will fail with AADSTS50105",
              "In Enterprise applications > <app> > Users and groups, assign the users or groups who use the MCP servers, or set 'Assignment required?' to No.",
              50105,
            );
          }
        }
      }
    }

    return f.outcome("redirect URI registered exactly, ID tokens on, public client flows off, delegated permissions requested and admin-consented", evidence);
  },
};

function checkRedirectUris(f: Findings, app: AppRegistration, wanted: (string | undefined)[]): void {
  const norm = (u: string): string => u.trim().replace(/\/+$/, "").toLowerCase();
  for (const uri of new Set(wanted.filter((u): u is string => !!u))) {
    if (app.web.redirectUris.includes(uri)) continue;
    const near = app.web.redirectUris.find((r) => norm(r) === norm(uri));
    f.fail(
      "critical",
      near
        ? `the redirect URI ${uri} is registered only as ${near} (Entra compares exactly: case and trailing slash count) — sign-ins fail with AADSTS50011`
        : `the redirect URI ${uri} is not registered on the app's Web platform — sign-ins fail with AADSTS50011`,
      `Add ${uri} exactly to Authentication > Platform configurations > Web > Redirect URIs, or make the gateway's redirectUri match the registered one.`,
      50011,
    );
  }
}

function checkAuthenticationSettings(f: Findings, app: AppRegistration, evidence: Evidence): void {
  const implicit = app.web.implicitGrantSettings;
  evidence.idTokenIssuance = implicit.enableIdTokenIssuance;
  evidence.accessTokenIssuance = implicit.enableAccessTokenIssuance;
  evidence.publicClientFlows = app.isFallbackPublicClient === true;
  if (!implicit.enableIdTokenIssuance) {
    f.fail(
      "warning",
      "ID tokens are not enabled for the app (the setup guide requires them for OpenID Connect)",
      "In Authentication > Advanced settings (Implicit grant and hybrid flows), check 'ID tokens' and save.",
    );
  }
  if (implicit.enableAccessTokenIssuance) {
    f.warn(
      "info",
      "implicit-flow access tokens are enabled, which the authorization code flow does not need",
      "In Authentication, uncheck 'Access tokens' under Implicit grant and hybrid flows.",
    );
  }
  if (app.isFallbackPublicClient === true) {
    f.fail(
      "error",
      "public client flows are allowed, so the app accepts sign-ins without its client secret",
      "In Authentication > Advanced settings, set 'Allow public client flows' to No and save.",
    );
  }
}

function checkRequestedScopes(f: Findings, app: AppRegistration, scopes: readonly string[], evidence: Evidence): void {
  const graph = app.requiredResourceAccess.filter((r) => r.resourceAppId.toLowerCase() === GRAPH_APP_ID);
  const requested = new Set(graph.flatMap((r) => r.resourceAccess.filter((a) => a.type === "Scope").map((a) => a.id.toLowerCase())));
  const missing: string[] = [];
  const unknown: string[] = [];
  for (const scope of scopes) {
    const id = GRAPH_DELEGATED_SCOPE_IDS[scope.toLowerCase()];
    if (!id) unknown.push(scope);
    else if (!requested.has(id)) missing.push(scope);
  }
  if (unknown.length) evidence.scopesNotVerified = unknown;
  if (missing.length) {
    f.fail(
      "warning",
      `the app does not request the delegated Microsoft Graph permission(s) ${missing.join(", ")}`,
      `Under API permissions, add Microsoft Graph > Delegated permissions > ${missing.join(", ")}, then grant admin consent.`,
    );
  }
}
