import type { AlertEvent, AlertEventType, Incident } from "../../model.js";

/** The generic webhook's JSON body: a versioned envelope around the (secret-free) incident. */
export interface WebhookBody {
  version: 1;
  /** Unique per delivery; retries of one delivery reuse it, so receivers can drop duplicates. */
  id: string;
  type: AlertEventType;
  sentAt: string;
  source: string;
  incident: WebhookIncident;
}

type WebhookIncident = Omit<Incident, "deliveredTo" | "pendingChannels" | "unconfirmedTo">;

export function buildWebhookBody(event: AlertEvent, id: string, source: string, now: Date): WebhookBody {
  const { deliveredTo: _d, pendingChannels: _p, unconfirmedTo: _u, ...incident } = event.incident;
  // Which other channels were reached is internal bookkeeping, not part of the contract.
  return { version: 1, id, type: event.type, sentAt: now.toISOString(), source, incident };
}
