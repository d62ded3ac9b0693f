import { GraphError, type GraphRequest } from "@microsoft/microsoft-graph-client";
import { RotatorError } from "../errors.js";
import type { Redactor } from "../redact.js";
import type { CallOptions } from "./types.js";
import { createGraphClient, type GraphConnectionOptions } from "./graphClient.js";

/**
 * What Entra itself recorded about the app's sign-ins, over the Microsoft Graph JS SDK sent through
 * our HTTP layer like graph.ts (graphClient.ts: HttpClient's retries honouring Retry-After, timeouts,
 * redaction and CA trust; `@odata.nextLink` paging):
 * - beta `reports/appCredentialSignInActivities`: when each credential (keyId) last signed in;
 * - beta `auditLogs/signIns`: the app's sign-ins of every kind (`signInEventTypes` and
 *   `servicePrincipalCredentialKeyId` exist only on beta).
 * Both need `AuditLog.Read.All` and an Entra ID P1/P2 licence, which are optional for this service:
 * their absence is a typed `SIGNIN_EVIDENCE_UNAVAILABLE` error callers turn into a warning.
 */
type SignInEventType = "interactiveUser" | "nonInteractiveUser" | "servicePrincipal";

interface CredentialSignIn {
  keyId: string;
  lastSignInDateTime: string;
}

export interface SignInRecord {
  id: string;
  createdDateTime: string;
  eventTypes: SignInEventType[];
  /** Object ID of the user (user sign-ins); never a name, so alerts can count users without naming them. */
  userId?: string;
  errorCode: number;
  failureReason?: string;
  /** The credential presented by an app-only sign-in. */
  keyId?: string;
}

interface ListSignInsOptions extends CallOptions {
  appId: string;
  since: Date;
  failuresOnly?: boolean;
  eventTypes?: readonly SignInEventType[];
  /** Rows per page (Graph's maximum and default is 1,000). */
  pageSize?: number;
  /** Stop after this many pages: a flood of failures must not stall the probe. */
  maxPages?: number;
}

export interface SignInActivityApi {
  /** The credential's last sign-in, or undefined when the report has no row for it (unknown, not unused). */
  credentialLastSignIn(appId: string, keyId: string, call?: CallOptions): Promise<CredentialSignIn | undefined>;
  listSignIns(options: ListSignInsOptions): Promise<{ records: SignInRecord[]; truncated: boolean }>;
}

export interface SignInActivityApiOptions extends GraphConnectionOptions {
  redactor?: Redactor;
}

const LICENCE_CODE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";
const ALL_TYPES: readonly SignInEventType[] = ["interactiveUser", "nonInteractiveUser", "servicePrincipal"];

type Json = Record<string, unknown>;

export function createSignInActivityApi(options: SignInActivityApiOptions): SignInActivityApi {
  // Every Graph token is for the set's own cloud (graph.microsoft.us …), as the application client's.
  const client = createGraphClient({ ...options, defaultVersion: "beta" });
  const request = (path: string, call: CallOptions): GraphRequest => {
    const r = client.api(path).version("beta");
    return call.abortSignal ? r.option("signal", call.abortSignal) : r;
  };

  const pages = async (
    what: string,
    first: GraphRequest,
    call: CallOptions,
    maxPages = Number.POSITIVE_INFINITY,
  ): Promise<{ rows: Json[]; truncated: boolean }> => {
    try {
      const rows: Json[] = [];
      let page = (await first.get()) as { value?: Json[]; "@odata.nextLink"?: string };
      for (let n = 1; ; n++) {
        rows.push(...(page.value ?? []));
        const next = page["@odata.nextLink"];
        if (!next) return { rows, truncated: false };
        if (n >= maxPages) return { rows, truncated: true };
        page = (await request(next, call).get()) as typeof page;
      }
    } catch (e) {
      throw mapSignInActivityError(e, what, options.redactor);
    }
  };

  return {
    async credentialLastSignIn(appId, keyId, call = {}) {
      const filter = `appId eq '${odata(appId)}' and keyId eq '${odata(keyId)}'`;
      const { rows } = await pages(`the sign-in activity of key ${keyId}`, request("/reports/appCredentialSignInActivities", call).filter(filter), call);
      let latest: CredentialSignIn | undefined;
      for (const r of rows) {
        const at = (r.signInActivity as Json | undefined)?.lastSignInDateTime;
        if (String(r.keyId).toLowerCase() !== keyId.toLowerCase() || typeof at !== "string" || Number.isNaN(Date.parse(at))) continue;
        if (!latest || Date.parse(at) > Date.parse(latest.lastSignInDateTime)) latest = { keyId, lastSignInDateTime: new Date(Date.parse(at)).toISOString() };
      }
      return latest;
    },

    async listSignIns(o) {
      const types = o.eventTypes ?? ALL_TYPES;
      const clauses = [
        `appId eq '${odata(o.appId)}'`,
        `createdDateTime ge ${o.since.toISOString()}`,
        ...(o.failuresOnly ? ["status/errorCode ne 0"] : []),
        `signInEventTypes/any(t: ${types.map((t) => `t eq '${t}'`).join(" or ")})`,
      ];
      const { rows, truncated } = await pages(
        "the app's sign-in log",
        request("/auditLogs/signIns", o)
          .filter(clauses.join(" and "))
          .top(o.pageSize ?? 1000),
        o,
        o.maxPages ?? 10,
      );
      return { records: rows.map(toRecord), truncated };
    },
  };
}

function toRecord(r: Json): SignInRecord {
  const status = (r.status ?? {}) as Json;
  const types = Array.isArray(r.signInEventTypes) ? r.signInEventTypes.filter((t): t is SignInEventType => ALL_TYPES.includes(t as SignInEventType)) : [];
  const keyId = typeof r.servicePrincipalCredentialKeyId === "string" && r.servicePrincipalCredentialKeyId ? r.servicePrincipalCredentialKeyId : undefined;
  return {
    id: String(r.id),
    createdDateTime: String(r.createdDateTime),
    eventTypes: types.length ? types : [r.isInteractive === false ? "nonInteractiveUser" : "interactiveUser"],
    ...(typeof r.userId === "string" && r.userId ? { userId: r.userId } : {}),
    errorCode: typeof status.errorCode === "number" ? status.errorCode : Number(status.errorCode ?? 0),
    ...(typeof status.failureReason === "string" && status.failureReason ? { failureReason: status.failureReason } : {}),
    ...(keyId ? { keyId } : {}),
  };
}

function odata(value: string): string {
  return value.replace(/'/g, "''");
}

/** A missing permission or licence is "evidence unavailable" (a warning for callers); anything else is an upstream failure. */
function mapSignInActivityError(err: unknown, what: string, redactor?: Redactor): RotatorError {
  if (err instanceof RotatorError) return err;
  const scrub = (s: string): string => (redactor ? redactor.redact(s) : s);
  if (err instanceof GraphError && err.statusCode > 0) {
    const base = scrub(`Graph read of ${what} answered ${err.statusCode}${err.code ? ` ${err.code}` : ""}: ${err.message ?? ""}`);
    const upstream = err.code ? { upstreamCode: err.code } : {};
    if (err.statusCode === 403 && err.code === LICENCE_CODE) {
      return new RotatorError("SIGNIN_EVIDENCE_UNAVAILABLE", base, {
        hint: "Sign-in reports need a Microsoft Entra ID P1 or P2 licence in the tenant. Without it the service falls back to the grace period and the synthetic probes.",
        status: 403,
        ...upstream,
      });
    }
    if (err.statusCode === 403) {
      return new RotatorError("SIGNIN_EVIDENCE_UNAVAILABLE", base, {
        hint: "Grant the rotator's identity the Microsoft Graph application permission AuditLog.Read.All (admin consent) to read sign-in evidence; without it the service falls back to the grace period and the synthetic probes.",
        status: 403,
        ...upstream,
      });
    }
    return new RotatorError("GRAPH_REQUEST_FAILED", base, {
      hint: "Microsoft Graph did not answer the sign-in report request; the next pass tries again.",
      status: err.statusCode,
      ...upstream,
      retryable: err.statusCode === 429 || err.statusCode >= 500,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  // No HTTP answer: graphClient.ts carries our HTTP layer's code as the GraphError's code.
  const transport = err instanceof GraphError ? err.code : undefined;
  if (transport === "ABORTED") {
    return new RotatorError("ABORTED", `Graph read of ${what} was cancelled.`, {
      hint: "The operation was cancelled (function timeout or shutdown); the next run resumes it.",
    });
  }
  if (transport === "HTTP_TIMEOUT") {
    return new RotatorError("GRAPH_TIMEOUT", scrub(`Graph read of ${what} got no answer in time: ${message}`), {
      hint: "Microsoft Graph did not answer in time; the next pass tries again.",
      retryable: true,
    });
  }
  return new RotatorError("GRAPH_NETWORK", scrub(`Graph read of ${what} got no answer: ${message}`), {
    hint: "The connection to Microsoft Graph failed; check DNS, outbound firewall and TLS trust.",
    retryable: true,
  });
}
