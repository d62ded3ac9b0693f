import type { Clock } from "../common/clock.js";
import { OpsgenieReceiver } from "./opsgenie.js";
import { PagerDutyReceiver } from "./pagerduty.js";
import { SlackReceiver } from "./slack.js";
import { TeamsReceiver } from "./teams.js";
import { WebhookReceiver } from "./webhook.js";

export interface AllReceivers {
  teams: TeamsReceiver;
  slack: SlackReceiver;
  pagerduty: PagerDutyReceiver;
  opsgenie: OpsgenieReceiver;
  webhook: WebhookReceiver;
  /** How many notifications each receiver accepted. */
  acceptedCounts(): Record<"teams" | "slack" | "pagerduty" | "opsgenie" | "webhook", number>;
  /** Forgets what every receiver accepted and rejected. */
  reset(): void;
  close(): Promise<void>;
}

export interface StartAllReceiversOptions {
  verbose?: boolean;
  /** The webhook receiver's clock for timestamp tolerance (tests share their OffsetClock). */
  clock?: Clock;
  /** Fixed ports for `npm run emulators`; 0 (default) picks free ones. */
  ports?: Partial<Record<"teams" | "slack" | "pagerduty" | "opsgenie" | "webhook", number>>;
}

/** Every alert receiver on 127.0.0.1, started together (tests, demo, `npm run emulators`). */
export async function startAllReceivers(options: StartAllReceiversOptions = {}): Promise<AllReceivers> {
  const v = { verbose: options.verbose ?? false };
  const r = {
    teams: new TeamsReceiver(v),
    slack: new SlackReceiver(v),
    pagerduty: new PagerDutyReceiver(v),
    opsgenie: new OpsgenieReceiver(v),
    webhook: new WebhookReceiver({ ...v, ...(options.clock ? { clock: options.clock } : {}) }),
  };
  const started: { close(): Promise<void> }[] = [];
  try {
    for (const [name, rec] of Object.entries(r) as [keyof typeof r, (typeof r)[keyof typeof r]][]) {
      await rec.start(options.ports?.[name] ?? 0);
      started.push(rec);
    }
  } catch (e) {
    await Promise.all(started.map((s) => s.close()));
    throw e;
  }
  return {
    ...r,
    acceptedCounts: () => ({
      teams: r.teams.accepted().length,
      slack: r.slack.accepted().length,
      pagerduty: r.pagerduty.accepted().length,
      opsgenie: r.opsgenie.accepted().length,
      webhook: r.webhook.accepted().length,
    }),
    reset: () => Object.values(r).forEach((x) => x.reset()),
    close: async () => void (await Promise.all(Object.values(r).map((x) => x.close()))),
  };
}
