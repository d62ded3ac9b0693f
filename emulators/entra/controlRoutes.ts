import type { EmulatorServer, EmuRequest, EmuResponse } from "../common/server.js";
import { EntraEmulatorError, type ConcurrentWriteFault, type EntraState } from "./state.js";
import type { PolicyShorthand } from "./appPolicy.js";
import { validateReplication, type ReplicationSettings } from "./replication.js";

/**
 * `/_control/*` JSON routes mirroring the in-process seeding API, for `npm run emulators` and the
 * demo. These routes are test fixtures: they do hand out secret values (seeded secrets, the list of
 * issued secrets) because a test's ground truth needs them.
 */
export function registerControlRoutes(server: EmulatorServer, state: EntraState): void {
  const handle =
    (fn: (req: EmuRequest) => unknown, status = 200) =>
    (req: EmuRequest): EmuResponse => {
      try {
        const body = fn(req);
        return body === undefined ? { status: 204 } : { status, body };
      } catch (e) {
        if (e instanceof EntraEmulatorError) {
          return { status: e.kind === "notFound" ? 404 : 400, body: { error: { code: e.kind, message: e.message } } };
        }
        throw e;
      }
    };
  const body = <T>(req: EmuRequest): T => {
    const b = req.json<T | null>();
    if (b === null || typeof b !== "object") throw new EntraEmulatorError("badRequest", "a JSON object body is required");
    return b;
  };

  server.route(
    "POST",
    /^\/_control\/tenants$/,
    handle((req) => state.seedTenant(body(req)), 201),
  );
  server.route(
    "POST",
    /^\/_control\/applications$/,
    handle((req) => state.seedApplication(body(req)), 201),
  );
  server.route(
    "POST",
    /^\/_control\/applications\/([^/]+)\/passwords$/,
    handle((req) => state.seedPassword(req.params[0]!, body(req)), 201),
  );
  // An operator in the sandbox knows the client ID (it is in the credential set), not the object ID: both name the app here.
  const application = (id: string) => {
    const app = state.getApplication(id) ?? state.findApplicationAnyTenant(id);
    if (!app) throw new EntraEmulatorError("notFound", `application ${id} does not exist (give its object ID or its appId)`);
    return app;
  };
  server.route(
    "GET",
    /^\/_control\/applications\/([^/]+)\/passwords$/,
    handle((req) => ({ passwordCredentials: application(req.params[0]!).passwordCredentials.map(({ secretText: _s, ...p }) => p) })),
  );
  // A credential removed by hand in the portal: Graph stops listing it, the token endpoint refuses it after the removal lag.
  server.route(
    "DELETE",
    /^\/_control\/applications\/([^/]+)\/passwords\/([^/]+)$/,
    handle((req) => {
      const app = application(req.params[0]!);
      if (!state.removePassword(app.id, req.params[1]!))
        throw new EntraEmulatorError("notFound", `application ${req.params[0]} has no password ${req.params[1]}`);
      return undefined;
    }),
  );
  server.route(
    "POST",
    /^\/_control\/servicePrincipals$/,
    handle((req) => {
      const { appId, ...rest } = body<{ appId: string }>(req);
      return state.seedServicePrincipal(appId, rest);
    }, 201),
  );
  server.route(
    "POST",
    /^\/_control\/consent$/,
    handle((req) => {
      const b = body<{ appId: string; scopes: string[] | null }>(req);
      return { grant: state.seedConsent(b.appId, b.scopes ?? null) ?? null };
    }),
  );
  server.route(
    "PUT",
    /^\/_control\/appManagementPolicy$/,
    handle((req) => state.setDefaultPolicy(body<PolicyShorthand>(req))),
  );
  server.route(
    "PUT",
    /^\/_control\/applications\/([^/]+)\/appManagementPolicy$/,
    handle((req) => state.assignAppPolicy(req.params[0]!, req.json<PolicyShorthand | null>()) ?? null),
  );
  server.route(
    "PUT",
    /^\/_control\/concurrentWrites$/,
    handle((req) => {
      const b = req.json<ConcurrentWriteFault | null>();
      if (b !== null && (typeof b.windowMs !== "number" || b.windowMs < 0))
        throw new EntraEmulatorError("badRequest", "windowMs must be a number ≥ 0 (or send null)");
      state.setConcurrentWrites(b ?? undefined);
      return { concurrentWrites: b };
    }),
  );
  server.route(
    "PUT",
    /^\/_control\/replicationDelay$/,
    handle((req) => {
      const b = body<{ ms: number }>(req);
      if (typeof b.ms !== "number" || b.ms < 0) throw new EntraEmulatorError("badRequest", "ms must be a number ≥ 0");
      state.replicationDelayMs = b.ms;
      return { ms: b.ms };
    }),
  );
  server.route(
    "PUT",
    /^\/_control\/replication$/,
    handle((req) => {
      const b = body<Partial<ReplicationSettings>>(req);
      const problem = validateReplication(b);
      if (problem) throw new EntraEmulatorError("badRequest", problem);
      state.replication = { ...state.replication, ...b };
      return state.replication;
    }),
  );
  server.route(
    "PUT",
    /^\/_control\/servicePrincipals\/([^/]+)\/graphAppRoles$/,
    handle((req) => {
      const sp = state.setGraphAppRoles(req.params[0]!, body<{ roles: string[] }>(req).roles);
      return { appId: sp.appId, roles: sp.graphAppRoles };
    }),
  );
  server.route(
    "POST",
    /^\/_control\/applications\/([^/]+)\/owners$/,
    handle((req) => {
      const sp = state.addOwner(req.params[0]!, body<{ appId: string }>(req).appId);
      return { servicePrincipalId: sp.id, appId: sp.appId };
    }, 201),
  );
  server.route(
    "DELETE",
    /^\/_control\/applications\/([^/]+)\/owners\/([^/]+)$/,
    handle((req) => {
      state.removeOwner(req.params[0]!, req.params[1]!);
      return undefined;
    }),
  );
  server.route(
    "POST",
    /^\/_control\/resources$/,
    handle((req) => {
      const r = body<{ resource: string }>(req).resource;
      if (typeof r !== "string" || r.length === 0) throw new EntraEmulatorError("badRequest", "resource (a URI or app ID) is required");
      state.registerResource(r);
      return undefined;
    }),
  );
  server.route(
    "POST",
    /^\/_control\/secretAccepted$/,
    handle((req) => {
      const b = body<{ tenantId: string; clientId: string; secret: string }>(req);
      return { accepted: state.isSecretAccepted(b.tenantId, b.clientId, b.secret) };
    }),
  );
  server.route(
    "GET",
    /^\/_control\/issuedSecrets$/,
    handle(() => ({ secrets: state.issuedSecrets() })),
  );
  server.route(
    "POST",
    /^\/_control\/validateAccessToken$/,
    handle((req) => ({ token: state.validateAccessToken(body<{ token: string }>(req).token) ?? null })),
  );
}
