import type { AlertChannelConfig } from "../config/schema.js";
import type { AlertNotifier, NotifyOptions, NotifyOutcome } from "./dispatcher.js";
import { SERVICE_SET, type AlertEvent } from "./model.js";

/**
 * Alert channels are configured per credential set (and their secrets live in that set's vault),
 * so each set has its own dispatcher. This notifier routes an incident to its set's dispatcher,
 * and incidents about the service itself (set "_service": heartbeat, worker failures) to a
 * dispatcher over every set's channels, each destination once.
 */
export class SetRoutingNotifier implements AlertNotifier {
  constructor(
    private readonly bySet: ReadonlyMap<string, AlertNotifier>,
    private readonly service?: AlertNotifier,
  ) {}

  async notify(event: AlertEvent, options: NotifyOptions = {}): Promise<NotifyOutcome> {
    const set = event.incident.set;
    const target = set === SERVICE_SET ? this.service : this.bySet.get(set);
    if (!target) return { delivered: [], failed: [], skipped: [], results: [] };
    return target.notify(event, options);
  }
}

export interface SetChannelConfig {
  set: string;
  /** The set's Key Vault, where its channel secrets live. */
  vaultUrl: string;
  config: AlertChannelConfig;
}

/**
 * The service-level channel list: every set's channels, one per destination (same kind, vault and
 * secret names, and endpoint), named `<set>/<channel>` so names stay unique across sets.
 */
export function serviceChannelConfigs(entries: readonly SetChannelConfig[]): SetChannelConfig[] {
  const seen = new Set<string>();
  const out: SetChannelConfig[] = [];
  for (const e of entries) {
    const key = destinationKey(e);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...e, config: { ...e.config, name: `${e.set}/${e.config.name ?? e.config.kind}` } });
  }
  return out;
}

/**
 * Where a channel delivers: its kind, its vault, and every field naming a Key Vault secret or a URL
 * (the schema's naming rule for destination fields), so a new channel kind needs no branch here.
 */
function destinationKey(e: SetChannelConfig): string {
  const vault = e.vaultUrl.replace(/\/+$/, "").toLowerCase();
  const fields = Object.entries(e.config)
    .filter(([k]) => k.endsWith("SecretName") || k.endsWith("Url"))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${String(v)}`);
  return [e.config.kind, vault, ...fields].join("|");
}
