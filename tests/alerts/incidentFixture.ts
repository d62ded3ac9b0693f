import { dedupKeyFor, type Incident } from "../../src/alerts/model.js";

/** What an incident is about; `openIncident` fills in the rest. */
export type IncidentSubject = Pick<Incident, "set" | "check" | "severity" | "title" | "hint" | "evidence">;

/** A fresh opening: open since 2026-01-01T00:00Z, notified then, delivered nowhere yet; `over` changes any field. */
export function openIncident(subject: IncidentSubject, over: Partial<Incident> = {}): Incident {
  return {
    dedupKey: dedupKeyFor(subject.set, subject.check),
    ...subject,
    state: "open",
    openedAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    lastNotifiedAt: "2026-01-01T00:00:00.000Z",
    healthyStreak: 0,
    links: {},
    deliveredTo: [],
    pendingChannels: [],
    ...over,
  };
}
