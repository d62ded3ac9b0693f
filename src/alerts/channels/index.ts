import type { AlertChannelConfig } from "../../config/schema.js";
import { createOpsgenieChannel } from "./opsgenie/channel.js";
import { createPagerDutyChannel } from "./pagerduty/channel.js";
import { createSlackChannel } from "./slack/channel.js";
import { createTeamsChannel } from "./teams/channel.js";
import type { AlertChannel, ChannelDeps } from "./types.js";
import { createWebhookChannel } from "./webhook/channel.js";

export type { AlertChannel, ChannelKind } from "./types.js";
export type SharedChannelDeps = Omit<ChannelDeps<AlertChannelConfig>, "config">;

/** One channel from its configuration. */
export function createChannel(config: AlertChannelConfig, deps: SharedChannelDeps): AlertChannel {
  switch (config.kind) {
    case "teams":
      return createTeamsChannel({ ...deps, config });
    case "slack":
      return createSlackChannel({ ...deps, config });
    case "pagerduty":
      return createPagerDutyChannel({ ...deps, config });
    case "opsgenie":
      return createOpsgenieChannel({ ...deps, config });
    case "webhook":
      return createWebhookChannel({ ...deps, config });
  }
}

/**
 * Every configured channel, with unique names (an unnamed second Slack channel becomes "slack-2"),
 * because the delivery log and an incident's `deliveredTo` key on the name.
 */
export function createChannels(configs: readonly AlertChannelConfig[], deps: SharedChannelDeps): AlertChannel[] {
  const seen = new Map<string, number>();
  const shared: SharedChannelDeps = { ...deps, knownSecrets: deps.knownSecrets ?? new Set<string>() };
  return configs.map((c) => {
    const base = c.name ?? c.kind;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return createChannel({ ...c, name: n === 1 ? base : `${base}-${n}` }, shared);
  });
}
