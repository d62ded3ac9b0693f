import type { AlertChannelConfig } from "../../../config/schema.js";
import type { HttpResponse } from "../../../http/client.js";
import type { AlertEvent } from "../../model.js";
import { ChannelBasis, DEFAULT_SOURCE, type ResultBuilder, bodyText, guardJson, hostOf, postAlert } from "../common.js";
import type { AlertChannel, ChannelDeps, DeliveryResult, SendOptions } from "../types.js";
import { buildOpsgenieAlert, buildOpsgenieNote, priorityFor } from "./payload.js";

export type OpsgenieChannelConfig = Extract<AlertChannelConfig, { kind: "opsgenie" }>;

interface OgAnswer {
  result?: string;
  message?: string;
  requestId?: string;
  errors?: Record<string, string>;
}

/**
 * Opsgenie Alert API with an API-integration key (`Authorization: GenieKey …`). Every call is
 * asynchronous on Opsgenie's side: 202 `{result, requestId}` means queued.
 * opened/repeat → create (dedup by alias); updated → create + priority + note; resolved → close by
 * alias. Informational events are skipped: Opsgenie has no non-paging alert.
 */
export function createOpsgenieChannel(deps: ChannelDeps<OpsgenieChannelConfig>): AlertChannel {
  const basis = new ChannelBasis(deps, "opsgenie");
  const { name, results, guard } = basis;
  const source = deps.source ?? DEFAULT_SOURCE;
  const base = deps.config.apiUrl.replace(/\/+$/, "");
  const secret = basis.secret(deps.config.apiKeySecretName);

  async function call(method: "POST" | "PUT", path: string, body: unknown, key: string, signal?: AbortSignal): Promise<HttpResponse<OgAnswer>> {
    return postAlert<OgAnswer>({
      transport: deps,
      method,
      url: `${base}${path}`,
      body: guardJson(JSON.stringify(body), guard()),
      headers: { Authorization: `GenieKey ${key}` },
      abortSignal: signal,
      secrets: guard(),
    });
  }

  const failure = (res: HttpResponse<OgAnswer>): DeliveryResult => opsgenieFailure(res, results, deps.config.apiKeySecretName);

  async function send(event: AlertEvent, options: SendOptions = {}): Promise<DeliveryResult> {
    if (event.type === "event")
      return results.skipped("Opsgenie has no informational alerts; rotation events go to chat channels and PagerDuty change events.");
    const read = await basis.readCredentials([secret], { ...options, trim: true });
    if (!Array.isArray(read)) return read;
    const [key] = read as [string];
    const alias = encodeURIComponent(event.incident.dedupKey);
    const signal = options.abortSignal;
    try {
      let attempts = 0;
      let last: HttpResponse<OgAnswer>;
      if (event.type === "resolved") {
        last = await call("POST", `/v2/alerts/${alias}/close?identifierType=alias`, buildOpsgenieNote(event, source), key, signal);
        if (last.status !== 202) return failure(last);
        return results.ok(last.status, last.attempts);
      }
      last = await call("POST", "/v2/alerts", buildOpsgenieAlert(event, source), key, signal);
      attempts += last.attempts;
      if (last.status !== 202) return failure(last);
      if (event.type === "updated") {
        // A deduplicated create does not change an open alert's priority or text.
        last = await call("PUT", `/v2/alerts/${alias}/priority?identifierType=alias`, { priority: priorityFor(event.incident.severity) }, key, signal);
        attempts += last.attempts;
        if (last.status !== 202) return failure(last);
        last = await call("POST", `/v2/alerts/${alias}/notes?identifierType=alias`, buildOpsgenieNote(event, source), key, signal);
        attempts += last.attempts;
        if (last.status !== 202 && last.status !== 201) return failure(last);
      }
      return results.ok(202, attempts);
    } catch (e) {
      return results.fromError(e, `Opsgenie (${hostOf(base)})`);
    }
  }

  async function prepare(options: SendOptions = {}): Promise<void> {
    await secret.get(options.abortSignal).catch(() => undefined);
  }

  return { name, kind: "opsgenie", minSeverity: deps.config.minSeverity, send, prepare };
}

/** A refused call: a bad key and a refused body are named for the operator; anything else is an HTTP failure. */
function opsgenieFailure(res: HttpResponse<OgAnswer>, results: ResultBuilder, apiKeySecretName: string): DeliveryResult {
  const answer = typeof res.data === "object" && res.data ? res.data : {};
  const fieldErrors = answer.errors
    ? Object.entries(answer.errors)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ")
    : "";
  const upstream = `${answer.message ?? bodyText(res.data).slice(0, 200)}${fieldErrors ? ` (${fieldErrors})` : ""}`;
  if (res.status === 401 || res.status === 403 || res.status === 402) {
    return results.failed({
      code: res.status === 401 ? "ALERT_OPSGENIE_UNAUTHENTICATED" : "ALERT_OPSGENIE_FORBIDDEN",
      reason: `Opsgenie answered ${res.status}: ${upstream}`,
      hint:
        res.status === 401
          ? `The API key in Key Vault secret "${apiKeySecretName}" is invalid or its integration is disabled; use the key of an API integration (not an account API key).`
          : "The key is valid but may not create or close alerts (wrong integration type, plan or permissions); use an API integration's key.",
      status: res.status,
      attempts: res.attempts,
      retryable: false,
    });
  }
  if (res.status === 422 || res.status === 400) {
    return results.failed({
      code: "ALERT_OPSGENIE_INVALID_REQUEST",
      reason: `Opsgenie answered ${res.status}: ${upstream}`,
      hint: "Opsgenie refused the request body; this is a bug in mcp-sso-rotator's Opsgenie payload — report it with the reason.",
      status: res.status,
      attempts: res.attempts,
      retryable: false,
    });
  }
  return results.httpFailure("Opsgenie", res, upstream);
}
