import type { AlertChannelConfig } from "../../../config/schema.js";
import type { AlertEvent } from "../../model.js";
import { ChannelBasis, DEFAULT_SOURCE, bodyText, guardJson, hostOf, postAlert } from "../common.js";
import type { AlertChannel, ChannelDeps, DeliveryResult, SendOptions } from "../types.js";
import { buildPagerDutyAlert, buildPagerDutyChange, changeEventsUrl } from "./payload.js";

export type PagerDutyChannelConfig = Extract<AlertChannelConfig, { kind: "pagerduty" }>;

interface PdAnswer {
  status?: string;
  message?: string;
  dedup_key?: string;
  errors?: string[];
}

/** PagerDuty Events API v2: 202 `{status:"success", dedup_key}`; 400 `{status:"invalid event", errors}`. */
export function createPagerDutyChannel(deps: ChannelDeps<PagerDutyChannelConfig>): AlertChannel {
  const basis = new ChannelBasis(deps, "pagerduty");
  const { name, results, guard } = basis;
  const source = deps.source ?? DEFAULT_SOURCE;
  const secret = basis.secret(deps.config.routingKeySecretName);

  async function send(event: AlertEvent, options: SendOptions = {}): Promise<DeliveryResult> {
    const read = await basis.readCredentials([secret], { ...options, trim: true });
    if (!Array.isArray(read)) return read;
    const [routingKey] = read as [string];
    const now = deps.clock.now();
    const change = event.type === "event";
    const url = change ? changeEventsUrl(deps.config.eventsUrl) : deps.config.eventsUrl;
    const { routing_key: _rk, ...rest } = change ? buildPagerDutyChange(event, routingKey, source, now) : buildPagerDutyAlert(event, routingKey, source, now);
    // The routing key belongs in exactly one place: its own field.
    const body = `{"routing_key":${JSON.stringify(routingKey)},${guardJson(JSON.stringify(rest), guard()).slice(1)}`;
    try {
      const res = await postAlert<PdAnswer>({
        transport: deps,
        url,
        body,
        abortSignal: options.abortSignal,
        secrets: guard(),
      });
      const answer = typeof res.data === "object" && res.data ? res.data : {};
      if (res.status === 202 && (answer.status === "success" || answer.status === undefined)) return results.ok(res.status, res.attempts);
      if (res.status === 400) {
        const errors = (answer.errors ?? []).join("; ");
        const badKey = /routing.?key/i.test(errors);
        return results.failed({
          code: badKey ? "ALERT_PAGERDUTY_ROUTING_KEY" : "ALERT_PAGERDUTY_INVALID_EVENT",
          reason: `PagerDuty answered 400: ${answer.message ?? answer.status ?? "invalid event"}${errors ? ` (${errors})` : ""}`,
          hint: badKey
            ? `The routing key in Key Vault secret "${deps.config.routingKeySecretName}" is wrong; copy the Integration Key of the service's Events API v2 integration.`
            : "PagerDuty refused the event; this is a bug in mcp-sso-rotator's PagerDuty payload — report it with the reason.",
          status: 400,
          attempts: res.attempts,
          retryable: false,
        });
      }
      return results.httpFailure("PagerDuty", res, answer.message ?? bodyText(res.data).slice(0, 200));
    } catch (e) {
      return results.fromError(e, `PagerDuty (${hostOf(url)})`);
    }
  }

  async function prepare(options: SendOptions = {}): Promise<void> {
    await secret.get(options.abortSignal).catch(() => undefined);
  }

  return { name, kind: "pagerduty", minSeverity: deps.config.minSeverity, send, prepare };
}
