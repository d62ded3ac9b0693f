import type { AlertChannelConfig } from "../../../config/schema.js";
import type { AlertEvent } from "../../model.js";
import { ChannelSecret, ResultBuilder, bodyText, guardJson, hostOf, postAlert } from "../common.js";
import type { AlertChannel, ChannelDeps, DeliveryResult, SendOptions } from "../types.js";
import { buildTeamsMessage } from "./payload.js";

export type TeamsChannelConfig = Extract<AlertChannelConfig, { kind: "teams" }>;

/**
 * Microsoft Teams through a Workflows webhook (the replacement for Office 365 connectors). The URL,
 * including its `sig` signature, is the credential and lives in Key Vault. Workflows answer 202
 * once the request is queued; a card the flow cannot post fails later, inside the flow run.
 */
export function createTeamsChannel(deps: ChannelDeps<TeamsChannelConfig>): AlertChannel {
  const name = deps.config.name ?? "teams";
  const known = deps.knownSecrets ?? new Set<string>();
  const secret = new ChannelSecret(deps.secrets, deps.config.urlSecretName, name, deps.redactor, known);
  let parts: string[] = [];
  const guard = (): string[] => [...new Set([...parts, ...known])];
  const results = new ResultBuilder(name, "teams", deps.clock, guard, deps.redactor);

  async function send(event: AlertEvent, options: SendOptions = {}): Promise<DeliveryResult> {
    let url: string;
    try {
      url = await secret.get(options.abortSignal);
    } catch (e) {
      return results.fromError(e, "Key Vault");
    }
    parts = ChannelSecret.secretParts(url);
    if (!/^https?:\/\//.test(url)) {
      return results.failed({
        code: "ALERT_CHANNEL_URL_INVALID",
        reason: `Key Vault secret ${deps.config.urlSecretName} does not hold an http(s) URL`,
        hint: "Store the full Workflows webhook URL (Teams channel → Workflows → 'Send webhook alerts to a channel') as the secret value.",
        attempts: 0,
        retryable: false,
      });
    }
    try {
      const body = guardJson(JSON.stringify(buildTeamsMessage(event)), guard());
      const res = await postAlert({
        http: deps.http,
        url,
        body,
        abortSignal: options.abortSignal,
        timeoutInMs: deps.timeoutInMs,
        maxRetries: deps.maxRetries,
        secrets: guard(),
      });
      if (res.status === 200 || res.status === 202) return results.ok(res.status, res.attempts);
      const err = (res.data as { error?: { code?: string; message?: string } } | undefined)?.error;
      const upstream = err?.code ? `${err.code}${err.message ? ` — ${err.message}` : ""}` : bodyText(res.data).slice(0, 200);
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        return results.failed({
          code: res.status === 404 ? "ALERT_TEAMS_WORKFLOW_NOT_FOUND" : "ALERT_TEAMS_UNAUTHORIZED",
          reason: `Teams Workflows answered ${res.status}: ${upstream}`,
          hint:
            res.status === 404
              ? "The workflow was deleted or turned off; re-create it in the Teams channel and store its new URL in Key Vault."
              : "The webhook URL's signature (sig) was refused; copy the workflow's full URL again into the Key Vault secret.",
          status: res.status,
          attempts: res.attempts,
          retryable: false,
        });
      }
      return results.httpFailure("Teams Workflows", res, upstream);
    } catch (e) {
      return results.fromError(e, `Teams Workflows (${hostOf(url)})`);
    }
  }

  async function prepare(options: SendOptions = {}): Promise<void> {
    await secret.get(options.abortSignal).catch(() => undefined);
  }

  return { name, kind: "teams", minSeverity: deps.config.minSeverity, send, prepare };
}
