import { randomUUID } from "node:crypto";
import type { AlertChannelConfig } from "../../../config/schema.js";
import type { AlertEvent } from "../../model.js";
import { ChannelBasis, channelUrlProblem, DEFAULT_SOURCE, bodyText, guardJson, hostOf, postAlert } from "../common.js";
import type { AlertChannel, ChannelDeps, DeliveryResult, SendOptions } from "../types.js";
import { buildWebhookBody } from "./payload.js";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from "./signature.js";

export type WebhookChannelConfig = Extract<AlertChannelConfig, { kind: "webhook" }>;

/**
 * A generic HMAC-signed JSON webhook for anything else (ITSM, an internal bot). Both the URL and
 * the signing key are Key Vault secrets. Any 2xx is success.
 */
export function createWebhookChannel(deps: ChannelDeps<WebhookChannelConfig>): AlertChannel {
  const basis = new ChannelBasis(deps, "webhook");
  const { name, results, guard } = basis;
  const source = deps.source ?? DEFAULT_SOURCE;
  const urlSecret = basis.secret(deps.config.urlSecretName);
  const keySecret = basis.secret(deps.config.signingKeySecretName);

  async function send(event: AlertEvent, options: SendOptions = {}): Promise<DeliveryResult> {
    const read = await basis.readCredentials([urlSecret, keySecret], options);
    if (!Array.isArray(read)) return read;
    const [url, key] = read as [string, string];
    const urlProblem = channelUrlProblem(url, deps.config.urlSecretName);
    if (urlProblem !== undefined) {
      return results.failed({
        code: "ALERT_CHANNEL_URL_INVALID",
        reason: urlProblem,
        hint: "Store the receiver's full URL as the secret value.",
        attempts: 0,
        retryable: false,
      });
    }
    const now = deps.clock.now();
    const id = randomUUID();
    const body = guardJson(JSON.stringify(buildWebhookBody(event, id, source, now)), guard());
    const timestamp = String(Math.floor(now.getTime() / 1000));
    try {
      const res = await postAlert({
        transport: deps,
        url,
        body,
        headers: {
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhook(key, timestamp, body),
          [DELIVERY_HEADER]: id,
          [EVENT_HEADER]: event.type,
        },
        abortSignal: options.abortSignal,
        secrets: guard(),
      });
      if (res.status >= 200 && res.status < 300) return results.ok(res.status, res.attempts);
      if (res.status === 401 || res.status === 403) {
        return results.failed({
          code: "ALERT_WEBHOOK_SIGNATURE_REFUSED",
          reason: `Webhook receiver answered ${res.status}: ${bodyText(res.data).slice(0, 200)}`,
          hint: `The receiver refused the signature: make sure it uses the key in Key Vault secret "${deps.config.signingKeySecretName}" and that both clocks are within its tolerance.`,
          status: res.status,
          attempts: res.attempts,
          retryable: false,
        });
      }
      return results.httpFailure("Webhook receiver", res, bodyText(res.data).slice(0, 200));
    } catch (e) {
      return results.fromError(e, `Webhook (${hostOf(url)})`);
    }
  }

  async function prepare(options: SendOptions = {}): Promise<void> {
    await urlSecret.get(options.abortSignal).catch(() => undefined);
    await keySecret.get(options.abortSignal).catch(() => undefined);
  }

  return { name, kind: "webhook", minSeverity: deps.config.minSeverity, send, prepare };
}
