import type { CredentialSet } from "../../config/schema.js";
import { fetchDiscovery, tokenUrlFor } from "../../entra/token.js";
import type { GatewayTarget } from "../../gateway/types.js";
import { settle } from "../deadline.js";
import { maybe, nameList, need, oauthTargets, type CheckContext, type CheckDefinition, type RotationView } from "../context.js";
import { pickupLine } from "../../gateway/proof.js";
import { groupPickups, type GroupPickup } from "./groupPickup.js";
import {
  compareEndpoint,
  domainTenantsIn,
  expectedAuthorizeUrl,
  originOf,
  paramOf,
  parseEntraUrl,
  relateTenant,
  type DomainMap,
  type EndpointComparison,
} from "../endpoints.js";
import { Findings } from "../findings.js";
import type { CheckSeverity, Evidence } from "../model.js";
import { ALIAS_TOKEN_HINT } from "./discovery.js";

/**
 * Each gateway target against the set: token URL, client ID, scopes, the additional parameters
 * tenantID / authorizationUrl / redirectUri, and whether its secret fingerprint proves it holds the
 * secret Key Vault holds now. Problems are grouped by kind so 40 drifted servers make one line each
 * kind, naming the servers.
 */
export interface TargetProblem {
  kind: string;
  severity: CheckSeverity;
  status: "warn" | "fail";
  detail: string;
  hint: string;
  aadsts?: number;
}

export interface DriftContext {
  set: Pick<CredentialSet, "authorityHost" | "tenantId" | "clientId" | "multiTenant" | "scopes" | "redirectUri">;
  /** Verified domains seen in target URLs, resolved to their tenant GUID (null: unknown to Entra; undefined: not resolved). */
  domains: DomainMap;
  /** The app's registered Web redirect URIs, when the app could be read. */
  registeredRedirectUris?: readonly string[];
}

/** Everything wrong with one target's OAuth settings (the secret fingerprint is judged separately). */
export function targetProblems(t: GatewayTarget, ctx: DriftContext): TargetProblem[] {
  const { set, domains } = ctx;
  const out: TargetProblem[] = [];
  const origin = originOf(set.authorityHost) ?? set.authorityHost.toLowerCase();
  const expectedToken = tokenUrlFor(set.authorityHost, set.tenantId);

  const token = compareEndpoint(t.tokenUrl, { origin, kind: "token", tenant: set.tenantId }, domains);
  if (!token.ok) out.push(tokenUrlProblem(t.tokenUrl, token, expectedToken, domains));

  if (t.clientId.toLowerCase() !== set.clientId.toLowerCase()) {
    out.push({
      kind: "clientId",
      severity: "critical",
      status: "fail",
      detail: `client ID is ${t.clientId}, not ${set.clientId}`,
      hint: "Set the target's Client ID to the Application (client) ID on the app registration's Overview page.",
      aadsts: 700016,
    });
  }

  out.push(...scopeProblems(t.scopes, set.scopes));
  out.push(...tenantParamProblems(t, set, domains));

  const authParam = paramOf(t.additionalParameters, "authorizationUrl");
  const expectedAuth = expectedAuthorizeUrl(set);
  if (!authParam) {
    out.push(missingParameter("authorizationUrl", expectedAuth));
  } else {
    out.push(...authorizationUrlProblems(authParam.value, ctx, origin, expectedAuth));
  }

  out.push(...redirectUriProblems(t, ctx));
  return out;
}

/** An additional parameter the target lacks, with the value to add. */
function missingParameter(name: string, value: string): TargetProblem {
  return {
    kind: `${name}-missing`,
    severity: "error",
    status: "fail",
    detail: `additional parameter ${name} is missing`,
    hint: `Add ${name}=${value} to the target's Additional Parameters.`,
  };
}

/** Scopes the set asks for that the target lacks (a failure), and scopes it adds (noted). */
function scopeProblems(scopes: readonly string[], configured: readonly string[]): TargetProblem[] {
  const out: TargetProblem[] = [];
  const want = new Set(configured.map((s) => s.toLowerCase()));
  const have = new Set(scopes.map((s) => s.toLowerCase()));
  const missing = configured.filter((s) => !have.has(s.toLowerCase()));
  const extra = scopes.filter((s) => !want.has(s.toLowerCase()));
  if (missing.length) {
    const hint = `Set the target's Scopes to ${JSON.stringify(configured)} as the setup guide lists them.`;
    out.push({ kind: "scopes-missing", severity: "warning", status: "fail", detail: `scopes lack ${missing.join(", ")}`, hint });
  }
  if (extra.length) {
    const hint = "Extra scopes need their own consent; remove them unless an MCP server needs them.";
    out.push({ kind: "scopes-extra", severity: "info", status: "warn", detail: `scopes add ${extra.join(", ")}`, hint });
  }
  return out;
}

/** The tenantID additional parameter: present, and the set's tenant (its GUID, a verified domain, or an alias when multi-tenant). */
function tenantParamProblems(t: GatewayTarget, set: DriftContext["set"], domains: DomainMap): TargetProblem[] {
  const out: TargetProblem[] = [];
  const tenantParam = paramOf(t.additionalParameters, "tenantID");
  if (!tenantParam) {
    out.push(missingParameter("tenantID", set.tenantId));
  } else {
    const rel = relateTenant(tenantParam.value.trim(), set.tenantId, domains);
    const aliasOk = rel === "alias" && set.multiTenant;
    if (rel !== "same" && rel !== "domain" && !aliasOk) {
      out.push({
        kind: "tenantID",
        severity: "error",
        status: "fail",
        detail: `additional parameter tenantID is '${tenantParam.value}', not ${set.tenantId}`,
        hint: `Set tenantID=${set.tenantId} in the target's Additional Parameters.`,
      });
    }
  }
  return out;
}

/** The redirectUri additional parameter: present, and the configured one — or at least one registered on the app. */
function redirectUriProblems(t: GatewayTarget, ctx: DriftContext): TargetProblem[] {
  const out: TargetProblem[] = [];
  const redirect = paramOf(t.additionalParameters, "redirectUri");
  if (!redirect) {
    out.push(missingParameter("redirectUri", ctx.set.redirectUri));
  } else if (redirect.value !== ctx.set.redirectUri) {
    const registered = ctx.registeredRedirectUris?.includes(redirect.value);
    out.push(
      registered
        ? {
            kind: "redirectUri-other",
            severity: "warning",
            status: "warn",
            detail: `redirectUri is ${redirect.value}, not the configured ${ctx.set.redirectUri} (it is registered on the app, so sign-in works)`,
            hint: "Align the gateway's redirectUri and the credential set's redirectUri so both describe the same callback.",
          }
        : {
            kind: "redirectUri",
            severity: "error",
            status: "fail",
            detail: `redirectUri is ${redirect.value}, not ${ctx.set.redirectUri}${ctx.registeredRedirectUris ? " and it is not registered on the app (AADSTS50011)" : ""}`,
            hint: `Set redirectUri=${ctx.set.redirectUri} in the target's Additional Parameters (it must match a Web redirect URI on the app exactly).`,
            ...(ctx.registeredRedirectUris ? { aadsts: 50011 } : {}),
          },
    );
  }
  return out;
}

function tokenUrlProblem(url: string, cmp: EndpointComparison, expected: string, domains: DomainMap): TargetProblem {
  const base = { severity: "critical" as const, status: "fail" as const };
  switch (cmp.problem) {
    case "tenant-alias": {
      const code = cmp.actual?.tenant === "organizations" ? 50059 : 9001023;
      return {
        ...base,
        kind: "tokenUrl-alias",
        detail: `token URL ${url} uses '${cmp.actual?.tenant}' (AADSTS${code} for client credentials)`,
        hint: ALIAS_TOKEN_HINT,
        aadsts: code,
      };
    }
    case "host":
      return {
        ...base,
        kind: "tokenUrl-host",
        detail: `token URL ${url} is on ${cmp.actual?.origin}, not the configured sign-in host`,
        hint: `Set the target's Token URL to ${expected} (the same host as authorityHost — a custom domain or national cloud host must match).`,
      };
    case "tenant-other": {
      // A domain Entra does not know at all is AADSTS90002; another real tenant is AADSTS700016.
      const unknown = domains.get(cmp.actual?.tenant ?? "") === null;
      const code = unknown ? 90002 : 700016;
      return {
        ...base,
        kind: "tokenUrl-tenant",
        detail: `token URL ${url} names ${unknown ? "a tenant Entra does not know" : "another tenant"}, '${cmp.actual?.tenant}' (AADSTS${code})`,
        hint: `Set the target's Token URL to ${expected}.`,
        aadsts: code,
      };
    }
    case "tenant-unresolved":
      return {
        ...base,
        severity: "error",
        kind: "tokenUrl-domain",
        detail: `token URL ${url} names domain '${cmp.actual?.tenant}', which could not be resolved to this tenant`,
        hint: `Use the tenant ID form ${expected}, or check the domain is verified in the app's tenant.`,
      };
    default:
      return {
        ...base,
        kind: "tokenUrl-endpoint",
        detail: `token URL ${url} is not the v2.0 token endpoint`,
        hint: `Set the target's Token URL to ${expected}.`,
      };
  }
}

function authorizationUrlProblems(url: string, ctx: DriftContext, origin: string, expected: string): TargetProblem[] {
  const { set, domains } = ctx;
  const p = parseEntraUrl(url);
  if (set.multiTenant && p?.tenant && p.tenant !== "common") {
    // A tenant-specific URL still works for a multi-tenant app, but only for the home tenant's users.
    const cmp = compareEndpoint(url, { origin, kind: "authorize", tenant: set.tenantId }, domains);
    if (cmp.ok) {
      return [
        {
          kind: "authorizationUrl-tenant-for-multitenant",
          severity: "warning",
          status: "warn",
          detail: `authorizationUrl ${url} names the home tenant although the set is multi-tenant`,
          hint: `Use ${expected} so users of other tenants can sign in.`,
        },
      ];
    }
  }
  const cmp = compareEndpoint(url, { origin, kind: "authorize", tenant: set.multiTenant ? "common" : set.tenantId }, domains);
  if (cmp.ok) return [];
  const detail =
    cmp.problem === "host"
      ? `authorizationUrl ${url} is on ${cmp.actual?.origin}, not the configured sign-in host`
      : cmp.problem === "tenant-alias"
        ? `authorizationUrl ${url} uses '${cmp.actual?.tenant}' for a single-tenant app (AADSTS50194)`
        : cmp.problem?.startsWith("tenant")
          ? `authorizationUrl ${url} names tenant '${cmp.actual?.tenant}', not this app's tenant`
          : `authorizationUrl ${url} is not the v2.0 authorize endpoint`;
  return [
    {
      kind: `authorizationUrl-${cmp.problem ?? "other"}`,
      severity: "error",
      status: "fail",
      detail,
      hint: `Set authorizationUrl=${expected} in the target's Additional Parameters.`,
      ...(cmp.problem === "tenant-alias" ? { aadsts: 50194 } : {}),
    },
  ];
}

export const gatewayDriftCheck: CheckDefinition = {
  id: "gateway-drift",
  title: "Every target group's targets match the app registration and hold the current secret",
  async run(ctx, f) {
    const { set } = ctx;
    const gateway = ctx.deps.gateway;
    const evidence: Evidence = { gatewayKind: gateway.kind };
    // The OAuth settings are those of the first group's listing (the read the other checks share); a group without them (names only, ARM resources) has none to compare.
    const targets = oauthTargets(need(await ctx.shared.targets(), "The gateway targets"));

    const [secretRead, appRead, rotationRead] = await Promise.all([ctx.shared.secret(), ctx.shared.app(), ctx.shared.rotation()]);
    const secret = maybe(secretRead, evidence, "keyVaultSecret");
    const app = maybe(appRead, evidence, "appRegistration");
    const rotation = rotationRead?.ok ? rotationRead.value : undefined;

    // Every group, through its capabilities and the proof rule: only meaningful when Key Vault's current value is known.
    const pickups = secret?.value ? await groupPickups(ctx, secret, rotation?.activeRun) : [];
    const adapters = ctx.deps.groups?.length ? ctx.deps.groups : [gateway];
    if (adapters.every((a) => a.capabilities.pickupProof === "operator") && !pickups.some((g) => g.unconfirmed?.length)) {
      // Groups whose pickup only an operator can prove have nothing to read back and compare.
      return {
        status: "skip",
        severity: "info",
        summary: `a ${gateway.kind} gateway's targets cannot be read; nothing to compare`,
        hint: "Nothing to do.",
        evidence: { gatewayKind: gateway.kind, ...(pickups.length ? { kinds: pickups.map(pickupLine) } : {}) },
      };
    }
    const total = secret?.value ? pickups.reduce((n, g) => n + g.targets, 0) : targets.length;
    evidence.targets = total;
    if (total === 0 && !pickups.some((g) => g.listError)) {
      f.warn(
        "warning",
        `no MCP server on the gateway uses client ID ${set.clientId}`,
        "If MCP servers should use this app, check the gateway configuration (base URL, tenant) and their Client ID; otherwise this set rotates a secret nobody uses.",
      );
      return f.outcome("", evidence);
    }

    const domains = await resolveDomains(ctx, targets);
    if (domains.size) evidence.resolvedDomains = [...domains].map(([d, t]) => `${d} → ${t === null ? "unknown to Entra" : (t ?? "unresolved")}`);
    const drift: DriftContext = { set, domains, ...(app ? { registeredRedirectUris: app.web.redirectUris } : {}) };

    const grouped = new Map<string, { problem: TargetProblem; names: string[] }>();
    const add = (p: TargetProblem, name: string): void => {
      const key = `${p.kind}|${p.detail}`;
      const g = grouped.get(key);
      if (g) g.names.push(name);
      else grouped.set(key, { problem: p, names: [name] });
    };
    for (const t of targets) for (const p of targetProblems(t, drift)) add(p, t.name);

    if (secret?.value)
      reportPickups(f, evidence, pickups, {
        value: secret.value,
        ...(rotation ? { rotation } : {}),
        now: ctx.now.getTime(),
        promotedAt: secret.createdOn?.getTime(),
      });

    for (const { problem, names } of grouped.values()) {
      const message = `${names.length} target(s) (${nameList(names)}): ${problem.detail}`;
      if (problem.status === "fail") f.fail(problem.severity, message, problem.hint, problem.aadsts);
      else f.warn(problem.severity, message, problem.hint, problem.aadsts);
    }
    evidence.targetNames = targets.slice(0, 50).map((t) => t.name);
    return f.outcome(`${total} target(s) match the app registration${secret?.value ? " and hold the current secret" : ""}`, evidence);
  },
};

/**
 * The findings of every group's pickup: a target that does not prove the current secret is drift
 * naming its group, kind and name — merely news while a run propagates it, or while a Key Vault
 * consumer's documented pickup delay after the current version runs; `time` groups report their
 * window, `operator` groups the servers not confirmed yet.
 */
function reportPickups(
  f: Findings,
  evidence: Evidence,
  pickups: readonly GroupPickup[],
  at: { value: string; rotation?: RotationView; now: number; promotedAt: number | undefined },
): void {
  evidence.kinds = pickups.map(pickupLine);
  evidence.holdingCurrentSecret = pickups.reduce((n, g) => n + g.proven, 0);
  const run = at.rotation?.activeRun;
  const propagating =
    run && run.steps.some((s) => s.name === "promote" && s.status === "done") && !run.steps.some((s) => s.name === "verify-targets" && s.status === "done");
  const stale: string[] = [];
  for (const g of pickups) {
    if (g.listError) {
      f.fail("error", `${g.label}: its targets could not be listed: ${g.listError.code}: ${g.listError.message}`, g.listError.hint);
      continue;
    }
    if (g.windowEndsAt && Date.parse(g.windowEndsAt) > at.now)
      f.warn("info", `${g.label}: ${g.targets} target(s) pick up the current secret by ${g.windowEndsAt} (time proof: nothing to read)`, "Nothing to do.");
    if (g.unconfirmed?.length)
      f.warn(
        "warning",
        `${g.label}: ${g.unconfirmed.length} server(s) (${nameList(g.unconfirmed)}) not confirmed on the current secret yet`,
        "Paste the current Key Vault secret into each and confirm it (`confirm --target <name>`).",
      );
    if (g.unproven.length === 0) continue;
    const names = g.unproven.map((u) => u.name);
    stale.push(...names);
    const said = g.unproven.find((u) => u.detail)?.detail;
    const list = `${g.label}: ${names.length} target(s) (${nameList(names)})`;
    const delay = g.maxPickupDelayMs !== undefined && at.promotedAt !== undefined ? at.promotedAt + g.maxPickupDelayMs : undefined;
    if (propagating) {
      f.warn(
        "info",
        `${list} do not hold the current secret yet; run ${run.runId} is propagating it`,
        "Nothing to do unless the rotation check reports the run stuck.",
      );
    } else if (delay !== undefined && at.now < delay) {
      f.warn(
        "info",
        `${list} have not reported the current secret yet; they pick it up by ${new Date(delay).toISOString()}`,
        "Nothing to do unless they still do not after then.",
      );
    } else {
      f.fail(
        "critical",
        `${list} do not hold the secret Key Vault holds now (hint ${at.value.slice(0, 3)}…; proof: ${g.proof}${said ? `; the consumer reports: ${said}` : ""}): they break when their secret is retired or has been already`,
        "The next rotation pass (the daily timer, or POST /api/rotations) updates them to the current secret and reads them back; if a target keeps failing, its error is in that run's reconcile step. Paste the current Key Vault secret into it by hand to fix it now.",
      );
    }
  }
  if (stale.length) evidence.repairedByNextPass = stale.slice(0, 50);
}

/** Resolves domain-name tenant segments (`contoso.com`) through their discovery documents. */
async function resolveDomains(ctx: CheckContext, targets: GatewayTarget[]): Promise<Map<string, string | null | undefined>> {
  const origin = originOf(ctx.set.authorityHost) ?? "";
  const urls = targets.flatMap((t) => [t.tokenUrl, paramOf(t.additionalParameters, "authorizationUrl")?.value]);
  const tenantParams = targets.map((t) => paramOf(t.additionalParameters, "tenantID")?.value?.trim().toLowerCase()).filter((v): v is string => !!v);
  const fromParams = tenantParams.filter((v) => v.includes(".") && !v.includes("/"));
  const domains = [...new Set([...domainTenantsIn(urls, origin), ...fromParams])].slice(0, ctx.tuning.maxDistinctRequests);
  const out = new Map<string, string | null | undefined>();
  await Promise.all(
    domains.map(async (d) => {
      const doc = await settle(fetchDiscovery({ http: ctx.deps.http, authorityHost: ctx.set.authorityHost, tenant: d }, { abortSignal: ctx.abortSignal }));
      if (doc.ok) out.set(d, parseEntraUrl(doc.value.token_endpoint)?.tenant);
      else out.set(d, doc.error.code === "ENTRA_TENANT_NOT_FOUND" ? null : undefined);
    }),
  );
  return out;
}
