import type { HttpResponse } from "../../http/client.js";
import type { AlertEvent } from "../model.js";
import { ChannelBasis, channelUrlProblem, type ResultBuilder, guardJson, hostOf, postAlert } from "./common.js";
import type { AlertChannel, ChannelDeps, ChannelKind, DeliveryResult, SendOptions } from "./types.js";
import type { AlertChannelConfig } from "../../config/schema.js";

type UrlChannelConfig = Extract<AlertChannelConfig, { urlSecretName: string }>;

/** What differs between channels whose whole credential is a webhook URL (Teams Workflows, Slack). */
export interface UrlWebhookSpec {
  kind: Extract<ChannelKind, "teams" | "slack">;
  /** Service name in failure messages, e.g. "Teams Workflows". */
  service: string;
  /** How to get a valid URL, for the hint when the secret holds something else. */
  urlHint: string;
  build(event: AlertEvent): unknown;
  /** Turns the service's answer into a delivery result. */
  interpret(res: HttpResponse, results: ResultBuilder): DeliveryResult;
}

/**
 * The shared flow of a URL-credential channel: read the URL from Key Vault on every send (so a
 * rotated webhook is picked up), refuse anything that is not a URL, post the payload with every
 * part of the URL guarded out of it, and let the channel interpret the answer.
 */
export function createUrlWebhookChannel(deps: ChannelDeps<UrlChannelConfig>, spec: UrlWebhookSpec): AlertChannel {
  const basis = new ChannelBasis(deps, spec.kind);
  const { name, results, guard } = basis;
  const secret = basis.secret(deps.config.urlSecretName);

  async function send(event: AlertEvent, options: SendOptions = {}): Promise<DeliveryResult> {
    const read = await basis.readCredentials([secret], options);
    if (!Array.isArray(read)) return read;
    const [url] = read as [string];
    const urlProblem = channelUrlProblem(url, deps.config.urlSecretName);
    if (urlProblem !== undefined) {
      return results.failed({
        code: "ALERT_CHANNEL_URL_INVALID",
        reason: urlProblem,
        hint: spec.urlHint,
        attempts: 0,
        retryable: false,
      });
    }
    try {
      const body = guardJson(JSON.stringify(spec.build(event)), guard());
      const res = await postAlert({
        transport: deps,
        url,
        body,
        abortSignal: options.abortSignal,
        secrets: guard(),
      });
      return spec.interpret(res, results);
    } catch (e) {
      return results.fromError(e, `${spec.service} (${hostOf(url)})`);
    }
  }

  async function prepare(options: SendOptions = {}): Promise<void> {
    await secret.get(options.abortSignal).catch(() => undefined);
  }

  return { name, kind: spec.kind, minSeverity: deps.config.minSeverity, send, prepare };
}
