/** The alerts module's public surface. */
export * from "./model.js";
export { IncidentStore, type StoredIncident, type IncidentStoreOptions, type PutIncidentOptions } from "./incidentStore.js";
export { IncidentManager, type CheckReport, type ReportOutcome, type RotationEventInput, type IncidentManagerOptions } from "./incidents.js";
export { AlertDispatcher, type AlertNotifier, type NotifyOptions, type NotifyOutcome, type ChannelDeliveryStatus, type AlertDispatcherOptions } from "./dispatcher.js";
export { pingHeartbeat, checkRotationTimerLiveness, type HeartbeatResult, type PingHeartbeatOptions, type RotationTimerLivenessInput } from "./heartbeat.js";
export { sanitizeEvidence, sanitizeText, isSecretKey } from "./sanitize.js";
export * from "./channels/index.js";
export { toRotationEventInput, type RotationEventContext } from "./rotationEvents.js";
export { SetRoutingNotifier, serviceChannelConfigs, type SetChannelConfig } from "./routing.js";
