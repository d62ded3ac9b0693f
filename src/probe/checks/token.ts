import { explainAadsts } from "../../entra/aadsts.js";
import type { TokenResult } from "../../entra/types.js";
import { ensureRotatorError, RotatorError } from "../../errors.js";
import { maybe, nameList, need, oauthTargets, publishedEndpoint, type CheckContext, type CheckDefinition } from "../context.js";
import { originOf } from "../endpoints.js";
import { tokenUrlFor } from "../../entra/token.js";
import { graphScope } from "../../entra/scope.js";
import { aadstsFailure, wrongDirectory } from "../findings.js";
import type { CheckSeverity, Evidence } from "../model.js";
import { ALIAS_TOKEN_HINT } from "./discovery.js";

/**
 * A plain client-credentials request with the secret Key Vault holds now, at the token endpoint the
 * tenant's discovery document publishes and at every distinct token URL the gateway's targets use on the same sign-in host, so
 * the exact AADSTS code Entra answers is seen. A secret promoted minutes ago may not have
 * replicated yet: AADSTS7000215 inside that window is a warning, not a failure.
 */
export interface TokenVerdict {
  status: "pass" | "warn" | "fail" | "indeterminate";
  severity: CheckSeverity;
  message: string;
  hint: string;
  aadsts?: number;
}

export const EMERGENCY_HINT =
  'Run an emergency rotation (POST /api/rotations {"set": "<set>", "mode": "emergency"}): it issues a new secret, proves it at Entra and pushes it to every target.';

export function classifyTokenResult(
  result: TokenResult,
  context: {
    secretAgeMs?: number;
    replicationWindowMs: number;
    /** The credential Key Vault's `keyId` tag names, when the app's list of credentials was read and it is not on it. */
    missingFromApp?: string;
    clientId?: string;
  },
): TokenVerdict {
  if (result.ok) return { status: "pass", severity: "info", message: `token issued (HTTP ${result.status})`, hint: "" };
  const code = result.aadsts;
  const said = code !== undefined ? `AADSTS${code}` : `${result.error} (HTTP ${result.status})`;
  const directory = wrongDirectory(code, {
    urlName: "token URL",
    clientId: context.clientId,
    tenantFix:
      "Check the tenant segment of the token URL: the Directory (tenant) ID GUID or a verified domain of the app's tenant, on the right cloud's sign-in host.",
  });
  if (directory) return directory;
  switch (code) {
    case 7000215: {
      const age = context.secretAgeMs;
      // A credential that no longer exists on the app is never a replication wait, however young
      // its Key Vault version is (issue 25: "wait" beside "run an emergency rotation").
      if (context.missingFromApp) {
        return {
          status: "fail",
          severity: "critical",
          message: `Entra refuses the Key Vault secret (AADSTS7000215): its credential ${context.missingFromApp} no longer exists on the app`,
          hint: `Someone removed the credential from the app registration; it will not come back by waiting. ${EMERGENCY_HINT}`,
          aadsts: code,
        };
      }
      if (age !== undefined && age >= 0 && age < context.replicationWindowMs) {
        return {
          status: "warn",
          severity: "warning",
          message: `Entra refuses the secret (AADSTS7000215) but its Key Vault version is only ${Math.round(age / 60_000)} min old — it may still be replicating`,
          hint: `Wait: a new secret is accepted within seconds to ~10 minutes. If this persists beyond ${Math.round(context.replicationWindowMs / 60_000)} minutes the stored value is wrong.`,
          aadsts: code,
        };
      }
      return {
        status: "fail",
        severity: "critical",
        message: "Entra refuses the Key Vault secret as invalid (AADSTS7000215)",
        hint:
          "Key Vault does not hold a current secret of the app: it was deleted from the app registration, or the secret ID was stored instead of its value. " +
          EMERGENCY_HINT,
        aadsts: code,
      };
    }
    case 7000222:
      return aadstsFailure(code, "the Key Vault secret has expired (AADSTS7000222)", `Every token request with it fails now. ${EMERGENCY_HINT}`);
    case 7000218:
      return aadstsFailure(
        code,
        "Entra received no client secret (AADSTS7000218)",
        "The Key Vault secret is empty: store the app's client secret value, or run an emergency rotation.",
      );
    case 9001023:
    case 50059:
      return {
        status: "fail",
        severity: "critical",
        message: `Entra refuses client credentials on this endpoint (AADSTS${code})`,
        hint: ALIAS_TOKEN_HINT,
        aadsts: code,
      };
    default:
      break;
  }
  if (result.status === 429 || result.status >= 500 || (code === undefined && result.status === 0)) {
    return {
      status: "indeterminate",
      severity: "error",
      message: `the token endpoint did not decide (${said})`,
      hint: "Entra is throttling or degraded; the next probe retries.",
      ...(code !== undefined ? { aadsts: code } : {}),
    };
  }
  const known = explainAadsts(code);
  return {
    status: "fail",
    severity: "error",
    message: `Entra refused the token request: ${known ? `${known.summary} (${said})` : said}`,
    hint: known?.hint ?? "See Entra's error description in the evidence; fix the setting it names.",
    ...(code !== undefined ? { aadsts: code } : {}),
  };
}

interface UrlToTry {
  url: string;
  /** Targets whose Token URL this is; empty for the set's own tenant endpoint only. */
  targets: string[];
  canonical: boolean;
}

export const tokenCheck: CheckDefinition = {
  id: "token",
  title: "Client-credentials token request with the Key Vault secret",
  async run(ctx, f) {
    const { set, deps, tuning, now, abortSignal: signal } = ctx;
    const evidence: Evidence = { secretName: set.keyVault.secretName, clientId: set.clientId };
    const secret = need(await ctx.shared.secret(), `Key Vault secret ${set.keyVault.secretName}`);
    if (!secret?.value) {
      f.fail(
        "critical",
        `Key Vault holds no enabled value for ${set.keyVault.secretName}`,
        `Store the app's client secret value in ${set.keyVault.url} as ${set.keyVault.secretName}, or run a forced rotation to create one.`,
      );
      return f.outcome("", evidence);
    }
    const value = secret.value;
    evidence.secretVersion = secret.version;
    evidence.secretHint = value.slice(0, 3);
    if (secret.tags["keyId"]) evidence.keyId = secret.tags["keyId"];
    const secretAgeMs = secret.createdOn ? now.getTime() - secret.createdOn.getTime() : undefined;
    if (secret.createdOn) evidence.secretCreatedOn = secret.createdOn.toISOString();
    const missingFromApp = await credentialMissingFromApp(ctx, secret.tags["keyId"]);
    if (missingFromApp) evidence.credentialOnApp = false;

    const endpoint = await publishedEndpoint(ctx, set.tenantId, "token_endpoint", tokenUrlFor(set.authorityHost, set.tenantId));
    evidence.tokenEndpoint = endpoint.url;
    evidence.tokenEndpointSource = endpoint.source;
    const urls = urlsToTry(ctx, oauthTargets(maybe(await ctx.shared.targets(), evidence, "gatewayTargets")), evidence, endpoint.url);
    const scope = graphScope(set.graphBaseUrl);
    const outcomes = await Promise.all(
      urls.map(async (u) => {
        try {
          const result = await deps.token.requestToken({ tokenUrl: u.url, clientId: set.clientId, clientSecret: value, scope }, { abortSignal: signal });
          return { u, result };
        } catch (e) {
          return { u, error: ensureRotatorError(e) };
        }
      }),
    );

    const lines: string[] = [];
    const refusals: ({ u: UrlToTry } & ProviderAnswer)[] = [];
    for (const o of outcomes) {
      const where = o.u.canonical
        ? `at the tenant token endpoint ${o.u.url}${o.u.targets.length ? ` (also the Token URL of ${o.u.targets.length} target(s))` : ""}`
        : `at ${o.u.url}, the Token URL of ${o.u.targets.length} target(s) (${nameList(o.u.targets)})`;
      if (o.error) {
        lines.push(`${o.u.url} → ${o.error.code}`);
        if (o.u.canonical) throw o.error;
        f.warn("warning", `the token request ${where} could not be made (${o.error.code})`, o.error.hint);
        continue;
      }
      const result = o.result;
      if (!result.ok) refusals.push({ u: o.u, ...providerAnswer(ctx, result, value) });
      lines.push(
        `${o.u.url} → HTTP ${result.status}${result.ok ? " token issued" : ` ${result.aadsts !== undefined ? `AADSTS${result.aadsts}` : result.error}`}`,
      );
      const verdict = classifyTokenResult(result, {
        secretAgeMs,
        replicationWindowMs: tuning.replicationWindowMs,
        clientId: set.clientId,
        ...(missingFromApp ? { missingFromApp } : {}),
      });
      if (verdict.status === "pass") continue;
      if (verdict.status === "indeterminate") {
        if (o.u.canonical) {
          throw new RotatorError("ENTRA_UNAVAILABLE", `${verdict.message} ${where}`, {
            hint: verdict.hint,
            status: result.status,
            ...(verdict.aadsts !== undefined ? { aadsts: verdict.aadsts } : {}),
            retryable: true,
          });
        }
        f.warn("warning", `${verdict.message} ${where}`, verdict.hint, verdict.aadsts);
        continue;
      }
      const add = verdict.status === "warn" ? f.warn.bind(f) : f.fail.bind(f);
      add(verdict.severity, `${verdict.message} ${where}`, verdict.hint, verdict.aadsts);
    }
    evidence.requests = lines;
    keepProviderAnswers(evidence, refusals);
    return f.outcome(`Entra issues a token for the Key Vault secret (hint ${value.slice(0, 3)}…) at ${outcomes.length} token URL(s)`, evidence);
  },
};

/**
 * The `keyId` Key Vault's current version names, when the app registration was read and has no such
 * credential; undefined when it does, when the version has no tag, or when the app could not be read
 * (then the replication window still applies: an outage is not evidence of a removal).
 */
async function credentialMissingFromApp(ctx: CheckContext, keyId: string | undefined): Promise<string | undefined> {
  if (!keyId) return undefined;
  const app = await ctx.shared.app();
  if (!app.ok) return undefined;
  return app.value.passwordCredentials.some((c) => c.keyId.toLowerCase() === keyId.toLowerCase()) ? undefined : keyId;
}

/** The provider's own words for a refusal: its `error` and `error_description`, redacted. */
interface ProviderAnswer {
  error: string;
  description: string;
}

/** How much of a provider's error description the evidence keeps (after redaction). */
const MAX_PROVIDER_DESCRIPTION = 300;

/**
 * An operator fixing a refusal needs the provider's own words (Entra's AADSTS text, another
 * provider's `invalid_client: client authentication failed`), but they are upstream text that may
 * echo what was sent: each is redacted by the product's redactor with the secret just sent added,
 * and cut only after that, so no fragment of the secret or of a token survives.
 */
function providerAnswer(ctx: CheckContext, result: Extract<TokenResult, { ok: false }>, secret: string): ProviderAnswer {
  const clean = (text: string, max: number): string => {
    const redacted = ctx.deps.http.redactText(text, [secret]);
    return redacted.length > max ? `${redacted.slice(0, max)}…` : redacted;
  };
  return { error: clean(result.error, 100), description: clean(result.description, MAX_PROVIDER_DESCRIPTION) };
}

/** The tenant endpoint's refusal as `providerError` / `providerErrorDescription`; every refusal, by URL, in `providerErrors`. */
function keepProviderAnswers(evidence: Evidence, refusals: readonly ({ u: UrlToTry } & ProviderAnswer)[]): void {
  const canonical = refusals.find((r) => r.u.canonical);
  if (canonical) {
    evidence.providerError = canonical.error;
    if (canonical.description) evidence.providerErrorDescription = canonical.description;
  }
  if (refusals.length > 0) evidence.providerErrors = refusals.map((r) => `${r.u.url} → ${r.error}${r.description ? `: ${r.description}` : ""}`);
}

/**
 * The tenant endpoint first, then each distinct Token URL the targets use. The secret is only ever
 * sent to the configured sign-in host: a target pointing elsewhere is reported by gateway-drift,
 * never sent the secret.
 */
function urlsToTry(ctx: CheckContext, targets: ReturnType<typeof oauthTargets>, evidence: Evidence, canonical: string): UrlToTry[] {
  const { set, tuning } = ctx;
  const origin = originOf(set.authorityHost);
  const key = (u: string): string => u.trim().replace(/\/+$/, "").toLowerCase();
  const list: UrlToTry[] = [{ url: canonical, targets: [], canonical: true }];
  const byKey = new Map<string, UrlToTry>([[key(canonical), list[0]!]]);
  const foreign: string[] = [];
  let dropped = 0;
  for (const t of targets) {
    const existing = byKey.get(key(t.tokenUrl));
    if (existing) {
      existing.targets.push(t.name);
      continue;
    }
    if (originOf(t.tokenUrl) !== origin) {
      foreign.push(t.name);
      continue;
    }
    if (list.length > tuning.maxDistinctRequests) {
      dropped++;
      continue;
    }
    const entry: UrlToTry = { url: t.tokenUrl, targets: [t.name], canonical: false };
    byKey.set(key(t.tokenUrl), entry);
    list.push(entry);
  }
  if (foreign.length) evidence.notSentToForeignHost = foreign;
  if (dropped) evidence.distinctUrlsNotTried = dropped;
  return list;
}
